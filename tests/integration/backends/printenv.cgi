#!/usr/bin/python3
"""Test CGI backend: answers its whole environment as JSON, and appends one line to hits.log
beside itself (the fixtures copy this script into each test's directory), so a test can tell
that the backend was never reached. Runs under mod_cgi (lighttpd, Apache) and fcgiwrap (nginx)."""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
try:
    with open(os.path.join(here, "hits.log"), "a") as f:
        f.write(os.environ.get("REQUEST_URI", "?") + "\n")
except OSError:
    pass
length = int(os.environ.get("CONTENT_LENGTH") or 0)
if length:
    sys.stdin.buffer.read(length)  # a CGI must read its body (Apache breaks the reply if not)
body = json.dumps(dict(os.environ), sort_keys=True).encode()
sys.stdout.buffer.write(b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                        % len(body) + body)
