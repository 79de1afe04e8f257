"""The scheduled GeoIP updater (the stack's GeoIpUpdaterFunction): new City and ASN databases for
the enrichment functions, with no redeploy and no lost invocation.

Each run:
1. fetches the databases with fetch_geoip.py: MaxMind GeoLite2 when the secret MAXMIND_SECRET_ARN
   names holds `{"account_id": "...", "license_key": "..."}` (each archive checked against the
   SHA-256 MaxMind publishes), DB-IP Lite otherwise (gzip CRC); both: a MaxMind DB of the right kind;
2. opens each with MaxMind's reader and checks it: metadata (type, IP version, build date neither
   in the future nor older than the layer's), and known lookups (PROBES);
3. stops there when the layer already has databases of that build date;
4. zips them as the layer's `geoip/` folder, puts the zip in LAYER_BUCKET and publishes a new
   version of LAYER_NAME (its description says the source and the build dates);
5. points each function of FUNCTION_NAMES at the new version, keeping its other layers. Lambda
   finishes the invocations in flight on the old version and starts new execution environments on
   the new one: nothing is redeployed, no invocation is lost.

Anything that fails stops the run before the functions are touched; they keep the databases they
have. The run raises, so the invocation counts as an error (the stack alarms on it).

Environment: LAYER_NAME, FUNCTION_NAMES (comma-separated), LAYER_BUCKET, MAXMIND_SECRET_ARN
(optional). MAXMIND_DOWNLOAD_URL and DBIP_DOWNLOAD_URL replace the vendors' URL templates (a
mirror, or the tests' stand-in).
"""
import datetime
import io
import json
import os
import tempfile
import zipfile

import boto3
import maxminddb

import fetch_geoip

# Addresses whose answers every real database and the demo databases agree on: MaxMind's own test
# address, in London, announced by Andrews & Arnold.
PROBES = {"81.2.69.142": {"country": "GB", "asn": 20712}}
# The layer's description starts with this, then the build dates: how a run knows what it has.
DESCRIPTION_PREFIX = "GeoIP City and ASN"


class UpdateError(Exception):
    """Why the databases were not updated; the functions keep the ones they have."""


def handler(event, context):
    environ = os.environ
    report = update(
        layer_name=environ["LAYER_NAME"],
        function_names=[name.strip() for name in environ["FUNCTION_NAMES"].split(",") if name.strip()],
        bucket=environ["LAYER_BUCKET"],
        secret_arn=environ.get("MAXMIND_SECRET_ARN", ""),
        maxmind_url=environ.get("MAXMIND_DOWNLOAD_URL") or fetch_geoip.MAXMIND_URL,
        dbip_url=environ.get("DBIP_DOWNLOAD_URL") or fetch_geoip.DBIP_URL,
        session=boto3.session.Session(),
    )
    print(json.dumps(report))
    return report


def update(layer_name, function_names, bucket, secret_arn, maxmind_url, dbip_url, session):
    today = datetime.datetime.now(datetime.timezone.utc).date()
    get = fetch_geoip.http_get
    lambda_client = session.client("lambda")
    current = current_build(lambda_client, layer_name)
    with tempfile.TemporaryDirectory() as layer_dir:
        credentials = maxmind_credentials(session, secret_arn)
        try:
            if credentials:
                fetch_geoip.fetch_maxmind(credentials, layer_dir, get, maxmind_url)
                source = "MaxMind GeoLite2"
            else:
                month = today.strftime("%Y-%m")
                fetch_geoip.fetch_dbip(month, layer_dir, get, dbip_url)
                source = f"DB-IP Lite {month}"
        except fetch_geoip.FetchError as error:
            raise UpdateError(f"download: {error}") from None
        folder = os.path.join(layer_dir, "geoip")
        builds = {kind: verify(os.path.join(folder, f"{edition}.mmdb"), kind, today)
                  for edition, kind in fetch_geoip.EDITIONS.items()}
        if current and builds["city"] < current:
            raise UpdateError(f"the new City database ({builds['city']}) is older than the layer's ({current})")
        description = f"{DESCRIPTION_PREFIX}: city {builds['city']}, asn {builds['asn']}, {source}"
        if current == builds["city"]:
            return {"updated": False, "reason": f"the layer already has City {current}", "source": source}
        archive = zip_folder(layer_dir)
    key = f"geoip-layer/{layer_name}/{builds['city']}-{builds['asn']}.zip"
    session.client("s3").put_object(Bucket=bucket, Key=key, Body=archive)
    layer = lambda_client.publish_layer_version(
        LayerName=layer_name,
        Description=description[:256],
        Content={"S3Bucket": bucket, "S3Key": key},
        CompatibleRuntimes=["provided.al2023"],
        CompatibleArchitectures=["arm64"],
        LicenseInfo="GeoLite2 EULA" if credentials else "CC-BY-4.0",
    )
    for name in function_names:
        point_at(lambda_client, name, layer_name, layer["LayerVersionArn"])
    return {"updated": True, "layer": layer["LayerVersionArn"], "description": description,
            "functions": function_names, "source": source}


