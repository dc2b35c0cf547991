#!/bin/sh
# Postern demo: shows, as HTML, the identity postern-authorizer handed to this CGI program
# (lighttpd turns the authorizer's Variable-* answer into environment variables).
set -u

esc() {
	printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' \
		-e 's/"/\&quot;/g' -e "s/'/\&#39;/g"
}

printf 'Content-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n\r\n'
cat <<'HTML'
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Postern demo: identity</title>
<style>body{font-family:sans-serif;max-width:48em;margin:3em auto}
td,th{text-align:left;padding:.2em 1em .2em 0;vertical-align:top}code{font-size:1.05em}</style>
</head>
<body>
<h1>Your identity, as this CGI program sees it</h1>
<table>
<tr><th>variable</th><th>value</th></tr>
HTML
for name in REMOTE_USER POSTERN_USER POSTERN_USER_ID POSTERN_ROLE POSTERN_AUTH \
	POSTERN_SESSION_ID POSTERN_KEY_ID POSTERN_LINK_ID POSTERN_PERMISSIONS POSTERN_MFA; do
	eval "set=\${$name+x} value=\${$name-}"
	if [ -n "$set" ]; then
		printf '<tr><td><code>%s</code></td><td id="%s"><code>%s</code></td></tr>\n' \
			"$name" "$name" "$(esc "$value")"
	else
		printf '<tr><td><code>%s</code></td><td id="%s"><em>not set</em></td></tr>\n' \
			"$name" "$name"
	fi
done
cat <<'HTML'
</table>
<p><a href="/">Back</a></p>
<form method="post" action="/auth/logout"><button type="submit">Sign out</button></form>
</body>
</html>
HTML
