#!/usr/bin/env python3
"""The Lambda view of the benchmark: each function's release binary run as Lambda runs it, against
a local stand-in for the Runtime API on 127.0.0.1, compared with `enrich-logs` on the same lines.

    scripts/lambda_bench.py [--bin DIR]... DATA_DIR CITY_DB [ASN_DB]    (scripts/bench.sh calls it)

Cases (the lines are the first ones of DATA_DIR/realistic.log, one line per record):
- kinesis-enricher, 5,000- and 10,000-record batches, delivering to FakeFirehose (a stand-in
  PutRecordBatch endpoint in this script that accepts everything and answers as Firehose does,
  a 224-character record id per entry: the network is excluded, the SDK's request building,
  signing and reading of the response are not); and the same 5,000- and 10,000-record batches
  with Delivery=OpenSearch, to FakeOpenSearch (a stand-in `_bulk` endpoint in this script that
  creates everything and answers per item as OpenSearch does: index, id, version, result,
  shards, sequence number, status), and once with OPENSEARCH_GZIP=true;
- firehose-transformer, 0.5 MB and 3 MB requests (3 MB is Firehose's largest);
- s3-archive-enricher, an S3 event for a gzip object of 200,000 and of 1,000,000 lines, served by
  FakeS3 (GetObject in this script: the object's bytes, ETag and Last-Modified) and delivered to
  FakeFirehose: the same peak RSS for both sizes is the streaming (bounded memory) at work.

One process serves INVOCATIONS (default 5) invocations of the same event, as a warm Lambda
environment does. For each case it reports
- init: process start until the runtime asks for its first event (settings read, databases
  opened, SDK client built);
- process CPU: the process's own CPU time (every thread, from /proc/PID/schedstat) from its start
  to the last response, start-up included; the stand-ins' time is not counted;
- warm handling: the CPU of one invocation after the first (median), and lines/s per core;
- peak RSS of the process (VmHWM), databases mapped;
- the same lines INVOCATIONS times through `enrich-logs` (NDJSON to /dev/null), its CPU time,
  and the ratio enrich-logs CPU / function CPU (1.0: the function costs what the core costs).
Every figure is the median of RUNS (default 5) runs; with several --bin directories (binaries
before and after a change), the runs are interleaved so that both see the same machine.

--only SUBSTRING keeps the cases whose name contains it; LAMBDA_BENCH_WRAP runs the functions
under a profiler.

Then what a warm invocation costs at 128 MB on arm64: a function gets CPU in proportion to its
memory (1,769 MB is one vCPU), so 128 MB runs ~13.8x slower than one full core; $0.0000133334 per
GB-second and $0.20 per million requests (us-east-1 list prices), one request per batch. This
machine's x86 core stands in for a Graviton core. Standard library only.
"""
import argparse
import base64
import gzip
import http.server
import json
import os
import shlex
import signal
import statistics
import subprocess
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNTIME = "/2018-06-01/runtime/invocation/"
MEMORY_MB = 128
FULL_CORE_MB = 1769
PRICE_GB_SECOND = 0.0000133334
PRICE_REQUEST = 0.20 / 1_000_000
FIRST_SEQUENCE = 49590338271490256608559692538361571095921575989136588898
RECORD_ID_PREFIX = base64.b64encode(bytes(range(156))).decode()[:208]
# A profiler to run the functions under, e.g. LAMBDA_BENCH_WRAP="perf record -g -o perf.data --"
# (the CPU figures then include the profiler's own).
WRAP = shlex.split(os.environ.get("LAMBDA_BENCH_WRAP", ""))


def kinesis_event(lines):
    records = []
    for i, line in enumerate(lines):
        records.append({
            "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": str(i), "sequenceNumber": str(FIRST_SEQUENCE + i),
                        "data": base64.b64encode(line).decode(), "approximateArrivalTimestamp": 1795219200.123},
            "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": f"shardId-000000000000:{FIRST_SEQUENCE + i}",
            "eventName": "aws:kinesis:record", "invokeIdentityArn": "arn:aws:iam::123456789012:role/bench", "awsRegion": "eu-west-1",
            "eventSourceARN": "arn:aws:kinesis:eu-west-1:123456789012:stream/weblogs"})
    return {"Records": records}


