/* test_http: the pure parts of lib/http: which URLs may be fetched, and percent-encoding. */
#include "http.h"
#include "suites.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *url;
	bool ok;
} url_cases[] = {
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

START_TEST(test_url_ok)
{
	ck_assert_msg(http_url_ok(url_cases[_i].url) == url_cases[_i].ok, "\"%s\"",
	              url_cases[_i].url);
}
END_TEST

START_TEST(test_url_bounds)
{
	char url[2100];

	ck_assert(!http_url_ok(NULL));
	strcpy(url, "https://idp.example/");
	memset(url + 20, 'a', 2048 - 20);
	url[2048] = '\0';
	ck_assert(http_url_ok(url));
	strcpy(url + 2048, "a");
	ck_assert(!http_url_ok(url));
}
END_TEST

static const struct {
	const char *in;
	const char *out;
} escape_cases[] = {
	{ "", "" },
	{ "postern", "postern" },
	{ "AZaz09-._~", "AZaz09-._~" },
	{ "a b", "a%20b" },
	{ "a+b", "a%2Bb" },
	{ "k=v&x=y", "k%3Dv%26x%3Dy" },
	{ "https://rp.example/cb?x=1#f", "https%3A%2F%2Frp.example%2Fcb%3Fx%3D1%23f" },
	{ "100%", "100%25" },
	{ "caf\xc3\xa9", "caf%C3%A9" },
	{ "\x01\x7f\xff", "%01%7F%FF" },
	{ "p@ss:w\"rd'", "p%40ss%3Aw%22rd%27" },
};

START_TEST(test_escape)
{
	char *got = http_escape(escape_cases[_i].in);

	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, escape_cases[_i].out);
	free(got);
}
END_TEST

Suite *suite_http(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_url_ok, 0, sizeof url_cases / sizeof url_cases[0]);
	tcase_add_test(tc, test_url_bounds);
	tcase_add_loop_test(tc, test_escape, 0, sizeof escape_cases / sizeof escape_cases[0]);
	suite_add_tcase(s, tc);
	return s;
}
