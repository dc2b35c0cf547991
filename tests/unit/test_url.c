/* test_url: which URLs may be fetched: url_ok's grammar, and that libcurl's parser
 * (http_url_ok, checked again before each fetch) agrees wherever url_ok accepts. */
#include "http.h"
#include "suites.h"
#include "url.h"

#include <string.h>

static const struct {
	const char *url;
	bool ok;
} url_cases[] = {
	/* libcurl's parser agrees on each of these (http_url_ok is checked against them too) */
	{ "https://idp.example/", true },
	{ "https://idp.example", true },
	{ "https://idp.example:8443/realms/postern/protocol/openid-connect/certs", true },
	{ "https://idp.example/authorize?client_id=postern&x=%2F", true },
	{ "HTTPS://idp.example/", true },
	{ "https://[2001:db8::1]/", true },
	{ "http://127.0.0.1/", true },
	{ "http://127.0.0.1:9000/token", true },
	{ "http://127.255.0.9/", true },
	{ "http://localhost/", true },
	{ "http://localhost:8080/.well-known/openid-configuration", true },
	{ "http://[::1]:9000/", true },
	{ "http://[0:0:0:0:0:0:0:1]/", true },
	{ "http://idp.example/", false },
	{ "http://10.0.0.1/", false },
	{ "http://128.0.0.1/", false },
	{ "http://127.0.0.1.evil.example/", false },
	{ "http://localhost.evil.example/", false },
	{ "http://evil.example/127.0.0.1", false },
	{ "http://127.0.0.1:80@evil.example/", false },
	{ "http://[::ffff:8.8.8.8]/", false },
	{ "http://[::2]/", false },
	{ "https://user@idp.example/", false },
	{ "https://user:pw@idp.example/", false },
	{ "https://idp.example/#fragment", false },
	{ "https://idp.example/auth#", false },
	{ "https://idp.example/?#", false },
	{ "https://@idp.example/", false },
	{ "https://:pw@idp.example/", false },
	{ "ftp://idp.example/", false },
	{ "file:///etc/passwd", false },
	{ "gopher://127.0.0.1/", false },
	{ "javascript:alert(1)", false },
	{ "//idp.example/", false },
	{ "/token", false },
	{ "idp.example", false },
	{ "https://", false },
	{ "https://idp.example:99999/", false },
	{ "", false },
	{ "https://idp.example/a b", false },
	{ " https://idp.example/", false },
	{ "https://idp.example/\n", false },
	{ "https://idp.example/\t", false },
	{ "https://idp.example/\x7f", false },
	{ "https://idp.example/caf\xc3\xa9", false },
	{ "https://idp.exa\xc3\x9f"
	  "mple/",
	  false },
};

/* Refused by url_ok, several of them though libcurl takes them (shorthand IPv4, an empty port,
 * '|', '{'): the grammar is stricter than curl's parser, never looser. */
static const char *const strict_cases[] = {
	"http://127.1/", /* curl reads shorthand and octal IPv4 as 127.0.0.1 */
	"http://0177.0.0.1/",
	"http://127.0.0.01/",
	"http://LOCALHOST/",
	"https://idp.example:/", /* an empty port */
	"https://idp.example:0/",
	"https://idp.example:08443/",
	"https://idp.example/a|b", /* outside RFC 3986 */
	"https://idp.example/a\\b",
	"https://idp.example/{x}",
	"https://idp.example/%zz", /* a broken percent escape */
	"https://idp.example/%4",
	"https://idp.ex%61mple/",    /* percent escapes in the host */
	"https://[fe80::1%25eth0]/", /* an IPv6 zone */
	"https://[::1/",
	"https://[::1]x/",
	"https://[]/",
	"https://[127.0.0.1]/",
};

START_TEST(test_url_cases)
{
	ck_assert_msg(url_ok(url_cases[_i].url) == url_cases[_i].ok, "url_ok(\"%s\")",
	              url_cases[_i].url);
	ck_assert_msg(http_url_ok(url_cases[_i].url) == url_cases[_i].ok, "http_url_ok(\"%s\")",
	              url_cases[_i].url);
}
END_TEST

START_TEST(test_url_stricter_than_curl)
{
	ck_assert_msg(!url_ok(strict_cases[_i]), "\"%s\"", strict_cases[_i]);
}
END_TEST

START_TEST(test_url_bounds)
{
	char url[URL_MAX + 2];

	ck_assert(!url_ok(NULL));
	ck_assert(!http_url_ok(NULL));
	strcpy(url, "https://idp.example/");
	memset(url + 20, 'a', URL_MAX - 20);
	url[URL_MAX] = '\0';
	ck_assert(url_ok(url));
	ck_assert(http_url_ok(url));
	strcpy(url + URL_MAX, "a");
	ck_assert(!url_ok(url));
	ck_assert(!http_url_ok(url));
}
END_TEST

Suite *suite_url(void)
{
	Suite *s = suite_create("url");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_url_cases, 0, sizeof url_cases / sizeof url_cases[0]);
	tcase_add_loop_test(tc, test_url_stricter_than_curl, 0,
	                    sizeof strict_cases / sizeof strict_cases[0]);
	tcase_add_test(tc, test_url_bounds);
	suite_add_tcase(s, tc);
	return s;
}
