#!/usr/bin/env python3
"""Sends one slice of a fixed, varied request list to the capture Apache over raw sockets.

Raw sockets because half of the point is what a browser would never send: TLS bytes on the
plain port, garbage, HTTP/0.9, quotes, tabs and Latin-1 bytes in headers. Requests are sent one
at a time and each response is read to the end, so Apache logs them in this order.

Every request is also appended to requests.jsonl (what was sent, as hex), which the tests use as
the ground truth for the decoded User-Agent and Referer.
"""
import argparse
import json
import os
import socket

CHROME = b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
FIREFOX = b"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = b"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
ANDROID = b"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36"
GOOGLEBOT = b"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
BINGBOT = b"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
AHREFS = b"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)"
CURL = b"curl/8.5.0"
PY = b"python-requests/2.32.3"
SQLMAP = b"sqlmap/1.8.11#stable (https://sqlmap.org)"
EDGE = b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70"

HOST = b"www.example.test"
TLS_CLIENT_HELLO = bytes.fromhex(
    "16030100a5010000a10303" + "5a" * 32 + "000020cca8cca9c02fc030c02bc02cc013c009c014c00a"
    "009c009d002f0035c012000a010000580000001800160000136578616d706c652e756c666865696d2e6e6574"
)


def req(line, headers=(), ua=None, referer=None, body=b"", host=HOST, family=socket.AF_INET, raw=None):
    """A request: its request line and headers, or `raw` bytes sent as they are."""
    return dict(line=line, headers=list(headers), ua=ua, referer=referer, body=body, host=host,
                family=family, raw=raw)


def basic(user, password):
    import base64
    return b"Authorization: Basic " + base64.b64encode(user + b":" + password)


SLICES = [
    [  # UTC: everyday browsing
        req(b"GET / HTTP/1.1", ua=CHROME),
        req(b"GET /style.css HTTP/1.1", ua=FIREFOX, referer=b"http://www.example.test/"),
        req(b"GET /gr%C3%BC%C3%9Fe.txt HTTP/1.1", ua=IPHONE, referer=b"https://www.google.com/search?q=gr%C3%BC%C3%9Fe"),
        req(b"GET /a%20b.html?q=1&x=%22y%22 HTTP/1.1", ua=EDGE),
        req(b"HEAD / HTTP/1.0", ua=CURL, host=None),
        req(b"GET /missing.php?id=1%27%20OR%201=1 HTTP/1.1", ua=SQLMAP),
        req(b"GET /big.bin HTTP/1.1", ua=CURL),
        req(b"POST /index.html HTTP/1.1", ua=PY, body=b"a=1&b=2", headers=[b"Content-Type: application/x-www-form-urlencoded"]),
    ],
    [  # America/New_York: bots and awkward user agents
        req(b"GET /robots.txt HTTP/1.1", ua=GOOGLEBOT),
        req(b"GET / HTTP/1.1", ua=BINGBOT),
        req(b"GET /index.html HTTP/1.1", ua=AHREFS),
        req(b"GET / HTTP/1.1", ua=b""),
        req(b"GET / HTTP/1.1", ua=None),
        req(b'GET / HTTP/1.1', ua=b'Mozilla/5.0 "quoted" \\back\\slash\\'),
        req(b"GET / HTTP/1.1", ua=b"Tab\there/1.0"),
        req(b"GET / HTTP/1.1", ua=b"Caf\xe9Browser/1.0 (Latin-1)"),
        req(b"GET / HTTP/1.1", ua="Läufer/2.0 (UTF-8 ✓)".encode()),
    ],
    [  # Asia/Kolkata: behind proxies (X-Forwarded-For chains), an IPv6 client
        req(b"GET / HTTP/1.1", ua=CHROME, headers=[b"X-Forwarded-For: 203.0.113.7"]),
        req(b"GET /style.css HTTP/1.1", ua=FIREFOX, headers=[b"X-Forwarded-For: 198.51.100.23, 10.0.0.2"]),
        req(b"GET / HTTP/1.1", ua=IPHONE, headers=[b"X-Forwarded-For: 2001:db8::1, 192.0.2.44"]),
        req(b"GET / HTTP/1.1", ua=CURL, headers=[b"X-Forwarded-For: unknown, [2001:db8::2]:4711, 203.0.113.9:8080"]),
        req(b"GET /index.html HTTP/1.1", ua=ANDROID, family=socket.AF_INET6),
        req(b"GET /index.html HTTP/1.1", ua=ANDROID, family=socket.AF_INET6, headers=[b"X-Forwarded-For: 81.2.69.142"]),
    ],
    [  # Pacific/Chatham (+13:45): request lines that are not METHOD TARGET PROTOCOL
        req(None, raw=TLS_CLIENT_HELLO),
        req(None, raw=b"garbage\r\n\r\n"),
        req(None, raw=b"GET /\r\n"),
        req(b"GET http://www.example.test/index.html HTTP/1.1", ua=CURL),
        req(b"CONNECT www.example.test:443 HTTP/1.1", ua=CURL),
        req(b"OPTIONS * HTTP/1.1", ua=CURL),
        req(b"PROPFIND / HTTP/1.1", ua=CURL),
        req(b"BREW /pot HTTP/1.1", ua=CURL),
        req(b'GET /q"uote\\d HTTP/1.1', ua=CURL),
        req("GET /grüße.txt HTTP/1.1".encode(), ua=CURL),
        req(b"GET /" + b"long/" * 800 + b"end.html?" + b"k=v&" * 200 + b"z=1 HTTP/1.1", ua=CHROME),
        req(b"get / HTTP/1.1", ua=CURL),
    ],
    [  # America/St_Johns (-03:30), HostnameLookups On: users, auth, redirects, conditional requests
        req(b"GET /private/ HTTP/1.1", ua=FIREFOX, headers=[basic(b"alice", b"wonderland")]),
        req(b"GET /private/ HTTP/1.1", ua=FIREFOX, headers=[basic(b"mallory", b"guess")]),
        req(b"GET /private/ HTTP/1.1", ua=FIREFOX),
        req(b"GET /index.html HTTP/1.1", ua=CHROME, headers=[b"If-Modified-Since: Sat, 01 Jan 2050 00:00:00 GMT"]),
        req(b"GET /docs HTTP/1.1", ua=CHROME),
        req(b"GET / HTTP/1.1", ua=CHROME, host=b"shop.example.test"),
        req(b"GET /index.html HTTP/1.0", ua=CURL),
    ],
    [  # Pacific/Kiritimati (+14:00): files, scanners, campaign links
        req(b"GET /docs/report.2026.pdf HTTP/1.1", ua=FIREFOX, referer=b"http://www.example.test/docs/"),
        req(b"GET /.env HTTP/1.1", ua=PY),
        req(b"GET /wp-login.php HTTP/1.1", ua=PY),
        req(b"GET /index.html?utm_source=newsletter&utm_medium=email HTTP/1.1", ua=ANDROID,
            referer=b"android-app://com.google.android.gm/"),
        req(b"GET / HTTP/1.1", ua=IPHONE, family=socket.AF_INET6, host=b"shop.example.test"),
        req(b"GET /style.css HTTP/1.1", ua=EDGE, referer=b"https://shop.example.test/?q=\"x\""),
    ],
]


