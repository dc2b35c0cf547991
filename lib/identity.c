/* identity: who a verified credential speaks for, as both programs pass it around. */
#include "identity.h"

#include "crypto.h"
#include "words.h"

#include <jansson.h>
#include <string.h>

/* The bytes in each dash-separated group of a UUID. */
static const int identity_uuid_groups[] = { 4, 2, 2, 2, 6 };

int identity_uuid_parse(const char *s, size_t n, unsigned char *out)
{
	unsigned char scratch[IDENTITY_UUID_BYTES], *b = out != NULL ? out : scratch;

	if (n != IDENTITY_UUID_LEN)
		return -1;
	/* lower case only (crypto_unhex): a cached identity must give back the very text it had */
	for (int g = 0; g < 5; g++) {
		if (crypto_unhex(s, (size_t)identity_uuid_groups[g], b) != 0)
			return -1;
		s += 2 * identity_uuid_groups[g];
		b += identity_uuid_groups[g];
		if (g < 4 && *s++ != '-')
			return -1;
	}
	return 0;
}

void identity_uuid_format(const unsigned char *in, char *out)
{
	for (int g = 0; g < 5; g++) {
		crypto_hex(in, (size_t)identity_uuid_groups[g], out);
		in += identity_uuid_groups[g];
		out += 2 * identity_uuid_groups[g];
		if (g < 4)
			*out++ = '-';
	}
}

const char *identity_kind_name(enum auth_kind kind)
{
	static const char *const names[] = {
		[AUTH_NONE] = "none",
		[AUTH_SESSION] = "session",
		[AUTH_JWT] = "jwt",
		[AUTH_API_KEY] = "api_key",
		[AUTH_SHARED_LINK] = "shared_link",
		[AUTH_TOKEN] = "token",
	};
	return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "none";
}

bool identity_has_permission(const struct identity *id, const char *perm)
{
	return words_has(id->permissions, "all", 3, false) ||
	       words_has(id->permissions, perm, strlen(perm), false);
}

static json_t *identity_json_text(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

char *identity_to_json(const struct identity *id)
{
	json_t *perms = json_array();
	json_t *o;
	char *out;
	size_t l;

	if (perms == NULL)
		return NULL;
	for (const char *p = id->permissions, *w; words_next(&p, &w, &l);)
		json_array_append_new(perms, json_stringn(w, l));
	o = json_pack("{s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:b}", "user_id",
	              identity_json_text(id->user_id), "email", identity_json_text(id->email),
	              "role", identity_json_text(id->role), "auth", identity_kind_name(id->kind),
	              "session_id", identity_json_text(id->session_id), "key_id",
	              identity_json_text(id->key_id), "link_id", identity_json_text(id->link_id),
	              "permissions", perms, "mfa", id->session_mfa);
	if (o == NULL)
		return NULL;
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}
