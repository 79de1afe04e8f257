"""update_layer.py, the scheduled GeoIP updater, end to end: real HTTP downloads from
`VendorStandIn` (a local stand-in for MaxMind's and DB-IP's download endpoints, serving archives
built from the generated demo databases), the real AWS SDK against a moto server (Secrets Manager,
S3, Lambda layers and functions), and MaxMind's reader checking the databases.

Needs .venv (`make test-tools`: moto, maxminddb) and the demo database generator (`make test`
builds it first).
"""
import base64
import datetime
import gzip
import hashlib
import http.server
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import unittest
import uuid
import zipfile

import boto3
import maxminddb

import update_layer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# The moto process guard the domain setup's tests use.
sys.path.insert(0, os.path.join(REPO, "infra", "opensearch"))
from local_aws import MotoServer  # noqa: E402
REGION = "eu-west-1"
ACCOUNT = "123456789012"
LAYER = "weblogs-geoip"
MONTH = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m")


def demo_databases():
    """(City, ASN) bytes of the generated demo databases."""
    tool = next((p for p in (os.path.join(REPO, "target", kind, "make-demo-geoip") for kind in ("debug", "release"))
                 if os.path.exists(p)), None)
    if tool is None:
        raise AssertionError("make-demo-geoip is not built: make test builds it before these tests")
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([tool, os.path.join(REPO, "geoip/demo/networks.tsv"), out], check=True, capture_output=True)
        with open(os.path.join(out, "Demo-City.mmdb"), "rb") as city, open(os.path.join(out, "Demo-ASN.mmdb"), "rb") as asn:
            return city.read(), asn.read()


def tar_gz(name, data):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class VendorStandIn(http.server.ThreadingHTTPServer):
    """MaxMind's `/geoip/databases/<edition>/download?suffix=...` (HTTP basic auth, archives and
    their `.sha256`) and DB-IP's `/free/dbip-<kind>-lite-<month>.mmdb.gz`, serving `files`
    (path -> bytes). Records every request."""

    def __init__(self, files, credentials=None):
        self.files = files
        self.credentials = credentials
        self.requests = []
        super().__init__(("127.0.0.1", 0), VendorHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self):
        self.shutdown()
        self.server_close()


class VendorHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append((self.path, self.headers.get("Authorization")))
        if self.path.startswith("/geoip/") and self.server.credentials:
            expected = "Basic " + base64.b64encode(":".join(self.server.credentials).encode()).decode()
            if self.headers.get("Authorization") != expected:
                return self.answer(401, b"Invalid account ID or license key")
        data = self.server.files.get(self.path)
        self.answer(200, data) if data is not None else self.answer(404, b"not found")

    def answer(self, status, data):
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def maxmind_files(city, asn, damage=None):
    """The MaxMind endpoint's files; `damage(edition, archive, checksum)` may spoil them."""
    files = {}
    for edition, data in (("GeoLite2-City", city), ("GeoLite2-ASN", asn)):
        archive = tar_gz(f"{edition}_20261127/{edition}.mmdb", data)
        checksum = f"{hashlib.sha256(archive).hexdigest()}  {edition}_20261127.tar.gz\n".encode()
        if damage:
            archive, checksum = damage(edition, archive, checksum)
        files[f"/geoip/databases/{edition}/download?suffix=tar.gz"] = archive
        files[f"/geoip/databases/{edition}/download?suffix=tar.gz.sha256"] = checksum
    return files


def dbip_files(city, asn):
    return {f"/free/dbip-city-lite-{MONTH}.mmdb.gz": gzip.compress(city),
            f"/free/dbip-asn-lite-{MONTH}.mmdb.gz": gzip.compress(asn)}


