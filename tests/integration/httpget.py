#!/usr/bin/env python3
"""httpget.py URL - GET URL with python's own HTTP client (nothing shared
with the coordinator's code): prints the body on stdout and exits 0 on
HTTP 200, else prints "HTTP STATUS" and the body on stderr and exits 1
(2 when the server cannot be reached)."""
import sys
import urllib.error
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1], timeout=30) as r:
        sys.stdout.buffer.write(r.read())
except urllib.error.HTTPError as e:
    sys.stderr.write("HTTP %d\n%s\n" % (e.code, e.read().decode("utf-8", "replace")))
    sys.exit(1)
except OSError as e:
    sys.stderr.write("cannot reach %s: %s\n" % (sys.argv[1], e))
    sys.exit(2)
