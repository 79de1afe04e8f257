#!/usr/bin/env python3
"""A snapshot of everything the binaries say, to prove that a refactoring changed no behaviour.

    scripts/behaviour_snapshot.py BIN_DIR OUT_DIR

BIN_DIR holds release builds of enrich-logs, kinesis-enricher, firehose-transformer,
s3-archive-enricher and make-demo-geoip (for example target/release, or a copy of it made at another commit). OUT_DIR
gets one file per case:
- enrich-logs over every captured Apache log (its own format and `auto`), the sample (plain,
  anonymized, `--keep-original`, `--no-geoip`, `_bulk`), trusted proxies, the hostile corpus, and
  the start-up errors of bad settings (message and exit status);
- each function's answer to every event file in tests/events/ and to generated events (the
  sample, the hostile corpus, oversized documents), run as Lambda runs it through a local stand-in
  for the Runtime API; kinesis-enricher and s3-archive-enricher deliver to FakeFirehose, a
  PutRecordBatch endpoint in this script that accepts everything and records the documents;
  s3-archive-enricher reads its objects from FakeS3, a GetObject endpoint in this script that
  serves a fixed set of objects (gzip, plain, binary, damaged gzip, missing); each function's log
  lines (JSON), its EMF line, and the start-up error of bad settings.

Values that differ from run to run are masked: times taken from the clock (documents of lines
without a time of their own, log timestamps, EMF Timestamp, the databases' ages), durations and
thread ids. Documents over Firehose's record limit are written with sorted keys, as their content
is the contract, not their key order. Compare two snapshots with `diff -r`. Standard library only.
"""
import base64
import calendar
import gzip
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNTIME = "/2018-06-01/runtime/"
REQUEST_ID = "snapshot-request-1"
MAX_ENTRY_BYTES = 1000 * 1024

# Timestamps within a day of now come from the clock, not from the data (the data is older).
NOW = time.time()
ISO = re.compile(rb'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)"')
RUNTIME_ENV = {"AWS_LAMBDA_FUNCTION_NAME": "snapshot", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
               "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_LOG_FORMAT": "JSON"}


def mask_sdk_debug(data):
    # The SDK's error text dumps the answer's extensions, a set keyed by type ids: its order
    # changes from one build to the next.
    return re.sub(rb'extensions_1x: \{[^}]*\}', b'extensions_1x: {<types>}', data)


def mask_clock(data):
    def replace(match):
        text = match.group(1).decode()
        try:
            seconds = calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))
        except ValueError:
            return match.group(0)
        return b'"<now>"' if abs(seconds - NOW) < 86_400 else match.group(0)
    return ISO.sub(replace, mask_sdk_debug(data))


def mask_log(line):
    line = mask_clock(line)
    line = re.sub(rb'"duration_ms":[0-9.e+-]+', b'"duration_ms":"<ms>"', line)
    line = re.sub(rb'"Duration":[0-9.e+-]+', b'"Duration":"<ms>"', line)
    line = re.sub(rb'"Timestamp":\d+', b'"Timestamp":"<now>"', line)
    # The databases' ages grow with the clock between two snapshots.
    line = re.sub(rb'"(GeoIp\w+DatabaseAgeDays)":[0-9.e+-]+', rb'"\1":"<days>"', line)
    line = re.sub(rb'(GeoIP \w+ database \S+ built [0-9-]+), [0-9.]+ days ago', rb'\1, <days> days ago', line)
    line = re.sub(rb'"threadId":"[^"]*"', b'"threadId":"<thread>"', line)
    line = re.sub(rb'Deadline-Ms[^,"]*', b'Deadline-Ms', line)
    return line


