"""PIN step-up and session lock (rules with require_elevation), and shared links managed by
their owner through the responder, through lighttpd."""
import requests

import servers
from test_responder import PASSWORD, csrf, login, site, user  # noqa: F401


def test_pin_step_up_and_lock(site):
    user(site)
    s, _ = login(site)
    other, _ = login(site)
    site.db.query("INSERT INTO postern.rules (priority, path_pattern, access, require_elevation) "
                  "VALUES (20, '/share/**', 'authenticated', true)")
    vault = site.url + "/share/album1/photo.txt"
    servers.eventually(lambda: s.get(vault, timeout=10).status_code, lambda c: c == 403)
    r = s.get(vault, timeout=10)
    assert r.json()["code"] == "ELEVATION_REQUIRED"
    # setting the PIN needs the password; the PIN is 6 to 12 digits
    r = s.post(site.url + "/auth/pin", headers=csrf(s), json={"pin": "123456",
                                                               "password": "wrong one x"},
               timeout=30)
    assert (r.status_code, r.json()["code"]) == (403, "WRONG_PASSWORD")
    r = s.post(site.url + "/auth/pin", headers=csrf(s), json={"pin": "12ab56",
                                                               "password": PASSWORD}, timeout=30)
    assert r.status_code == 400
    r = s.post(site.url + "/auth/pin", headers=csrf(s), json={"pin": "246810",
                                                               "password": PASSWORD}, timeout=30)
    assert r.json() == {"pin": True}
    r = s.post(site.url + "/auth/session/unlock", headers=csrf(s), json={"pin": "111111"},
               timeout=30)
    assert (r.status_code, r.json()["code"]) == (403, "WRONG_PIN")
    r = s.post(site.url + "/auth/session/unlock", headers=csrf(s), json={"pin": "246810"},
               timeout=30)
    assert r.status_code == 200 and r.json()["elevated_until"] > 0
    servers.eventually(lambda: s.get(vault, timeout=10).status_code, lambda c: c == 200)
    assert other.get(vault, timeout=10).status_code == 403  # only this session
    r = s.post(site.url + "/auth/session/lock", headers=csrf(s), timeout=10)
    assert r.json() == {"locked": True}
    servers.eventually(lambda: s.get(vault, timeout=10).status_code, lambda c: c == 403)
    # the password unlocks too; a new PIN locks every session again
    r = s.post(site.url + "/auth/session/unlock", headers=csrf(s), json={"password": PASSWORD},
               timeout=30)
    assert r.status_code == 200
    servers.eventually(lambda: s.get(vault, timeout=10).status_code, lambda c: c == 200)
    r = s.post(site.url + "/auth/pin", headers=csrf(s), json={"pin": "13579135",
                                                               "password": PASSWORD}, timeout=30)
    assert r.status_code == 200
    servers.eventually(lambda: s.get(vault, timeout=10).status_code, lambda c: c == 403)


def test_wrong_pins_lock_the_account(site):
    user(site)
    site.db.query("SELECT postern.set_setting('lockout_threshold', '3')")
    s, _ = login(site)
    s.post(site.url + "/auth/pin", headers=csrf(s), json={"pin": "246810", "password": PASSWORD},
           timeout=30)
    codes = [s.post(site.url + "/auth/session/unlock", headers=csrf(s), json={"pin": "000000"},
                    timeout=30).status_code for _ in range(3)]
    assert codes == [403, 403, 429]
    r = s.post(site.url + "/auth/session/unlock", headers=csrf(s), json={"pin": "246810"},
               timeout=30)
    assert r.status_code == 429


def test_own_shared_links(site):
    site.db.query("SELECT postern.grant_permission('user', 'album.read')")
    user(site)
    user(site, "eve@example.com")
    s, _ = login(site)
    eve, _ = login(site, "eve@example.com")
    before = site.authorizer.log().count("rules loaded")
    site.db.query("INSERT INTO postern.rules (priority, path_pattern, access, allow_shared_links) "
                  "VALUES (20, '/share/**', 'authenticated', true)")
    servers.wait_for(lambda: site.authorizer.log().count("rules loaded") > before, what="reload")
    r = s.post(site.url + "/auth/shared-links", headers=csrf(s), timeout=30,
               json={"path_prefix": "/share/album1", "permissions": ["album.read"],
                     "description": "holiday"})
    assert r.status_code == 201, r.text
    link = r.json()
    assert link["key"].startswith("pst_l_") and link["prefix"] == link["key"][:12]
    photo = site.url + "/share/album1/photo.txt?key=" + link["key"]
    assert requests.get(photo, timeout=10).status_code == 200
    r = s.post(site.url + "/auth/shared-links", headers=csrf(s), timeout=30,
               json={"path_prefix": "/share/album1", "permissions": ["album.write"]})
    assert (r.status_code, r.json()["code"]) == (403, "PERMISSION_CEILING")
    r = s.post(site.url + "/auth/shared-links", headers=csrf(s), timeout=30,
               json={"path_prefix": "/share/../x", "permissions": ["album.read"]})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_INPUT")
    r = s.post(site.url + "/auth/shared-links", headers=csrf(s), timeout=30,
               json={"path_prefix": "/share/album1", "permissions": ["album.read"],
                     "password": "short"})
    assert (r.status_code, r.json()["code"]) == (400, "PASSWORD_TOO_SHORT")
    locked = s.post(site.url + "/auth/shared-links", headers=csrf(s), timeout=30,
                    json={"path_prefix": "/share/album1", "permissions": ["album.read"],
                          "password": "link password 123"}).json()
    assert requests.get(site.url + "/share/album1/photo.txt?key=" + locked["key"],
                        timeout=10).json()["code"] == "LINK_LOCKED"
    listed = s.get(site.url + "/auth/shared-links", timeout=10).json()
    assert [x["has_password"] for x in listed] == [True, False]
    assert all("key" not in x and "token_hash" not in x for x in listed)
    assert eve.get(site.url + "/auth/shared-links", timeout=10).json() == []
    # another user can neither change nor revoke it
    assert eve.delete(site.url + f"/auth/shared-links/{link['id']}", headers=csrf(eve),
                      timeout=10).status_code == 404
    r = s.patch(site.url + f"/auth/shared-links/{link['id']}", headers=csrf(s), timeout=10,
                json={"expires_at": "2000-01-01T00:00:00Z"})
    assert r.status_code == 400  # in the past
    r = s.patch(site.url + f"/auth/shared-links/{link['id']}", headers=csrf(s), timeout=10,
                json={"expires_at": "2099-01-01T00:00:00Z"})
    assert r.json() == {"updated": True}
    r = s.delete(site.url + f"/auth/shared-links/{link['id']}", headers=csrf(s), timeout=10)
    assert r.json() == {"revoked": True}
    servers.eventually(lambda: requests.get(photo, timeout=10).status_code, lambda c: c == 401)