class UpdateLayer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.city, cls.asn = demo_databases()
        cls.tmp = tempfile.mkdtemp()
        cls.city_path = os.path.join(cls.tmp, "city.mmdb")
        with open(cls.city_path, "wb") as f:
            f.write(cls.city)
        cls.moto = MotoServer()
        cls.saved_env = dict(os.environ)
        os.environ.update(AWS_ENDPOINT_URL=cls.moto.url, AWS_ACCESS_KEY_ID="test",
                          AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION)
        os.environ.pop("AWS_PROFILE", None)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        cls.moto.stop()
        os.environ.clear()
        os.environ.update(cls.saved_env)

    def setUp(self):
        # Each test its own account state: a fresh layer name, functions and secret.
        self.session = boto3.session.Session(region_name=REGION)
        self.lambda_client = self.session.client("lambda")
        self.suffix = self.id().rsplit(".", 1)[1][:40]
        self.layer = f"{LAYER}-{self.suffix}"[:64]
        self.bucket = "geoip-layers-" + hashlib.sha1(self.id().encode()).hexdigest()[:12]
        s3 = self.session.client("s3")
        s3.create_bucket(Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        # The layer as the stack deploys it, and the functions using it (one with another layer too).
        self.stack_layer = self.lambda_client.publish_layer_version(
            LayerName=self.layer, Description="GeoIP City and ASN databases at /opt/geoip/",
            Content={"ZipFile": self.layer_zip(b"old city", b"old asn")}, CompatibleRuntimes=["provided.al2023"],
        )["LayerVersionArn"]
        self.other_layer = self.lambda_client.publish_layer_version(
            LayerName=f"extension-{self.suffix}"[:64], Content={"ZipFile": self.layer_zip(b"x", b"y")},
        )["LayerVersionArn"]
        role = self.session.client("iam").create_role(
            RoleName=f"fn-{self.suffix}"[:64],
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
        )["Role"]["Arn"]
        self.functions = [f"enricher-{self.suffix}"[:64], f"transformer-{self.suffix}"[:64]]
        for name, layers in zip(self.functions, ([self.other_layer, self.stack_layer], [self.stack_layer])):
            self.lambda_client.create_function(
                FunctionName=name, Runtime="provided.al2023", Role=role, Handler="bootstrap",
                Code={"ZipFile": self.layer_zip(b"a", b"b")}, Layers=layers, Architectures=["arm64"],
            )
        self.vendor = None

    def tearDown(self):
        if self.vendor:
            self.vendor.stop()

    @staticmethod
    def layer_zip(city, asn):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("geoip/GeoLite2-City.mmdb", city)
            archive.writestr("geoip/GeoLite2-ASN.mmdb", asn)
        return buffer.getvalue()

    def run_update(self, files, secret=None):
        self.vendor = VendorStandIn(files, credentials=secret)
        secret_arn = ""
        if secret:
            secret_arn = self.session.client("secretsmanager").create_secret(
                Name=f"maxmind-{uuid.uuid4().hex}",
                SecretString=json.dumps({"account_id": secret[0], "license_key": secret[1]}),
            )["ARN"]
        return update_layer.update(
            layer_name=self.layer, function_names=self.functions, bucket=self.bucket, secret_arn=secret_arn,
            maxmind_url=self.vendor.url + "/geoip/databases/{edition}/download?suffix={suffix}",
            dbip_url=self.vendor.url + "/free/dbip-{kind}-lite-{month}.mmdb.gz",
            session=self.session,
        )

    def layers_of(self, name):
        return [layer["Arn"] for layer in self.lambda_client.get_function_configuration(FunctionName=name)["Layers"]]

    def versions(self):
        return self.lambda_client.list_layer_versions(LayerName=self.layer)["LayerVersions"]

    def assert_nothing_changed(self):
        self.assertEqual(len(self.versions()), 1, "no new layer version")
        self.assertEqual(self.layers_of(self.functions[0]), [self.other_layer, self.stack_layer])
        self.assertEqual(self.layers_of(self.functions[1]), [self.stack_layer])

    def published_archive(self, report):
        objects = self.session.client("s3").list_objects_v2(Bucket=self.bucket, Prefix=f"geoip-layer/{self.layer}/")
        (item,) = objects["Contents"]
        body = self.session.client("s3").get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read()
        return zipfile.ZipFile(io.BytesIO(body))

    def test_db_ip_lite_without_a_secret_becomes_a_new_layer_version_the_functions_use(self):
        report = self.run_update(dbip_files(self.city, self.asn))
        self.assertTrue(report["updated"], report)
        # The demo databases' build date (fixed by the generator, so they are reproducible).
        with maxminddb.open_database(self.city_path) as reader:
            built = datetime.datetime.fromtimestamp(reader.metadata().build_epoch, datetime.timezone.utc).date()
        today = built.isoformat()
        self.assertEqual(report["description"], f"GeoIP City and ASN: city {today}, asn {today}, DB-IP Lite {MONTH}")
        (new,) = [v for v in self.versions() if v["LayerVersionArn"] == report["layer"]]
        self.assertEqual(new["Description"], report["description"])
        archive = self.published_archive(report)
        self.assertEqual(archive.read("geoip/GeoLite2-City.mmdb"), self.city)
        self.assertEqual(archive.read("geoip/GeoLite2-ASN.mmdb"), self.asn)
        self.assertIn(b"IP Geolocation by DB-IP", archive.read("geoip/LICENSE-GEOIP.txt"))
        # Each function on the new version, its other layers kept.
        self.assertEqual(self.layers_of(self.functions[0]), [self.other_layer, report["layer"]])
        self.assertEqual(self.layers_of(self.functions[1]), [report["layer"]])
        self.assertEqual([path for path, _ in self.vendor.requests],
                         [f"/free/dbip-city-lite-{MONTH}.mmdb.gz", f"/free/dbip-asn-lite-{MONTH}.mmdb.gz"])

        # The next run finds the same build: nothing published, nothing changed.
        again = self.run_update(dbip_files(self.city, self.asn))
        self.assertEqual((again["updated"], again["reason"]), (False, f"the layer already has City {today}"))
        self.assertEqual(len(self.versions()), 2)

    def test_maxmind_with_the_secrets_credentials_and_verified_checksums(self):
        secret = ("123456", "license-key-abc")
        report = self.run_update(maxmind_files(self.city, self.asn), secret=secret)
        self.assertTrue(report["updated"], report)
        self.assertTrue(report["description"].endswith("MaxMind GeoLite2"), report)
        self.assertIn(b"GeoLite2 data created by MaxMind", self.published_archive(report).read("geoip/LICENSE-GEOIP.txt"))
        authorization = "Basic " + base64.b64encode(b"123456:license-key-abc").decode()
        self.assertEqual(len(self.vendor.requests), 4)
        self.assertTrue(all(auth == authorization for _, auth in self.vendor.requests))

    def test_a_damaged_download_leaves_the_current_databases_in_place(self):
        def wrong_checksum(edition, archive, checksum):
            return archive, (("0" * 64) + "  x.tar.gz\n").encode() if edition == "GeoLite2-ASN" else checksum

        def truncated(edition, archive, checksum):
            cut = archive[: len(archive) // 2]
            return cut, f"{hashlib.sha256(cut).hexdigest()}  x.tar.gz\n".encode()

        cases = [
            ("wrong checksum", maxmind_files(self.city, self.asn, wrong_checksum), ("1", "k"), "SHA-256 mismatch"),
            ("truncated archive", maxmind_files(self.city, self.asn, truncated), ("1", "k"), "not a readable tar.gz"),
            ("corrupt gzip", {**dbip_files(self.city, self.asn),
                              f"/free/dbip-asn-lite-{MONTH}.mmdb.gz": b"\x1f\x8b\x08\x00broken"}, None,
             "not a valid gzip file"),
            ("City and ASN swapped", dbip_files(self.asn, self.city), None, "expected a city database"),
            ("missing file", {}, None, "HTTP 404"),
        ]
        for name, files, secret, message in cases:
            with self.subTest(name):
                if self.vendor:
                    self.vendor.stop()
                    self.vendor = None
                with self.assertRaises(update_layer.UpdateError) as raised:
                    self.run_update(files, secret=secret)
                self.assertIn(message, str(raised.exception))
                self.assert_nothing_changed()

    def test_a_database_that_answers_wrongly_is_refused(self):
        # Demo databases built without the probe address's network: it opens, but does not know it.
        with open(os.path.join(REPO, "geoip/demo/networks.tsv"), encoding="utf-8") as f:
            source = f.read()
        without_probe = "\n".join(line for line in source.splitlines() if not line.startswith("81.2.69.128/26")) + "\n"
        tool = next(p for p in (os.path.join(REPO, "target", kind, "make-demo-geoip") for kind in ("debug", "release"))
                    if os.path.exists(p))
        with tempfile.TemporaryDirectory() as out:
            with open(os.path.join(out, "networks.tsv"), "w", encoding="utf-8") as f:
                f.write(without_probe)
            subprocess.run([tool, os.path.join(out, "networks.tsv"), out], check=True, capture_output=True)
            with open(os.path.join(out, "Demo-City.mmdb"), "rb") as f:
                city = f.read()
        with self.assertRaises(update_layer.UpdateError) as raised:
            self.run_update(dbip_files(city, self.asn))
        self.assertEqual(str(raised.exception), "city: 81.2.69.142 gives None, expected 'GB'")
        self.assert_nothing_changed()

    def test_a_secret_without_maxminds_fields_is_named(self):
        arn = self.session.client("secretsmanager").create_secret(
            Name=f"bad-{self.suffix}"[:64], SecretString="account 123 key abc")["ARN"]
        with self.assertRaises(update_layer.UpdateError) as raised:
            update_layer.update(layer_name=self.layer, function_names=self.functions, bucket=self.bucket, secret_arn=arn,
                                maxmind_url="http://127.0.0.1:9/{edition}{suffix}", dbip_url="", session=self.session)
        self.assertIn(f"secret {arn} is not", str(raised.exception))
        self.assert_nothing_changed()


if __name__ == "__main__":
    sys.exit(unittest.main())
