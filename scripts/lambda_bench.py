#!/usr/bin/env python3
"""The Lambda view of the benchmark: each function's release binary (built for this machine) run
as Lambda runs it, against a local stand-in for the Runtime API on 127.0.0.1.

    scripts/lambda_bench.py DATA_DIR CITY_DB [ASN_DB]    (scripts/bench.sh calls it)

For each binary it measures
- init: process start until the runtime asks for its first event (configuration read, databases
  opened, SDK client built);
- handle: the CPU time the process spends from the event handed over until its response (the
  fake endpoints' own time and the waits on them are not counted), with
  kinesis-enricher: 10,000 records, one line of DATA_DIR/realistic.log each, delivered to
  FakeFirehose (a stand-in PutRecordBatch endpoint on the same server that accepts everything:
  the network is excluded, the SDK's request building is not);
  firehose-transformer: a 3 MB request (Firehose's largest) of the same lines;
- peak RSS of the process (VmHWM), databases mapped, after the invocation.
Median of RUNS (environment, default 5) runs. Then what that means in billed Lambda cost per
million lines at 128 MB on arm64: a function gets CPU in proportion to its memory (1,769 MB is one
vCPU), so 128 MB runs ~13.8x slower than one full core; $0.0000133334 per GB-second and $0.20 per
million requests (us-east-1 list prices), one request per batch. This machine's x86 core stands in
for a Graviton core. Standard library only.
"""
import base64
import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNTIME = "/2018-06-01/runtime/invocation/"
MEMORY_MB = 128
FULL_CORE_MB = 1769
PRICE_GB_SECOND = 0.0000133334
PRICE_REQUEST = 0.20 / 1_000_000


def kinesis_event(lines):
    records = []
    for i, line in enumerate(lines):
        records.append({
            "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": str(i), "sequenceNumber": f"{49590338271490256608559692538361571095921575989136588898 + i}",
                        "data": base64.b64encode(line).decode(), "approximateArrivalTimestamp": 1795219200.123},
            "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": f"shardId-000000000000:{i}", "eventName": "aws:kinesis:record",
            "invokeIdentityArn": "arn:aws:iam::123456789012:role/bench", "awsRegion": "eu-west-1",
            "eventSourceARN": "arn:aws:kinesis:eu-west-1:123456789012:stream/weblogs"})
    return {"Records": records}


def firehose_request(lines, limit):
    records, size = [], 0
    for i, line in enumerate(lines):
        data = base64.b64encode(line).decode()
        size += len(data) + 120
        if size > limit:
            break
        records.append({"recordId": f"{i:056d}", "approximateArrivalTimestamp": 1795219200123, "data": data,
                        "kinesisRecordMetadata": {"shardId": "shardId-000000000000", "partitionKey": str(i), "approximateArrivalTimestamp": 1795219200123,
                                                  "sequenceNumber": f"{49590338271490256608559692538361571095921575989136588898 + i}", "subsequenceNumber": ""}})
    return {"invocationId": "bench", "deliveryStreamArn": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/weblogs",
            "sourceKinesisStreamArn": "arn:aws:kinesis:eu-west-1:123456789012:stream/weblogs", "region": "eu-west-1", "records": records}


