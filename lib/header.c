/* header: Authorization and other request-header values. */
#include "header.h"

#include <string.h>
#include <strings.h>

#define HEADER_BEARER "Bearer"
#define HEADER_BEARER_LEN (sizeof HEADER_BEARER - 1)

/* RFC 7235 token68 characters before the trailing '=' padding. */
static const struct {
	unsigned char lo, hi;
} header_token68[] = {
	{ '+', '+' }, { '-', '9' }, /* - . / 0-9 */
	{ 'A', 'Z' }, { '_', '_' }, { 'a', 'z' }, { '~', '~' },
};

static bool header_token68_char(unsigned char c)
{
	for (size_t i = 0; i < sizeof header_token68 / sizeof header_token68[0]; i++)
		if (c >= header_token68[i].lo && c <= header_token68[i].hi)
			return true;
	return false;
}

int header_bearer(const char *value, const char **token, size_t *len)
{
	size_t vlen, i, body;

	if (value == NULL || value[0] == '\0')
		return 0;
	vlen = strnlen(value, HEADER_VALUE_MAX + 1);
	if (vlen > HEADER_VALUE_MAX || vlen <= HEADER_BEARER_LEN + 1 ||
	    strncasecmp(value, HEADER_BEARER, HEADER_BEARER_LEN) != 0 ||
	    value[HEADER_BEARER_LEN] != ' ')
		return -1;
	i = HEADER_BEARER_LEN + 1;
	while (i < vlen && header_token68_char((unsigned char)value[i]))
		i++;
	body = i - (HEADER_BEARER_LEN + 1);
	while (i < vlen && value[i] == '=')
		i++;
	if (body == 0 || i != vlen)
		return -1;
	*token = value + HEADER_BEARER_LEN + 1;
	*len = vlen - (HEADER_BEARER_LEN + 1);
	return 1;
}

bool header_value_safe(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}