def write(out_dir, name, data):
    with open(os.path.join(out_dir, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------------------------------------
# enrich-logs


def enrich_logs(bins, out_dir, geo):
    cli = os.path.join(bins, "enrich-logs")
    data = os.path.join(REPO, "tests", "data")
    formats = {}
    with open(os.path.join(data, "logformats.tsv")) as f:
        for line in f:
            if not line.startswith("#") and line.strip():
                name, fmt = line.rstrip("\n").split("\t")
                formats[name] = fmt
    env = {"PATH": os.environ["PATH"]}

    def run(name, args, stdin=None, extra_env=None):
        result = subprocess.run([cli, *args], input=stdin, capture_output=True, env=dict(env, **(extra_env or {})))
        write(out_dir, f"cli-{name}.out", mask_clock(result.stdout))
        write(out_dir, f"cli-{name}.err", f"exit {result.returncode}\n".encode() + result.stderr)

    for log in sorted(os.listdir(data)):
        if not log.endswith(".log"):
            continue
        stem = log[:-4]
        path = os.path.join(data, log)
        run(f"{stem}-auto", [*geo, path])
        if stem in formats:
            run(f"{stem}-format", [*geo, "--format", formats[stem], path])
            run(f"{stem}-anonymized", [*geo, "--format", formats[stem], "--anonymize-ip", "truncate", "--keep-original", path])
    sample = os.path.join(data, "sample.log")
    run("sample-keep-original", [*geo, "--keep-original", sample])
    run("sample-no-geoip", ["--no-geoip", sample])
    run("sample-bulk", [*geo, "--output", "bulk", sample])
    run("sample-bulk-index", [*geo, "--output", "bulk", "--index", "logs-%Y-%m-%d.%H%%", sample])
    run("sample-env", [sample], extra_env={"GEOIP_CITY_DB": geo[1], "GEOIP_ASN_DB": geo[3], "KEEP_ORIGINAL": "yes",
                                            "IP_ANONYMIZATION": "truncate", "LOG_FORMAT": "combined"})
    forwarded = os.path.join(data, "forwarded.log")
    for proxies in ["127.0.0.1, ::1", "127.0.0.0/8,10.0.0.0/8,192.168.0.0/16,::1/128"]:
        tag = proxies.replace("/", "_").replace(",", "+").replace(" ", "")
        run(f"forwarded-trusted-{tag}", [*geo, "--format", formats["forwarded"], "--trusted-proxies", proxies, forwarded])
        run(f"forwarded-trusted-anonymized-{tag}", [*geo, "--format", formats["forwarded"], "--trusted-proxies", proxies,
                                                     "--anonymize-ip", "truncate", "--keep-original", forwarded])
    hostile = hostile_lines()
    run("hostile", [*geo, "--keep-original"], stdin=b"\n".join(hostile) + b"\n")
    run("hostile-anonymized", [*geo, "--anonymize-ip", "truncate"], stdin=b"\n".join(hostile) + b"\n")
    run("huge-line", [*geo], stdin=b"x" * (2 * 1024 * 1024) + b"\n" + b"1.2.3.4 - - [21/Nov/2026:05:00:36 +0000] \"GET / HTTP/1.1\" 200 5\n")
    run("bom-crlf", [*geo], stdin=b"\xef\xbb\xbf81.2.69.142 - - [21/Nov/2026:05:00:36 +0000] \"GET / HTTP/1.1\" 200 5\r\n")
    bad = [
        ("format", ["--format", "combinded"]),
        ("format-directive", ["--format", "%h %Q"]),
        ("anonymize", ["--anonymize-ip", "hash"]),
        ("proxies", ["--trusted-proxies", "10.0.0.0/33"]),
        ("keep-original", ["--keep-original=maybe"]),
        ("geoip-optional", ["--geoip-optional=perhaps"]),
        ("city-db", ["--city-db", "/nonexistent/City.mmdb"]),
        ("city-db-is-asn", ["--city-db", geo[3]]),
        ("asn-db", [*geo[:2], "--asn-db", "/nonexistent/ASN.mmdb"]),
        ("index", ["--output", "bulk", "--index", "Weblogs"]),
        ("missing-file", ["--no-geoip", "/nonexistent/access.log"]),
    ]
    for name, args in bad:
        run(f"bad-{name}", args, stdin=b"")
    run("bad-env-format", ["--no-geoip"], stdin=b"", extra_env={"LOG_FORMAT": "nope"})
    run("geoip-optional-missing", ["--city-db", "/nonexistent/City.mmdb", "--geoip-optional", sample])


def hostile_lines():
    with open(os.path.join(REPO, "tests", "hostile", "lines.jsonl")) as f:
        return [bytes.fromhex(json.loads(line)["line_hex"]) for line in f if line.strip()]


# ---------------------------------------------------------------------------------------------
# The functions, through a local Runtime API


class Server(http.server.ThreadingHTTPServer):
    def __init__(self, event):
        super().__init__(("127.0.0.1", 0), Handler)
        self.event = event
        self.handed_out = False
        self.done = threading.Event()
        self.response = None
        self.init_error = None
        self.delivered = []

    def handle_error(self, request, client_address):
        pass  # the process is killed after its response


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, body=b"{}", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        server = self.server
        if self.path.startswith(f"/{S3_BUCKET}/"):
            self.get_object()
        elif self.path == RUNTIME + "invocation/next" and not server.handed_out:
            server.handed_out = True
            deadline = int(time.time() * 1000) + 300_000
            self.reply(200, server.event, [("Lambda-Runtime-Aws-Request-Id", REQUEST_ID), ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                                           ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:snapshot"),
                                           ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")])
        else:
            server.done.wait(60)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        server = self.server
        if self.path.startswith(RUNTIME + "invocation/"):
            server.response = body
            self.reply(202)
            server.done.set()
        elif self.path.startswith(RUNTIME + "init/error"):
            server.init_error = body
            self.reply(202)
            server.done.set()
        elif self.path.startswith("/2015-03-31/functions/"):  # Lambda Invoke (a continuation)
            server.delivered.append(b"invoked: " + body + b"\n")
            self.reply(202)
        else:  # FakeFirehose: PutRecordBatch, everything accepted and recorded
            records = json.loads(body)["Records"]
            server.delivered.extend(base64.b64decode(r["Data"]) for r in records)
            answer = {"FailedPutCount": 0, "Encrypted": False, "RequestResponses": [{"RecordId": f"r{i}"} for i in range(len(records))]}
            self.reply(200, json.dumps(answer).encode(), [("Content-Type", "application/x-amz-json-1.1")])

    def get_object(self):
        """FakeS3: GetObject (path-style), whole objects or a `bytes=N-` range."""
        key = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path[len(S3_BUCKET) + 2:])
        data = S3_OBJECTS.get(key)
        if data is None:
            error = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key '
                     f'does not exist.</Message><Key>{key}</Key><RequestId>snapshot</RequestId></Error>').encode()
            self.reply(404, error, [("Content-Type", "application/xml"), ("x-amz-request-id", "snapshot")])
            return
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if match:
            start = int(match.group(1))
        self.reply(206 if match else 200, data[start:], [("ETag", '"snapshot-etag"'), ("Content-Type", "application/octet-stream"),
                                                          ("Last-Modified", "Sun, 01 Nov 2026 00:05:12 GMT"), ("x-amz-request-id", "snapshot")])

    def log_message(self, *args):
        pass

    def date_time_string(self, timestamp=None):
        return "Sun, 01 Nov 2026 00:00:00 GMT"  # error messages quote the answer's headers


S3_BUCKET = "weblogs-archive"
# Filled in by s3_objects(): key -> the object's bytes.
S3_OBJECTS = {}


def s3_objects(sample, hostile):
    text = b"\n".join(sample) + b"\n"
    S3_OBJECTS.update({
        "apache/access_log-20261101 (web 1).gz": gzip.compress(text, mtime=0),
        # apache/access_log-20261102.gz (in the Batch Operations events) is missing
        "plain/access_log": text.replace(b"\n", b"\r\n", 5),
        "hostile/access_log": b"\n".join(hostile) + b"\n",
        "binary/access_log": b"\x00\x01binary" * 100,
        "damaged/access_log.gz": gzip.compress(text, mtime=0)[:-300],
        "two-members/access_log.gz": gzip.compress(text[:2000], mtime=0) + gzip.compress(text[2000:], mtime=0),
    })


def invoke(binary, event, env):
    server = Server(json.dumps(event).encode() if not isinstance(event, bytes) else event)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"127.0.0.1:{server.server_address[1]}"
    env = dict(env, AWS_LAMBDA_RUNTIME_API=address)
    for name in ["AWS_ENDPOINT_URL_FIREHOSE", "AWS_ENDPOINT_URL"]:
        if env.get(name) == "<fake>":
            env[name] = f"http://{address}"
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen([binary], env=env, stdout=out, stderr=err)
        try:
            ended = False
            deadline = time.time() + 120
            while not server.done.is_set() and time.time() < deadline:
                if process.poll() is not None:
                    ended = True
                    break
                server.done.wait(0.05)
            if not server.done.is_set() and not ended:
                raise SystemExit(f"{binary}: no answer within 120 s")
            time.sleep(0.2)  # let the EMF and log lines of the invocation be written
        finally:
            if process.poll() is None:
                process.kill()
            code = process.wait()
            server.shutdown()
            server.server_close()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    return server, stdout, stderr, code


def function_case(bins, out_dir, function, name, event, env):
    server, stdout, stderr, code = invoke(os.path.join(bins, function), event, env)
    parts = []
    if server.init_error is not None:
        parts.append(b"init error: " + server.init_error + f"\nexit: {code}\n".encode())
    if server.response is not None:
        parts.append(b"response: " + mask_clock(server.response) + b"\n")
    for document in server.delivered:
        if len(document) > MAX_ENTRY_BYTES or b"_truncated" in document:
            parsed = json.loads(document)
            document = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
        parts.append(b"delivered: " + mask_clock(document))
    if function == "firehose-transformer" and server.response:
        for record in json.loads(server.response)["records"]:
            if "data" in record:
                parts.append(f"{record['recordId']} {record['result']}: ".encode() + mask_clock(base64.b64decode(record["data"])) + b"\n")
    for line in (stdout + stderr).splitlines():
        parts.append(b"log: " + mask_log(line) + b"\n")
    write(out_dir, f"{function}-{name}.txt", b"".join(parts))


def kinesis_event(datas):
    return {"Records": [{"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": str(i),
                                     "sequenceNumber": str(49590338271490256608559692538361571095921575989136588898 + i),
                                     "data": base64.b64encode(data).decode(), "approximateArrivalTimestamp": 1795219200.123},
                         "eventSource": "aws:kinesis", "eventID": f"shardId-000000000000:{i}", "eventName": "aws:kinesis:record",
                         "awsRegion": "eu-west-1", "eventSourceARN": "arn:aws:kinesis:eu-west-1:123456789012:stream/weblogs"}
                        for i, data in enumerate(datas)]}


def s3_event(keys):
    return {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1", "eventTime": "2026-11-02T00:05:12.417Z",
                         "eventName": "ObjectCreated:Put", "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": S3_BUCKET},
                                                                  "object": {"key": urllib.parse.quote_plus(key, safe="/"), "size": 1}}}
                        for key in keys]}