def maxmind_credentials(session, secret_arn):
    """(account ID, licence key) from the secret, or None (then DB-IP Lite)."""
    if not secret_arn:
        return None
    secret = session.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    try:
        values = json.loads(secret)
        account, key = str(values["account_id"]).strip(), str(values["license_key"]).strip()
    except (ValueError, KeyError, TypeError):
        raise UpdateError(f"secret {secret_arn} is not {{\"account_id\": \"...\", \"license_key\": \"...\"}}") from None
    if not account.isdigit() or not key:
        raise UpdateError(f"secret {secret_arn}: account_id must be MaxMind's numeric account ID, license_key set")
    return account, key


def verify(path, kind, today):
    """Opens the database and checks it; returns its build date (YYYY-MM-DD)."""
    try:
        reader = maxminddb.open_database(path, maxminddb.MODE_MMAP)
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as error:
        raise UpdateError(f"{kind}: the database does not open: {error}") from None
    with reader:
        metadata = reader.metadata()
        if kind not in metadata.database_type.lower():
            raise UpdateError(f"{kind}: the database is a {metadata.database_type}")
        if metadata.ip_version != 6:
            raise UpdateError(f"{kind}: IPv{metadata.ip_version} only; the functions need IPv4 and IPv6")
        built = datetime.datetime.fromtimestamp(metadata.build_epoch, datetime.timezone.utc).date()
        if built > today:
            raise UpdateError(f"{kind}: built {built}, in the future")
        for address, expected in PROBES.items():
            try:
                record = reader.get(address) or {}
            except (ValueError, maxminddb.InvalidDatabaseError) as error:
                raise UpdateError(f"{kind}: looking up {address} fails: {error}") from None
            found = (record.get("country", {}).get("iso_code") if kind == "city"
                     else record.get("autonomous_system_number"))
            wanted = expected["country" if kind == "city" else "asn"]
            if found != wanted:
                raise UpdateError(f"{kind}: {address} gives {found!r}, expected {wanted!r}")
    return built.isoformat()


def current_build(lambda_client, layer_name):
    """The City build date of the layer's latest version, when it was published by this updater."""
    versions = lambda_client.list_layer_versions(LayerName=layer_name).get("LayerVersions", [])
    latest = max(versions, key=lambda version: version["Version"], default=None)
    description = (latest or {}).get("Description", "")
    if not description.startswith(f"{DESCRIPTION_PREFIX}: city "):
        return None
    return description[len(DESCRIPTION_PREFIX) + len(": city "):].split(",")[0]


def zip_folder(layer_dir):
    """The layer archive: geoip/<files>, unpacked by Lambda at /opt/geoip/."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(os.listdir(os.path.join(layer_dir, "geoip"))):
            if not name.startswith("."):
                archive.write(os.path.join(layer_dir, "geoip", name), f"geoip/{name}")
    return buffer.getvalue()


def point_at(lambda_client, function_name, layer_name, layer_version_arn):
    """The function's layers with this layer's version replaced (or added); the others kept."""
    configuration = lambda_client.get_function_configuration(FunctionName=function_name)
    unversioned = layer_version_arn.rsplit(":", 1)[0]
    layers = [layer["Arn"] for layer in configuration.get("Layers", [])
              if layer["Arn"].rsplit(":", 1)[0] != unversioned]
    lambda_client.update_function_configuration(FunctionName=function_name, Layers=layers + [layer_version_arn])
