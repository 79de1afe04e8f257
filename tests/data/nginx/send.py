#!/usr/bin/env python3
"""Sends the nginx capture's requests: the format capture's (../formats/send.py, over plain HTTP and
TLS) and requests for /app/, which nginx passes to an upstream group whose first server is down, so
that the upstream variables list the servers tried, and requests whose user agent and referrer hold
what each escape mode writes differently."""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "formats"))
from send import REQUESTS, send  # noqa: E402
from send_requests import CURL, req  # noqa: E402

APP = [
    req(b"GET /app/ HTTP/1.1", ua=CURL),
    req(b"GET /app/orders?page=2 HTTP/1.1", ua=CURL, referer=b"http://www.example.test/app/"),
]
# What each escape mode writes differently: quotes, backslashes, a tab, raw UTF-8 and a Latin-1 byte.
ESCAPES = [
    req(b"GET /style.css HTTP/1.1", ua=b'Mozilla/5.0 "quoted" \\back\\slash'),
    req(b"GET /style.css HTTP/1.1", ua=b"tab\there, caf\xe9 (latin-1)"),
    req(b"GET /index.html HTTP/1.1", ua=CURL, referer=b"https://www.example.test/gr\xc3\xbc\xc3\x9fe?q=\"x\""),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls-port", type=int, required=True)
    args = parser.parse_args()
    for r in REQUESTS:
        send(args.port, r, tls=False)
        send(args.tls_port, r, tls=True)
    for r in APP + ESCAPES:
        send(args.port, r, tls=False)


if __name__ == "__main__":
    main()
