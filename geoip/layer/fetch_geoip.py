#!/usr/bin/env python3
"""Fills the GeoIP Lambda layer folder with real City and ASN databases.

    geoip/layer/fetch_geoip.py [--layer-dir DIR] [--dbip-month YYYY-MM]

With MAXMIND_ACCOUNT_ID and MAXMIND_LICENSE_KEY set, it downloads GeoLite2-City and GeoLite2-ASN
from MaxMind's official download endpoint and checks each archive against the SHA-256 MaxMind
publishes next to it. Without them it downloads DB-IP's free "Lite" databases (CC BY 4.0): DB-IP
publishes no checksum file, so the gzip CRC and a check that the result is a MaxMind DB of the
right kind stand in for it. Either way the files land as

    DIR/geoip/GeoLite2-City.mmdb and DIR/geoip/GeoLite2-ASN.mmdb   (DIR defaults to geoip/layer/build)

so that, deployed as a layer, they are /opt/geoip/GeoLite2-City.mmdb and /opt/geoip/GeoLite2-ASN.mmdb,
the functions' default paths. A licence/attribution note is written beside them. Files are written
atomically: a failed or interrupted download never leaves a half-written database.

Python standard library only. Its tests (test_fetch_geoip.py) run offline.
"""
import argparse
import base64
import datetime
import gzip
import hashlib
import io
import os
import re
import sys
import tarfile
import tempfile
import urllib.request

MAXMIND_URL = "https://download.maxmind.com/geoip/databases/{edition}/download?suffix={suffix}"
DBIP_URL = "https://download.db-ip.com/free/dbip-{kind}-lite-{month}.mmdb.gz"
EDITIONS = {"GeoLite2-City": "city", "GeoLite2-ASN": "asn"}
MMDB_METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"
# A real City database is ~60 MB; anything far larger is not what we asked for (or a gzip bomb).
MAX_DATABASE_BYTES = 512 * 1024 * 1024

MAXMIND_NOTICE = """GeoLite2 databases by MaxMind, downloaded {date}.
This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com.
Use is subject to the GeoLite2 End User License Agreement: https://www.maxmind.com/en/geolite2/eula
"""
DBIP_NOTICE = """DB-IP Lite databases ({month}), downloaded {date}.
IP Geolocation by DB-IP (https://db-ip.com), licensed under the Creative Commons Attribution 4.0
International License (https://creativecommons.org/licenses/by/4.0/). Show this attribution
wherever the data is displayed (for example, in the dashboards' footer).
"""


class FetchError(Exception):
    """A problem the user can act on; the message says what and where."""


def parse_args(argv, environ):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layer-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "build"),
                        help="layer root; databases go to LAYER_DIR/geoip/ (default: geoip/layer/build)")
    parser.add_argument("--dbip-month", help="DB-IP release to fetch, YYYY-MM (default: this month)")
    args = parser.parse_args(argv)
    account, key = environ.get("MAXMIND_ACCOUNT_ID", "").strip(), environ.get("MAXMIND_LICENSE_KEY", "").strip()
    if bool(account) != bool(key):
        missing = "MAXMIND_LICENSE_KEY" if account else "MAXMIND_ACCOUNT_ID"
        raise FetchError(f"{missing} is not set: set both MAXMIND_ACCOUNT_ID and MAXMIND_LICENSE_KEY, or neither for DB-IP Lite")
    if account and not account.isdigit():
        raise FetchError(f"MAXMIND_ACCOUNT_ID {account!r} is not a number (it is the numeric account ID, not an e-mail)")
    if account and args.dbip_month:
        raise FetchError("--dbip-month is for DB-IP Lite; unset MAXMIND_ACCOUNT_ID and MAXMIND_LICENSE_KEY to use it")
    if args.dbip_month and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", args.dbip_month):
        raise FetchError(f"--dbip-month {args.dbip_month!r} is not YYYY-MM")
    args.maxmind = (account, key) if account else None
    args.dbip_month = args.dbip_month or datetime.date.today().strftime("%Y-%m")
    return args


def http_get(url, credentials=None):
    """The real downloader: bytes of `url`, with HTTP basic auth when credentials are given."""
    request = urllib.request.Request(url, headers={"User-Agent": "weblog-enrichment-geoip-layer/1"})
    if credentials:
        token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.read(MAX_DATABASE_BYTES + 1)
    except urllib.error.HTTPError as error:
        hint = " (check MAXMIND_ACCOUNT_ID and MAXMIND_LICENSE_KEY)" if error.code in (401, 403) else ""
        raise FetchError(f"GET {url.split('?')[0]}: HTTP {error.code}{hint}") from None
    except urllib.error.URLError as error:
        raise FetchError(f"GET {url.split('?')[0]}: {error.reason}") from None


