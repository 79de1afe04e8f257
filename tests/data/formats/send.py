#!/usr/bin/env python3
"""Sends the format capture's requests to the capture Apache, over plain HTTP and over TLS.

The requests are the everyday-browsing and authentication slices of ../send_requests.py (statuses
200, 301, 304, 400, 401 and 404, a query string, a POST, a percent-encoded path, forwarded requests)
and a broken link with its referrer, sent one at a time and each response read to the end, so Apache
logs them in this order.
"""
import argparse
import os
import socket
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from send_requests import SLICES, encode, req  # noqa: E402

REQUESTS = SLICES[0] + SLICES[4][:5] + [
    req(b"GET /style.css HTTP/1.1", ua=b"curl/8.5.0", headers=[b"If-None-Match: *"]),
    req(b"GET /style.css HTTP/1.1", ua=b"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        headers=[b"X-Forwarded-For: 203.0.113.7, 10.0.0.2"]),
    # A broken link: the error logs name the referrer.
    req(b"GET /old/page.html HTTP/1.1", ua=b"curl/8.5.0", referer=b"https://blog.example.test/links?from=x"),
]


def send(port, r, tls):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as plain:
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the capture's own self-signed certificate
            s = context.wrap_socket(plain, server_hostname="www.example.test")
        else:
            s = plain
        s.sendall(encode(r))
        while s.recv(65536):
            pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls-port", type=int, required=True)
    args = parser.parse_args()
    for r in REQUESTS:
        send(args.port, r, tls=False)
        send(args.tls_port, r, tls=True)


if __name__ == "__main__":
    main()