def firehose_event(datas):
    return {"invocationId": "snapshot", "deliveryStreamArn": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/weblogs",
            "region": "eu-west-1", "records": [{"recordId": f"{i:056d}", "approximateArrivalTimestamp": 1795219200123,
                                                "data": base64.b64encode(data).decode()} for i, data in enumerate(datas)]}


def functions(bins, out_dir, city, asn):
    base = {"PATH": os.environ["PATH"], **RUNTIME_ENV, "GEOIP_CITY_DB": city, "GEOIP_ASN_DB": asn}
    kinesis_env = dict(base, AWS_REGION="eu-west-1", AWS_ACCESS_KEY_ID="snapshot", AWS_SECRET_ACCESS_KEY="snapshot",
                       DELIVERY_STREAM_NAME="weblogs", AWS_ENDPOINT_URL_FIREHOSE="<fake>")
    s3_env = dict(kinesis_env, AWS_ENDPOINT_URL="<fake>")
    events_dir = os.path.join(REPO, "tests", "events")
    with open(os.path.join(REPO, "tests", "data", "sample.log"), "rb") as f:
        sample = f.read().splitlines()
    hostile = hostile_lines()
    control = b"\x01" * 200_000
    oversized = [
        # a line that does not parse, its event.original far over the record limit once escaped
        control,
        # a user agent that takes the document over the limit; without the originals it fits
        b'81.2.69.142 - - [21/Nov/2026:05:00:36 +0000] "GET / HTTP/1.1" 200 5 "-" "' + control + b'"',
        # a URL that keeps the document over the limit even without the originals
        b'81.2.69.142 - - [21/Nov/2026:05:00:36 +0000] "GET /' + control + b' HTTP/1.1" 200 5 "-" "curl/8.5.0"',
    ]
    cases = [
        ("kinesis-enricher", "sample", kinesis_event(sample[:60] + [b"\n".join(sample[60:70])]), {}),
        ("kinesis-enricher", "hostile", kinesis_event(hostile), {"KEEP_ORIGINAL": "true"}),
        ("kinesis-enricher", "oversized", kinesis_event(oversized), {"KEEP_ORIGINAL": "true"}),
        ("kinesis-enricher", "anonymized", kinesis_event(sample[:30]), {"IP_ANONYMIZATION": "truncate", "KEEP_ORIGINAL": "1"}),
        ("firehose-transformer", "sample", firehose_event(sample[:60]), {}),
        ("firehose-transformer", "hostile", firehose_event(hostile), {"KEEP_ORIGINAL": "true"}),
        ("firehose-transformer", "gzip-bomb", firehose_event([gzip.compress(b"\0" * 8_000_000, mtime=0)]), {}),
    ]
    s3_objects(sample, hostile)
    generated_keys = ["plain/access_log", "hostile/access_log", "binary/access_log", "damaged/access_log.gz",
                      "two-members/access_log.gz", "missing/access_log"]
    cases += [
        ("s3-archive-enricher", "generated-objects", s3_event(generated_keys), {"KEEP_ORIGINAL": "true"}),
        ("s3-archive-enricher", "continuation", {"continuation": {"bucket": S3_BUCKET, "key": "plain/access_log",
                                                                   "etag": '"snapshot-etag"', "gzip": False, "offset": 1000, "linesBefore": 7}}, {}),
        ("s3-archive-enricher", "continuation-gzip", {"continuation": {"bucket": S3_BUCKET, "key": "apache/access_log-20261101 (web 1).gz",
                                                                        "etag": '"snapshot-etag"', "gzip": True, "offset": 1000, "linesBefore": 7}}, {}),
        ("s3-archive-enricher", "not-an-event", {"Records": "x"}, {}),
    ]
    for event_file in sorted(os.listdir(events_dir)):
        with open(os.path.join(events_dir, event_file), "rb") as f:
            event = f.read()
        if event_file.startswith("kinesis"):
            function = "kinesis-enricher"
        elif event_file.startswith("s3"):
            function = "s3-archive-enricher"
        else:
            function = "firehose-transformer"
        cases.append((function, event_file[:-5], event, {}))
    for function, name, event, extra in cases:
        env = dict(kinesis_env if function == "kinesis-enricher" else s3_env if function == "s3-archive-enricher" else base, **extra)
        function_case(bins, out_dir, function, name, event, env)
    bad = [
        ("log-format", {"LOG_FORMAT": "combinded"}),
        ("anonymization", {"IP_ANONYMIZATION": "hash"}),
        ("keep-original", {"KEEP_ORIGINAL": "maybe"}),
        ("proxies", {"TRUSTED_PROXIES": "10.0.0.0/33"}),
        ("city-db", {"GEOIP_CITY_DB": "/nonexistent/City.mmdb"}),
        ("city-db-optional", {"GEOIP_CITY_DB": "/nonexistent/City.mmdb", "GEOIP_OPTIONAL": "true"}),
        ("geoip-optional", {"GEOIP_OPTIONAL": "perhaps"}),
        ("asn-db", {"GEOIP_ASN_DB": city}),
        ("max-decompressed", {"MAX_DECOMPRESSED_BYTES": "1"}),
        ("namespace", {"METRICS_NAMESPACE": ""}),
    ]
    kinesis_bad = [
        ("stream", {"DELIVERY_STREAM_NAME": " "}),
        ("attempts", {"DELIVERY_MAX_ATTEMPTS": "0"}),
        ("base-backoff", {"DELIVERY_BASE_BACKOFF_MS": "x"}),
        ("max-backoff", {"DELIVERY_MAX_BACKOFF_MS": "60001"}),
        ("region", {"AWS_REGION": ""}),
        ("access-key", {"AWS_ACCESS_KEY_ID": ""}),
        ("endpoint", {"AWS_ENDPOINT_URL_FIREHOSE": "ftp://example"}),
    ]
    one_line = kinesis_event(sample[:1])
    s3_bad = kinesis_bad + [("s3-endpoint", {"AWS_ENDPOINT_URL_S3": "s3.example"}),
                            ("lambda-endpoint", {"AWS_ENDPOINT_URL_LAMBDA": "lambda.example"})]
    for function in ["kinesis-enricher", "firehose-transformer", "s3-archive-enricher"]:
        env = {"kinesis-enricher": kinesis_env, "firehose-transformer": base, "s3-archive-enricher": s3_env}[function]
        event = {"kinesis-enricher": one_line, "firehose-transformer": firehose_event(sample[:1]),
                 "s3-archive-enricher": s3_event(["plain/access_log"])}[function]
        extra_bad = {"kinesis-enricher": kinesis_bad, "firehose-transformer": [], "s3-archive-enricher": s3_bad}[function]
        for name, extra in bad + extra_bad:
            function_case(bins, out_dir, function, f"bad-{name}", event, dict(env, **extra))


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    bins, out_dir = os.path.abspath(argv[1]), argv[2]
    os.makedirs(out_dir, exist_ok=True)
    # One path for every snapshot: error messages name it.
    geoip_dir = os.path.join(REPO, "out", "snapshot-geoip")
    subprocess.run([os.path.join(bins, "make-demo-geoip"), os.path.join(REPO, "geoip", "demo", "networks.tsv"), geoip_dir],
                   check=True, capture_output=True)
    city, asn = os.path.join(geoip_dir, "Demo-City.mmdb"), os.path.join(geoip_dir, "Demo-ASN.mmdb")
    enrich_logs(bins, out_dir, ["--city-db", city, "--asn-db", asn])
    functions(bins, out_dir, city, asn)
    print(f"snapshot written to {out_dir}: compare two with diff -r")


if __name__ == "__main__":
    main(sys.argv)