def expected_sha256(checksum_file, archive_name_hint):
    """The hash from MaxMind's `.sha256` file: `<64 hex>  <archive name>`."""
    text = checksum_file.decode("ascii", "replace").strip()
    match = re.fullmatch(r"([0-9a-fA-F]{64})\s+(\S+)", text)
    if not match:
        raise FetchError(f"{archive_name_hint}: the checksum file is not '<sha256>  <name>': {text[:80]!r}")
    return match.group(1).lower()


def verify_sha256(data, expected, what):
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise FetchError(f"{what}: SHA-256 mismatch, expected {expected}, got {actual}")


def mmdb_from_tar_gz(archive, edition):
    """The `EDITION.mmdb` member of a MaxMind `.tar.gz`, read into memory (never extracted to disk)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            for member in tar.getmembers():
                if member.isfile() and os.path.basename(member.name) == f"{edition}.mmdb":
                    if member.size > MAX_DATABASE_BYTES:
                        raise FetchError(f"{edition}: {member.name} is {member.size} bytes, more than a database can be")
                    return tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as error:
        raise FetchError(f"{edition}: the archive is not a readable tar.gz: {error}") from None
    raise FetchError(f"{edition}: the archive holds no {edition}.mmdb")


def gunzip_capped(data, what):
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            out = stream.read(MAX_DATABASE_BYTES + 1)
    except (OSError, EOFError) as error:
        raise FetchError(f"{what}: not a valid gzip file: {error}") from None
    if len(out) > MAX_DATABASE_BYTES:
        raise FetchError(f"{what}: decompresses to more than {MAX_DATABASE_BYTES} bytes")
    return out


def check_mmdb(data, kind, what):
    """A MaxMind DB whose metadata's database_type names the expected kind (city / asn)."""
    marker = data.rfind(MMDB_METADATA_MARKER)
    if marker < 0:
        raise FetchError(f"{what}: not a MaxMind DB file (no metadata marker)")
    metadata = data[marker:]
    key = metadata.find(b"database_type")
    # The value follows the key as an MMDB UTF-8 string: one control byte (length < 29), then text.
    if key < 0 or key + 14 >= len(metadata):
        raise FetchError(f"{what}: MaxMind DB metadata has no database_type")
    control = metadata[key + 13]
    length = control & 0x1F
    if control >> 5 != 2 or length >= 29:
        raise FetchError(f"{what}: MaxMind DB metadata's database_type is not a short inline string")
    database_type = metadata[key + 14:key + 14 + length].decode("utf-8", "replace")
    if kind not in database_type.lower():
        raise FetchError(f"{what}: is a {database_type!r} database, expected a {kind} database")
    return database_type


def write_atomically(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".partial-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def fetch_maxmind(credentials, layer_dir, get, url=MAXMIND_URL):
    for edition, kind in EDITIONS.items():
        archive = get(url.format(edition=edition, suffix="tar.gz"), credentials)
        checksum = get(url.format(edition=edition, suffix="tar.gz.sha256"), credentials)
        verify_sha256(archive, expected_sha256(checksum, edition), f"{edition}.tar.gz")
        database = mmdb_from_tar_gz(archive, edition)
        check_mmdb(database, kind, edition)
        write_atomically(os.path.join(layer_dir, "geoip", f"{edition}.mmdb"), database)
    notice = MAXMIND_NOTICE.format(date=datetime.date.today().isoformat())
    write_atomically(os.path.join(layer_dir, "geoip", "LICENSE-GEOIP.txt"), notice.encode())


def fetch_dbip(month, layer_dir, get, url=DBIP_URL):
    for edition, kind in EDITIONS.items():
        file_url = url.format(kind=kind, month=month)
        database = gunzip_capped(get(file_url, None), os.path.basename(file_url))
        check_mmdb(database, kind, os.path.basename(file_url))
        write_atomically(os.path.join(layer_dir, "geoip", f"{edition}.mmdb"), database)
    notice = DBIP_NOTICE.format(month=month, date=datetime.date.today().isoformat())
    write_atomically(os.path.join(layer_dir, "geoip", "LICENSE-GEOIP.txt"), notice.encode())


def main(argv=None, environ=None, get=http_get):
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv, os.environ if environ is None else environ)
        if args.maxmind:
            fetch_maxmind(args.maxmind, args.layer_dir, get)
            source = "MaxMind GeoLite2 (SHA-256 verified)"
        else:
            fetch_dbip(args.dbip_month, args.layer_dir, get)
            source = f"DB-IP Lite {args.dbip_month} (no MaxMind key given)"
    except FetchError as error:
        print(f"fetch_geoip: {error}", file=sys.stderr)
        return 1
    print(f"{source}: {os.path.join(args.layer_dir, 'geoip')}/GeoLite2-City.mmdb and GeoLite2-ASN.mmdb")
    return 0


if __name__ == "__main__":
    sys.exit(main())
