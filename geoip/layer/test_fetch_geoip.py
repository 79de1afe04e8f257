"""Offline tests of fetch_geoip.py: arguments, checksums, archive handling and both download flows.

There is no internet here, so the downloads go to `OfflineFetcher`, a stand-in for the two
vendors' endpoints that serves archives built in the test; everything else is the real code.
"""
import gzip
import hashlib
import io
import os
import tarfile
import tempfile
import unittest

import fetch_geoip as fg


def fake_mmdb(database_type):
    """Enough of a MaxMind DB for the checks: data, the metadata marker, a metadata map."""
    encoded = database_type.encode()
    # A one-entry map (0xe1), then the key and the value as short UTF-8 strings (0x40 | length).
    return (b"\x00" * 64 + fg.MMDB_METADATA_MARKER + b"\xe1" + bytes([0x40 | 13]) + b"database_type"
            + bytes([0x40 | len(encoded)]) + encoded)


def tar_gz(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class OfflineFetcher:
    """Serves fixed bytes per URL and records what was asked, with which credentials."""

    def __init__(self, responses):
        self.responses = responses
        self.requests = []

    def __call__(self, url, credentials):
        self.requests.append((url, credentials))
        if url not in self.responses:
            raise fg.FetchError(f"GET {url}: HTTP 404")
        return self.responses[url]


def maxmind_responses(city_archive=None):
    responses = {}
    for edition in fg.EDITIONS:
        archive = tar_gz({f"{edition}_20261117/LICENSE.txt": b"licence",
                          f"{edition}_20261117/{edition}.mmdb": fake_mmdb(edition)})
        if edition == "GeoLite2-City" and city_archive is not None:
            archive = city_archive
        responses[fg.MAXMIND_URL.format(edition=edition, suffix="tar.gz")] = archive
        digest = hashlib.sha256(archive).hexdigest()
        responses[fg.MAXMIND_URL.format(edition=edition, suffix="tar.gz.sha256")] = \
            f"{digest}  {edition}_20261117.tar.gz\n".encode()
    return responses


class ArgumentTests(unittest.TestCase):
    def test_no_key_means_dbip_this_month(self):
        args = fg.parse_args([], {})
        self.assertIsNone(args.maxmind)
        self.assertRegex(args.dbip_month, r"^\d{4}-\d{2}$")

    def test_both_keys_mean_maxmind(self):
        args = fg.parse_args(["--layer-dir", "/x"], {"MAXMIND_ACCOUNT_ID": "12345", "MAXMIND_LICENSE_KEY": "k"})
        self.assertEqual(args.maxmind, ("12345", "k"))
        self.assertEqual(args.layer_dir, "/x")

    def test_half_a_key_names_the_missing_variable(self):
        with self.assertRaisesRegex(fg.FetchError, "MAXMIND_LICENSE_KEY is not set"):
            fg.parse_args([], {"MAXMIND_ACCOUNT_ID": "12345"})
        with self.assertRaisesRegex(fg.FetchError, "MAXMIND_ACCOUNT_ID is not set"):
            fg.parse_args([], {"MAXMIND_LICENSE_KEY": "k"})

    def test_account_id_is_numeric(self):
        with self.assertRaisesRegex(fg.FetchError, "not a number"):
            fg.parse_args([], {"MAXMIND_ACCOUNT_ID": "me@example.com", "MAXMIND_LICENSE_KEY": "k"})

    def test_month_format(self):
        self.assertEqual(fg.parse_args(["--dbip-month", "2026-11"], {}).dbip_month, "2026-11")
        for bad in ["2026-13", "26-11", "2026/11"]:
            with self.assertRaisesRegex(fg.FetchError, "is not YYYY-MM"):
                fg.parse_args(["--dbip-month", bad], {})


class ChecksumTests(unittest.TestCase):
    def test_good_checksum(self):
        data = b"archive"
        line = f"{hashlib.sha256(data).hexdigest()}  GeoLite2-City_20261117.tar.gz\n".encode()
        fg.verify_sha256(data, fg.expected_sha256(line, "GeoLite2-City"), "x")

    def test_mismatch_names_both_hashes(self):
        line = ("0" * 64 + "  x.tar.gz").encode()
        with self.assertRaisesRegex(fg.FetchError, "SHA-256 mismatch, expected 0{64}, got [0-9a-f]{64}"):
            fg.verify_sha256(b"archive", fg.expected_sha256(line, "GeoLite2-City"), "GeoLite2-City.tar.gz")

    def test_malformed_checksum_file(self):
        for text in [b"", b"<html>login</html>", b"abc  x.tar.gz"]:
            with self.assertRaisesRegex(fg.FetchError, "checksum file is not"):
                fg.expected_sha256(text, "GeoLite2-City")


class ArchiveTests(unittest.TestCase):
    def test_picks_the_database_member(self):
        archive = tar_gz({"GeoLite2-ASN_1/COPYRIGHT.txt": b"c", "GeoLite2-ASN_1/GeoLite2-ASN.mmdb": b"db"})
        self.assertEqual(fg.mmdb_from_tar_gz(archive, "GeoLite2-ASN"), b"db")

    def test_archive_without_database(self):
        with self.assertRaisesRegex(fg.FetchError, "holds no GeoLite2-City.mmdb"):
            fg.mmdb_from_tar_gz(tar_gz({"x/README": b"r"}), "GeoLite2-City")

    def test_not_an_archive(self):
        with self.assertRaisesRegex(fg.FetchError, "not a readable tar.gz"):
            fg.mmdb_from_tar_gz(b"<html>", "GeoLite2-City")

    def test_gzip_cap_and_corruption(self):
        self.assertEqual(fg.gunzip_capped(gzip.compress(b"abc"), "x"), b"abc")
        with self.assertRaisesRegex(fg.FetchError, "not a valid gzip"):
            fg.gunzip_capped(gzip.compress(b"abc")[:-6], "x")
        original, fg.MAX_DATABASE_BYTES = fg.MAX_DATABASE_BYTES, 1000
        try:
            with self.assertRaisesRegex(fg.FetchError, "decompresses to more than 1000 bytes"):
                fg.gunzip_capped(gzip.compress(b"\0" * 100_000), "bomb.gz")
        finally:
            fg.MAX_DATABASE_BYTES = original

    def test_database_kind(self):
        self.assertEqual(fg.check_mmdb(fake_mmdb("DBIP-City-Lite"), "city", "x"), "DBIP-City-Lite")
        with self.assertRaisesRegex(fg.FetchError, "is a 'GeoLite2-ASN' database, expected a city database"):
            fg.check_mmdb(fake_mmdb("GeoLite2-ASN"), "city", "x")
        with self.assertRaisesRegex(fg.FetchError, "not a MaxMind DB file"):
            fg.check_mmdb(b"<html>", "city", "x")


class FlowTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.layer = self.dir.name

    def tearDown(self):
        self.dir.cleanup()

    def files(self):
        return sorted(os.listdir(os.path.join(self.layer, "geoip")))

    def test_maxmind(self):
        fetcher = OfflineFetcher(maxmind_responses())
        env = {"MAXMIND_ACCOUNT_ID": "12345", "MAXMIND_LICENSE_KEY": "secret"}
        self.assertEqual(fg.main(["--layer-dir", self.layer], env, fetcher), 0)
        self.assertEqual(self.files(), ["GeoLite2-ASN.mmdb", "GeoLite2-City.mmdb", "LICENSE-GEOIP.txt"])
        with open(os.path.join(self.layer, "geoip", "GeoLite2-City.mmdb"), "rb") as f:
            self.assertEqual(f.read(), fake_mmdb("GeoLite2-City"))
        self.assertTrue(all(credentials == ("12345", "secret") for _, credentials in fetcher.requests))
        self.assertEqual(len(fetcher.requests), 4)

    def test_maxmind_checksum_mismatch_writes_nothing(self):
        responses = maxmind_responses()
        city_url = fg.MAXMIND_URL.format(edition="GeoLite2-City", suffix="tar.gz")
        responses[city_url] = responses[city_url] + b"tampered"
        env = {"MAXMIND_ACCOUNT_ID": "12345", "MAXMIND_LICENSE_KEY": "secret"}
        self.assertEqual(fg.main(["--layer-dir", self.layer], env, OfflineFetcher(responses)), 1)
        self.assertFalse(os.path.exists(os.path.join(self.layer, "geoip", "GeoLite2-City.mmdb")))

    def test_dbip_without_key(self):
        responses = {
            fg.DBIP_URL.format(kind="city", month="2026-11"): gzip.compress(fake_mmdb("DBIP-City-Lite")),
            fg.DBIP_URL.format(kind="asn", month="2026-11"): gzip.compress(fake_mmdb("DBIP-ASN-Lite")),
        }
        fetcher = OfflineFetcher(responses)
        self.assertEqual(fg.main(["--layer-dir", self.layer, "--dbip-month", "2026-11"], {}, fetcher), 0)
        self.assertEqual(self.files(), ["GeoLite2-ASN.mmdb", "GeoLite2-City.mmdb", "LICENSE-GEOIP.txt"])
        with open(os.path.join(self.layer, "geoip", "LICENSE-GEOIP.txt")) as f:
            self.assertIn("IP Geolocation by DB-IP", f.read())
        self.assertTrue(all(credentials is None for _, credentials in fetcher.requests))

    def test_dbip_wrong_database(self):
        responses = {
            fg.DBIP_URL.format(kind="city", month="2026-11"): gzip.compress(fake_mmdb("DBIP-Country-Lite")),
        }
        self.assertEqual(fg.main(["--layer-dir", self.layer, "--dbip-month", "2026-11"], {}, OfflineFetcher(responses)), 1)


if __name__ == "__main__":
    unittest.main()
