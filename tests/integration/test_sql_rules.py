"""Validation of postern.rules."""
import pytest

INS = "INSERT INTO postern.rules (path_pattern, access, permission, methods, host) VALUES (%s, %s, %s, %s, %s)"


@pytest.mark.parametrize("pattern", ["/", "/**", "/*", "/api/v1/items", "/api/*/items", "/api/**",
                                     "/a/*/b/**", "/file.txt", "/a-b_c~d", "/trailing/"])
def test_good_patterns(db, pattern):
    db.query(INS, (pattern, "deny", None, None, None))


@pytest.mark.parametrize("pattern,message", [
    ("api", 'postern: rule path_pattern "api" must start with "/"'),
    ("", 'postern: rule path_pattern "" must start with "/"'),
    ("/a//b", 'postern: rule path_pattern "/a//b" must not contain "//"'),
    ("/a/../b", 'postern: rule path_pattern "/a/../b" must not contain "." or ".." segments'),
    ("/a/./b", 'postern: rule path_pattern "/a/./b" must not contain "." or ".." segments'),
    ("/a/..", 'postern: rule path_pattern "/a/.." must not contain "." or ".." segments'),
    ("/a%2f", 'postern: rule path_pattern "/a%2f" must not contain "%", "?", "#", backslash, spaces or control characters'),
    ("/a?x", 'postern: rule path_pattern "/a?x" must not contain "%", "?", "#", backslash, spaces or control characters'),
    ("/a b", 'postern: rule path_pattern "/a b" must not contain "%", "?", "#", backslash, spaces or control characters'),
    ("/a\\b", 'postern: rule path_pattern "/a\\b" must not contain "%", "?", "#", backslash, spaces or control characters'),
    ("/**/a", 'postern: rule path_pattern "/**/a": "**" is allowed only as the last segment'),
    ("/a*", 'postern: rule path_pattern "/a*": "*" and "**" must be whole segments'),
    ("/a/***", 'postern: rule path_pattern "/a/***": "*" and "**" must be whole segments'),
])
def test_bad_patterns(db, pattern, message):
    e = db.error(INS, (pattern, "deny", None, None, None))
    assert (e.pgcode, e.diag.message_primary) == ("22023", message)
    assert db.value("SELECT count(*) FROM postern.rules") == 12


def test_methods_normalised_and_checked(db):
    rid = db.value("INSERT INTO postern.rules (path_pattern, access, methods) VALUES ('/x', 'deny', ARRAY['get','POST','GET']) RETURNING id")
    assert db.value("SELECT methods FROM postern.rules WHERE id = %s", (rid,)) == ["GET", "POST"]
    for methods, msg in ((["GET", "BAD METHOD"], 'postern: rule method "BAD METHOD" is not an HTTP method'),
                         ([], "postern: rule methods must be NULL (any method) or a non-empty list")):
        e = db.error(INS, ("/x", "deny", None, methods, None))
        assert (e.pgcode, e.diag.message_primary) == ("22023", msg)


def test_access_and_permission(db):
    db.query(INS, ("/p", "permission", "album.read", None, None))
    for access, perm, msg in (
            ("permission", None, 'postern: a rule with access "permission" needs a permission'),
            ("deny", "album.read", 'postern: only a rule with access "permission" may name a permission'),
            ("permission", "Album", 'postern: malformed permission "Album"')):
        e = db.error(INS, ("/p", access, perm, None, None))
        assert (e.pgcode, e.diag.message_primary) == ("22023", msg)
    e = db.error(INS, ("/p", "maybe", None, None, None))
    assert e.pgcode == "23514"      # CHECK constraint


def test_host(db):
    rid = db.value("INSERT INTO postern.rules (path_pattern, access, host) VALUES ('/h', 'deny', 'App.Example.org:8443') RETURNING id")
    assert db.value("SELECT host FROM postern.rules WHERE id = %s", (rid,)) == "app.example.org:8443"
    e = db.error(INS, ("/h", "deny", None, None, "bad host/"))
    assert e.pgcode == "22023" and e.diag.message_primary == 'postern: rule host "bad host/" is not a host name'


def test_policy_function(db):
    e = db.error("INSERT INTO postern.rules (path_pattern, access, policy_function) VALUES ('/f', 'authenticated', 'public.nope')")
    assert e.pgcode == "22023"
    assert e.diag.message_primary == "postern: rule policy_function public.nope(jsonb, text, text, text) returning boolean does not exist"
    db.query("""CREATE FUNCTION public.only_owner(jsonb, text, text, text) RETURNS boolean
                LANGUAGE sql AS 'SELECT true'""")
    db.query("INSERT INTO postern.rules (path_pattern, access, policy_function) VALUES ('/f', 'authenticated', 'public.only_owner')")
    e = db.error("UPDATE postern.rules SET policy_function = 'only_owner' WHERE path_pattern = '/f'")
    assert e.diag.message_primary == 'postern: rule policy_function "only_owner" must be a schema-qualified lower-case name'
