/* url: which URLs Postern may fetch, checked by a strict grammar of its own (no libcurl). */
#include "url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

/* The classes are ASCII: neither program calls setlocale, so ctype's are the C locale's. */

/* RFC 3986 unreserved, sub-delims, ':', '@', '/', '?' ('%' is checked apart); never NUL */
static bool url_path_char(char c)
{
	return isalnum((unsigned char)c) || (c != '\0' && strchr("-._~!$&'()*+,;=:@/?", c) != NULL);
}

static bool url_host_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

/* 127.a.b.c in plain dotted decimal (no leading zeros, each part 0-255). */
static bool url_ipv4_loopback(const char *h, size_t n)
{
	int parts = 0, value = -1;
	size_t digits = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || h[i] == '.') {
			if (digits == 0 || value > 255 || (parts == 0 && value != 127))
				return false;
			parts++;
			digits = 0;
			value = -1;
		} else if (h[i] >= '0' && h[i] <= '9' && !(digits == 1 && value == 0) &&
		           digits < 3) {
			value = (value < 0 ? 0 : value * 10) + (h[i] - '0');
			digits++;
		} else {
			return false;
		}
	}
	return parts == 4;
}

/* The IPv6 literal between the brackets (no zone); *loopback: it is ::1. */
static bool url_ipv6(const char *h, size_t n, bool *loopback)
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr a;

	if (n == 0 || n >= sizeof text)
		return false;
	memcpy(text, h, n);
	text[n] = '\0';
	if (inet_pton(AF_INET6, text, &a) != 1)
		return false;
	*loopback = IN6_IS_ADDR_LOOPBACK(&a);
	return true;
}

/* ":port" with 1-65535, digits only. */
static bool url_port(const char *p, size_t n)
{
	long v = 0;

	if (n < 2 || n > 6 || p[0] != ':' || p[1] == '0')
		return false;
	for (size_t i = 1; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	return v <= 65535;
}

/* The authority (host and port); *loopback: the host is a loopback address. */
static bool url_authority(const char *a, size_t n, bool *loopback)
{
	size_t h;

	*loopback = false;
	if (n > 0 && a[0] == '[') {
		const char *close = memchr(a, ']', n);

		if (close == NULL || !url_ipv6(a + 1, (size_t)(close - a) - 1, loopback))
			return false;
		h = (size_t)(close - a) + 1;
	} else {
		for (h = 0; h < n && a[h] != ':'; h++)
			if (!url_host_char(a[h]))
				return false;
		if (h == 0)
			return false;
		*loopback = (h == 9 && memcmp(a, "localhost", 9) == 0) || url_ipv4_loopback(a, h);
	}
	return h == n || url_port(a + h, n - h);
}

bool url_ok(const char *url)
{
	size_t len, scheme, auth;
	bool https, loopback;
	const char *rest;

	if (url == NULL || (len = strnlen(url, URL_MAX + 1)) > URL_MAX)
		return false;
	https = strncasecmp(url, "https://", 8) == 0;
	if (!https && strncasecmp(url, "http://", 7) != 0)
		return false;
	scheme = https ? 8 : 7;
	auth = strcspn(url + scheme, "/?");
	if (!url_authority(url + scheme, auth, &loopback) || (!https && !loopback))
		return false;
	for (rest = url + scheme + auth; *rest; rest++) {
		if (*rest == '%') {
			if (!isxdigit((unsigned char)rest[1]) || !isxdigit((unsigned char)rest[2]))
				return false;
			rest += 2;
		} else if (!url_path_char(*rest)) {
			return false;
		}
	}
	return true;
}
