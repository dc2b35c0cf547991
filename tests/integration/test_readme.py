"""The README's SQL cookbook runs as written, as a DBA holding only postern_admin."""
import os
import re

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_sql_cookbook_runs_as_postern_admin(db):
    text = open(os.path.join(REPO, "README.md")).read()
    section = text[text.index("### SQL cookbook"):]
    sql = re.search(r"```sql\n(.*?)```", section, re.S).group(1)
    db.query("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'readme_dba') "
             "THEN CREATE ROLE readme_dba LOGIN IN ROLE postern_admin; END IF; END $$")
    dba = db.connect(user="readme_dba")
    with dba.cursor() as cur:
        cur.execute(sql)
    assert db.value("SELECT role FROM postern.users WHERE email = 'bob@example.com'") == "admin"
    assert db.value("SELECT count(*) FROM postern.api_keys WHERE revoked_at IS NULL") == 0
    assert db.value("SELECT value FROM postern.settings WHERE key = 'maintenance'") == "on"