def firehose_request(lines, limit):
    """A transformation request of as many lines as fit in `limit` bytes of record data (what
    Firehose's BufferSizeInMBs counts), from a Kinesis stream source as the stack sets it up."""
    records, size = [], 0
    for i, line in enumerate(lines):
        size += len(line)
        if size > limit:
            break
        record = {"recordId": f"{i:056d}", "approximateArrivalTimestamp": 1795219200123, "data": base64.b64encode(line).decode(),
                  "kinesisRecordMetadata": {"shardId": "shardId-000000000000", "partitionKey": str(i), "approximateArrivalTimestamp": 1795219200123,
                                            "sequenceNumber": str(FIRST_SEQUENCE + i), "subsequenceNumber": ""}}
        records.append(record)
    return {"invocationId": "bench", "deliveryStreamArn": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/weblogs",
            "sourceKinesisStreamArn": "arn:aws:kinesis:eu-west-1:123456789012:stream/weblogs", "region": "eu-west-1", "records": records}


def s3_event(key):
    return {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1", "eventName": "ObjectCreated:Put",
                         "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": "bench-archive", "arn": "arn:aws:s3:::bench-archive"},
                                "object": {"key": key}}}]}


class Server(http.server.ThreadingHTTPServer):
    """The Runtime API for `invocations` invocations of one event, FakeFirehose's PutRecordBatch and
    FakeS3's GetObject (`objects`: path ─▶ bytes)."""

    def __init__(self, event, invocations, objects=None):
        super().__init__(("127.0.0.1", 0), Handler)
        self.objects = objects or {}
        self.event = json.dumps(event).encode()
        self.invocations = invocations
        self.sent = 0
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.pid = None
        self.started = threading.Event()
        self.ready_at = None
        self.cpu_marks = []  # process CPU (ns) at each event handed over and each response
        self.responses = []

    def handle_error(self, request, client_address):
        pass  # the process is killed after its last response; its dropped connections are expected


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
        key_path = self.path.split("?")[0]
        if key_path in server.objects:  # FakeS3: GetObject
            self.reply(200, server.objects[key_path], [("ETag", '"0123456789abcdef0123456789abcdef"'),
                                                         ("Last-Modified", "Sun, 01 Nov 2026 00:00:00 GMT"),
                                                         ("Content-Type", "application/octet-stream")])
            return
        server.started.wait(10)  # the process can ask before Popen has returned its pid
        with server.lock:
            number = server.sent + 1 if self.path == RUNTIME + "next" and server.sent < server.invocations else None
            if number:
                server.sent = number
                if number == 1:
                    server.ready_at = time.perf_counter()
                server.cpu_marks.append(cpu_nanos(server.pid))
        if number is None:
            server.done.wait(60)  # no more events: park the runtime until the process is stopped
            return
        deadline = int(time.time() * 1000) + 300_000
        self.reply(200, server.event, [("Lambda-Runtime-Aws-Request-Id", f"bench-{number}"), ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                                       ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:bench"),
                                       ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")])

    def do_POST(self):
        server = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.startswith(RUNTIME):
            server.cpu_marks.append(cpu_nanos(server.pid))
            server.responses.append(body)
            self.reply(202)
            if len(server.responses) == server.invocations:
                server.done.set()
        elif self.path.startswith("/_bulk"):  # FakeOpenSearch: every document created
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            actions = body.split(b"\n")[0::2]
            items = []
            for number, action in enumerate(line for line in actions if line):
                target = json.loads(action)["create"]
                items.append({"create": {"_index": target["_index"], "_id": target["_id"], "_version": 1, "result": "created",
                                         "_shards": {"total": 2, "successful": 1, "failed": 0}, "_seq_no": number,
                                         "_primary_term": 1, "status": 201}})
            answer = {"took": 30, "errors": False, "items": items}
            self.reply(200, json.dumps(answer).encode(), [("Content-Type", "application/json; charset=UTF-8")])
        else:  # FakeFirehose: PutRecordBatch, everything accepted
            count = len(json.loads(body)["Records"])
            # Firehose's record ids are opaque 224-character strings; the SDK reads one per entry.
            answer = {"FailedPutCount": 0, "Encrypted": False,
                      "RequestResponses": [{"RecordId": RECORD_ID_PREFIX + f"{i:016d}"} for i in range(count)]}
            self.reply(200, json.dumps(answer).encode(), [("Content-Type", "application/x-amz-json-1.1")])

    def log_message(self, *args):
        pass


def cpu_nanos(pid):
    """CPU time of every thread of `pid` so far, in nanoseconds (schedstat's first field)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:
            pass  # a thread that ended meanwhile
    return total


def run_function(binary, event, env, invocations, objects=None):
    """(init ms, process CPU ms, warm invocation CPU ms, peak RSS MiB, last response)."""
    server = Server(event, invocations, objects)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"127.0.0.1:{server.server_address[1]}"
    env = dict(env, AWS_LAMBDA_RUNTIME_API=address, AWS_ENDPOINT_URL_FIREHOSE=f"http://{address}",
               AWS_ENDPOINT_URL_S3=f"http://{address}")
    if env.get("DELIVERY") == "opensearch":
        env.update(OPENSEARCH_ENDPOINT=f"http://{address}", FAILED_DOCUMENTS_BUCKET="bench-backup")
    started = time.perf_counter()
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(["taskset", "-c", "0", *WRAP, binary], env=env, stdout=subprocess.DEVNULL, stderr=log)
    server.pid = process.pid
    server.started.set()
    try:
        while not server.done.wait(0.1):
            if process.poll() is not None or time.perf_counter() - started > 300:
                log.seek(0)
                raise SystemExit(f"{binary}: {len(server.responses)} of {invocations} responses, exit status {process.poll()}:\n"
                                 f"{log.read()[-3000:].decode(errors='replace')}")
        with open(f"/proc/{process.pid}/status") as status:
            rss = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    finally:
        if WRAP:  # let the profiler write its data
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                pass
        process.kill()
        process.wait()
        log.close()
        server.shutdown()
        server.server_close()
    marks = server.cpu_marks
    warm = [marks[i + 1] - marks[i] for i in range(2, len(marks), 2)] or [marks[1] - marks[0]]
    return (server.ready_at - started) * 1000, marks[-1] / 1e6, statistics.median(warm) / 1e6, rss / 1024, server.responses[-1]


def run_enrich_logs(binary, path, geo_args):
    """CPU ms of `enrich-logs` over `path`, NDJSON to /dev/null, on the same core."""
    process = subprocess.Popen(["taskset", "-c", "0", binary, *geo_args, path], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{binary} failed on {path}")
    return (usage.ru_utime + usage.ru_stime) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", action="append", help="directory of the release binaries (default target/release; repeat to compare)")
    parser.add_argument("--only", default="", help="only the cases whose name contains this")
    parser.add_argument("data_dir")
    parser.add_argument("city_db")
    parser.add_argument("asn_db", nargs="?")
    args = parser.parse_args()
    bin_dirs = args.bin or [os.path.join(REPO, "target", "release")]
    if os.cpu_count() > 1:  # the stand-ins run on another core than the binaries measured (taskset -c 0)
        os.sched_setaffinity(0, set(range(1, os.cpu_count())))
    runs = int(os.environ.get("RUNS", "5"))
    invocations = int(os.environ.get("INVOCATIONS", "5"))

    with open(os.path.join(args.data_dir, "realistic.log"), "rb") as f:
        lines = f.read().splitlines()
    env = {"PATH": os.environ["PATH"], "GEOIP_CITY_DB": args.city_db, "AWS_LAMBDA_FUNCTION_NAME": "bench",
           "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_REGION": "eu-west-1",
           "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "DELIVERY_STREAM_NAME": "weblogs", "AWS_LAMBDA_LOG_FORMAT": "JSON"}
    geo_args = ["--city-db", args.city_db]
    if args.asn_db:
        env["GEOIP_ASN_DB"] = args.asn_db
        geo_args += ["--asn-db", args.asn_db]

    direct = {"DELIVERY": "opensearch"}
    cases = [("kinesis-enricher", "5,000-record batch", kinesis_event(lines[:5_000]), {}),
             ("kinesis-enricher", "10,000-record batch", kinesis_event(lines[:10_000]), {}),
             ("kinesis-enricher", "5,000-record batch, Delivery=OpenSearch", kinesis_event(lines[:5_000]), direct),
             ("kinesis-enricher", "10,000-record batch, Delivery=OpenSearch", kinesis_event(lines[:10_000]), direct),
             ("kinesis-enricher", "10,000-record batch, Delivery=OpenSearch, gzip", kinesis_event(lines[:10_000]),
              dict(direct, OPENSEARCH_GZIP="true")),
             ("firehose-transformer", "0.5 MB request", firehose_request(lines, 512 * 1024), {}),
             ("firehose-transformer", "3 MB request", firehose_request(lines, 3 * 1024 * 1024), {}),
             ("s3-archive-enricher", "gzip object of 200,000 lines", s3_event("200k.log.gz"), {}),
             ("s3-archive-enricher", "gzip object of 1,000,000 lines", s3_event("1m.log.gz"), {})]
    cases = [case for case in cases if args.only in f"{case[0]}, {case[1]}"]
    archive = b"".join(line + b"\n" for line in lines)

    def first_lines(count):
        text = archive * (count // len(lines) + 1)
        return text[:archive_bytes(text, count)]

    # FakeS3's objects, made only when a case reads them.
    objects = {f"/bench-archive/{event['Records'][0]['s3']['object']['key']}": None
               for name, _, event, _ in cases if name == "s3-archive-enricher"}
    for path, count in (("/bench-archive/200k.log.gz", 200_000), ("/bench-archive/1m.log.gz", 1_000_000)):
        if path in objects:
            objects[path] = gzip.compress(first_lines(count), 6, mtime=0)
    print(f"  {invocations} invocations per process, median of {runs} runs; enrich-logs on the same lines {invocations} times")
    with tempfile.TemporaryDirectory() as scratch:
        for name, label, event, case_env in cases:
            key = event["Records"][0].get("s3", {}).get("object", {}).get("key") if "Records" in event else None
            if key:
                text = gzip.decompress(objects[f"/bench-archive/{key}"])
                count = text.count(b"\n")
            else:
                count = len(event.get("Records") or event["records"])
                text = b"".join(line + b"\n" for line in (lines * 10)[:count])
            same_lines = os.path.join(scratch, f"{count}.log")
            with open(same_lines, "wb") as f:
                f.write(text * invocations)
            results = {directory: [] for directory in bin_dirs}
            for _ in range(runs):
                for directory in bin_dirs:
                    init, process_cpu, warm, rss, response = run_function(os.path.join(directory, name), event,
                                                                          dict(env, **case_env), invocations, objects)
                    core_cpu = run_enrich_logs(os.path.join(directory, "enrich-logs"), same_lines, geo_args)
                    check(name, json.loads(response), count)
                    results[directory].append((init, process_cpu, warm, rss, core_cpu, core_cpu / process_cpu))
            for directory in bin_dirs:
                init, process_cpu, warm, rss, core_cpu, ratio = (statistics.median(r[i] for r in results[directory]) for i in range(6))
                where = f" [{directory}]" if len(bin_dirs) > 1 else ""
                billed = warm / 1000 * FULL_CORE_MB / MEMORY_MB
                per_million = (billed * MEMORY_MB / 1024 * PRICE_GB_SECOND + PRICE_REQUEST) * 1_000_000 / count
                # Under LAMBDA_BENCH_WRAP the process measured is the profiler's, not the function's.
                rate = f"{count / warm * 1000:,.0f} lines/s" if warm > 0 else "not measured under a wrapper"
                print(f"  {name}, {label} ({count:,} lines){where}:\n"
                      f"    init {init:.1f} ms; process CPU {process_cpu:.1f} ms for {invocations} invocations; "
                      f"enrich-logs {core_cpu:.1f} ms; ratio {ratio:.2f}\n"
                      f"    warm invocation {warm:.1f} ms of CPU ({rate}); peak RSS {rss:.1f} MiB; "
                      f"at {MEMORY_MB} MB arm64 ~{billed * 1000:,.0f} ms billed, ${per_million:.5f} per million lines")


def archive_bytes(text, lines):
    """The length of the first `lines` lines of `text`."""
    end = 0
    for _ in range(lines):
        end = text.index(b"\n", end) + 1
    return end


def check(name, response, count):
    if name == "s3-archive-enricher":
        (result,) = response["results"]
        assert result["resultCode"] == "Succeeded" and result["resultString"].startswith(f"{count} lines delivered"), result
    elif name == "kinesis-enricher":
        assert response == {"batchItemFailures": []}, response
    else:
        # Past Lambda's 6 MB response limit, enriched records are answered ProcessingFailed with their original data.
        assert len(response["records"]) == count and all(r["result"] in ("Ok", "ProcessingFailed") for r in response["records"])


if __name__ == "__main__":
    main()
