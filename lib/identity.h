/* identity: who a verified credential speaks for, as both programs pass it around. */
#ifndef POSTERN_IDENTITY_H
#define POSTERN_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

enum auth_kind {
	AUTH_NONE,
	AUTH_SESSION,     /* session cookie or opaque Bearer session token */
	AUTH_JWT,         /* access JWT naming a live session */
	AUTH_API_KEY,     /* X-Api-Key */
	AUTH_SHARED_LINK, /* X-Postern-Share-Key header or key= query parameter */
	AUTH_TOKEN,       /* single-use token= query parameter */
};

#define IDENTITY_UUID_LEN 36
#define IDENTITY_EMAIL_MAX 254
#define IDENTITY_PERMS_MAX 2048
#define IDENTITY_PATH_MAX 1024
#define IDENTITY_ROLE_SIZE 64 /* with the NUL; role names are at most 63 (postern.roles) */

struct identity {
	enum auth_kind kind;
	char user_id[IDENTITY_UUID_LEN + 1];
	char email[IDENTITY_EMAIL_MAX + 1];
	char display_name[256];
	char role[IDENTITY_ROLE_SIZE];
	char session_id[IDENTITY_UUID_LEN + 1]; /* "" when the credential has no session */
	char key_id[IDENTITY_UUID_LEN + 1];
	char link_id[IDENTITY_UUID_LEN + 1];
	char permissions[IDENTITY_PERMS_MAX]; /* space separated, e.g. "album.read album.write" */
	char path_prefix[IDENTITY_PATH_MAX + 1]; /* shared links only */
	bool user_mfa;                           /* the user has TOTP enabled */
	bool session_mfa;                        /* the session passed an MFA step */
	bool must_change_password;
	bool has_password;        /* shared link behind a password */
	char link_version[65];    /* ... and the version of that password */
	long long expires_at;     /* unix seconds, 0 = never */
	long long elevated_until; /* unix seconds, 0 = not elevated */
};

#define IDENTITY_UUID_BYTES 16

/* A canonical UUID of exactly n characters (8-4-4-4-12 lowercase hex digits, as PostgreSQL
 * writes it) into 16 bytes; out may be NULL to only check. 0, or -1 for anything else. */
int identity_uuid_parse(const char *s, size_t n, unsigned char *out);
/* 16 bytes back into the canonical text (IDENTITY_UUID_LEN + 1 bytes with the NUL). */
void identity_uuid_format(const unsigned char *in, char *out);

/* The names written to POSTERN_AUTH. */
const char *identity_kind_name(enum auth_kind kind);

/* Whether the space-separated permission list grants perm ("all" grants everything). */
bool identity_has_permission(const struct identity *id, const char *perm);

/* The identity as a JSON object for SQL policy functions: user_id, email, role, auth,
 * session_id, key_id, link_id (null when empty), permissions (array), mfa. Returns a string the
 * caller frees with free(), or NULL on allocation failure. */
char *identity_to_json(const struct identity *id);

#endif