def encode(r):
    if r["raw"] is not None:
        return r["raw"]
    lines = [r["line"]]
    if r["host"] is not None:
        lines.append(b"Host: " + r["host"])
    if r["ua"] is not None:
        lines.append(b"User-Agent: " + r["ua"])
    if r["referer"] is not None:
        lines.append(b"Referer: " + r["referer"])
    lines.extend(r["headers"])
    if r["body"]:
        lines.append(b"Content-Length: " + str(len(r["body"])).encode())
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + r["body"]


def send(port, r):
    addr = ("::1" if r["family"] == socket.AF_INET6 else "127.0.0.1", port)
    with socket.socket(r["family"], socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(addr)
        s.sendall(encode(r))
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        while s.recv(65536):
            pass


# The demo sample: visitors from public addresses (Apache's mod_remoteip takes them from
# X-Forwarded-For, as behind a load balancer), a few returning often, browsing a small site.
VISITORS = [
    "81.2.69.142", "81.2.69.160", "2.125.160.216", "89.160.20.112", "89.160.20.128",
    "216.160.83.56", "216.160.83.61", "175.16.199.37", "67.43.156.14", "202.196.224.9",
    "149.101.100.3", "50.114.0.7", "2001:480::52", "2a02:cf40::1", "2a02:d300::7",
    "2001:218:85a3::8", "10.20.30.40", "192.168.1.23",
]
BROWSERS = [CHROME, CHROME, CHROME, FIREFOX, IPHONE, IPHONE, ANDROID, EDGE]
BOTS = [GOOGLEBOT, BINGBOT, AHREFS]
PAGES = [
    b"/", b"/", b"/index.html", b"/style.css", b"/docs/report.2026.pdf", b"/gr%C3%BC%C3%9Fe.txt",
    b"/a%20b.html", b"/index.html?utm_source=newsletter&utm_medium=email", b"/missing.php", b"/private/",
]
REFERRERS = [None, None, b"https://www.google.com/", b"https://duckduckgo.com/", b"http://www.example.test/"]


def sample_requests(count):
    import random
    rng = random.Random(20261121)
    for _ in range(count):
        # A long tail: the first visitors come back far more often than the last.
        visitor = VISITORS[min(int(rng.expovariate(0.25)), len(VISITORS) - 1)]
        if rng.random() < 0.15:
            ua, page, referer = rng.choice(BOTS), rng.choice([b"/robots.txt", b"/", b"/docs/report.2026.pdf"]), None
        else:
            ua, page, referer = rng.choice(BROWSERS), rng.choice(PAGES), rng.choice(REFERRERS)
        method = b"HEAD" if rng.random() < 0.03 else b"GET"
        yield req(method + b" " + page + b" HTTP/1.1", ua=ua, referer=referer,
                  headers=[b"X-Forwarded-For: " + visitor.encode()])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slice", type=int)
    parser.add_argument("--sample", type=int, help="send this many demo-sample requests instead")
    args = parser.parse_args()
    if args.sample:
        for r in sample_requests(args.sample):
            send(args.port, r)
        return
    manifest = os.path.join(os.path.dirname(os.path.abspath(__file__)), "requests.jsonl")
    mode = "w" if args.slice == 0 else "a"
    with open(manifest, mode) as out:
        for r in SLICES[args.slice]:
            send(args.port, r)
            out.write(json.dumps({
                "slice": args.slice,
                "user_agent_hex": None if r["ua"] is None else r["ua"].hex(),
                "referer_hex": None if r["referer"] is None else r["referer"].hex(),
            }) + "\n")


if __name__ == "__main__":
    main()