class Server(http.server.ThreadingHTTPServer):
    """The Runtime API for one invocation, and FakeFirehose's PutRecordBatch."""

    def __init__(self, event):
        super().__init__(("127.0.0.1", 0), Handler)
        self.event = json.dumps(event).encode()
        self.ready = threading.Event()
        self.done = threading.Event()
        self.times = {}
        self.response = None
        self.pid = None

    def handle_error(self, request, client_address):
        pass  # the process is killed after its response; its dropped connections are expected


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
        if self.path == RUNTIME + "next" and not server.ready.is_set():
            server.times["ready"] = time.perf_counter()
            server.cpu_before = cpu_nanos(server.pid)
            server.ready.set()
            deadline = int(time.time() * 1000) + 300_000
            server.times["sent"] = time.perf_counter()
            self.reply(200, server.event, [("Lambda-Runtime-Aws-Request-Id", "bench-1"), ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                                           ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:bench"),
                                           ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")])
        else:
            server.done.wait(60)  # a second /next: park the runtime until the process is stopped

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.startswith(RUNTIME):
            self.server.times["done"] = time.perf_counter()
            self.server.cpu_after = cpu_nanos(self.server.pid)
            self.server.response = body
            self.reply(202)
            self.server.done.set()
        else:  # FakeFirehose: PutRecordBatch, everything accepted
            count = len(json.loads(body)["Records"])
            answer = {"FailedPutCount": 0, "Encrypted": False, "RequestResponses": [{"RecordId": f"r{i}"} for i in range(count)]}
            self.reply(200, json.dumps(answer).encode(), [("Content-Type", "application/x-amz-json-1.1")])

    def log_message(self, *args):
        pass


def cpu_nanos(pid):
    """CPU time of every thread of `pid` so far, in nanoseconds (schedstat's first field)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/schedstat") as f:
            total += int(f.read().split()[0])
    return total


def run_once(binary, event, env):
    server = Server(event)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"127.0.0.1:{server.server_address[1]}"
    env = dict(env, AWS_LAMBDA_RUNTIME_API=address, AWS_ENDPOINT_URL_FIREHOSE=f"http://{address}")
    started = time.perf_counter()
    process = subprocess.Popen(["taskset", "-c", "0", binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server.pid = process.pid
    try:
        if not server.done.wait(120):
            raise SystemExit(f"{binary}: no response within 120 s")
        with open(f"/proc/{process.pid}/status") as status:
            rss = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    finally:
        process.kill()
        process.wait()
        server.shutdown()
        server.server_close()
    times = server.times
    return (times["ready"] - started) * 1000, (server.cpu_after - server.cpu_before) / 1e6, rss / 1024, server.response


def main(argv):
    if len(argv) not in (3, 4):
        sys.exit(__doc__)
    data_dir, city = argv[1], argv[2]
    with open(os.path.join(data_dir, "realistic.log"), "rb") as f:
        lines = f.read().splitlines()
    env = {"PATH": os.environ["PATH"], "GEOIP_CITY_DB": city, "AWS_LAMBDA_FUNCTION_NAME": "bench", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
           "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "DELIVERY_STREAM_NAME": "weblogs", "AWS_LAMBDA_LOG_FORMAT": "JSON"}
    if len(argv) == 4:
        env["GEOIP_ASN_DB"] = argv[3]
    runs = int(os.environ.get("RUNS", "5"))
    cases = [("kinesis-enricher", "10,000-record batch", kinesis_event(lines[:10_000]), 10_000),
             ("firehose-transformer", "3 MB request", firehose_request(lines, 3 * 1024 * 1024), None)]
    for name, label, event, count in cases:
        count = count or len(event["records"])
        results = [run_once(os.path.join(REPO, "target", "release", name), event, env) for _ in range(runs)]
        response = json.loads(results[-1][3])
        if name == "kinesis-enricher":
            assert response == {"batchItemFailures": []}, response
        else:
            assert len(response["records"]) == count
        init, handle, rss = (statistics.median(r[i] for r in results) for i in range(3))
        print(f"  {name}: init {init:.1f} ms; {label} ({count:,} lines) handled in {handle:.1f} ms of CPU "
              f"({count / handle * 1000:,.0f} lines/s); peak RSS {rss:.1f} MiB")
        billed_seconds = handle / 1000 * FULL_CORE_MB / MEMORY_MB
        per_batch = billed_seconds * MEMORY_MB / 1024 * PRICE_GB_SECOND + PRICE_REQUEST
        print(f"    at {MEMORY_MB} MB arm64: ~{billed_seconds * 1000:,.0f} ms billed per batch, "
              f"${per_batch * 1_000_000 / count:.5f} per million lines (init ~{init * FULL_CORE_MB / MEMORY_MB:.0f} ms per cold start)")


if __name__ == "__main__":
    main(sys.argv)
