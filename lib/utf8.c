/* utf8: strict validation of UTF-8 byte strings (RFC 3629, Unicode table 3-7). */
#include "utf8.h"

/* The well-formed multi-byte sequences: a range of lead bytes, the sequence length, and the
 * range its second byte must be in (the narrowed ranges exclude overlongs, surrogates and
 * code points above U+10FFFF); later bytes are always 0x80..0xBF. */
static const struct {
	unsigned char lead_lo, lead_hi, len, second_lo, second_hi;
} utf8_forms[] = {
	{ 0xC2, 0xDF, 2, 0x80, 0xBF }, /* U+0080..U+07FF (0xC0, 0xC1: overlong) */
	{ 0xE0, 0xE0, 3, 0xA0, 0xBF }, /* U+0800..U+0FFF */
	{ 0xE1, 0xEC, 3, 0x80, 0xBF }, /* U+1000..U+CFFF */
	{ 0xED, 0xED, 3, 0x80, 0x9F }, /* U+D000..U+D7FF (no surrogates) */
	{ 0xEE, 0xEF, 3, 0x80, 0xBF }, /* U+E000..U+FFFF */
	{ 0xF0, 0xF0, 4, 0x90, 0xBF }, /* U+10000..U+3FFFF */
	{ 0xF1, 0xF3, 4, 0x80, 0xBF }, /* U+40000..U+FFFFF */
	{ 0xF4, 0xF4, 4, 0x80, 0x8F }, /* U+100000..U+10FFFF */
};

bool utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		size_t f, n = 0;

		if (p[i] < 0x80) {
			i++;
			continue;
		}
		for (f = 0; f < sizeof utf8_forms / sizeof utf8_forms[0]; f++)
			if (p[i] >= utf8_forms[f].lead_lo && p[i] <= utf8_forms[f].lead_hi)
				break;
		if (f == sizeof utf8_forms / sizeof utf8_forms[0])
			return false; /* continuation byte, 0xC0, 0xC1 or 0xF5..0xFF as lead */
		n = utf8_forms[f].len;
		if (len - i < n || p[i + 1] < utf8_forms[f].second_lo ||
		    p[i + 1] > utf8_forms[f].second_hi)
			return false;
		for (size_t k = 2; k < n; k++)
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
		i += n;
	}
	return true;
}
