"""The stack's custom resource OpenSearchSetup: sets up the domain when the stack is created or
updated, before the delivery stream exists, with the same code as `make opensearch-setup`
(apply.py): the index template, the retention policy and the Dashboards saved objects.

Properties: DomainEndpoint (host name, or a URL), IndexName, IndexRotation, RetentionDays; any
other property (the function's version) only makes CloudFormation send an Update when it changes.
Create and Update apply everything (idempotent); Delete leaves the domain and its data alone. The
requests are signed with the function's role, which the domain's access policy admits. A domain
that has just been created may answer 5xx or refuse connections for a while: those are retried
until the function's time runs short, then the resource fails with the last error as its reason,
which CloudFormation shows in the stack's events.
"""
import json
import time
import urllib.error
import urllib.request

import boto3

import apply

# Time kept for the answer to CloudFormation.
RESERVE_MS = 30_000
RETRY_PAUSE_S = 15


def handler(event, context):
    properties = event.get("ResourceProperties", {})
    physical_id = event.get("PhysicalResourceId") or f"opensearch-setup-{properties.get('IndexName', 'weblogs')}"
    status, reason = "SUCCESS", "nothing to do: the domain and its data stay"
    if event["RequestType"] in ("Create", "Update"):
        try:
            reason = "; ".join(set_up(properties, context))
        except Exception as error:  # noqa: BLE001 - every failure must reach CloudFormation as FAILED
            status, reason = "FAILED", str(error)
    respond(event, status, reason, physical_id)
    return {"Status": status, "Reason": reason}


def set_up(properties, context):
    """apply.apply() with the function's credentials, retried while the domain is not ready."""
    endpoint = properties["DomainEndpoint"]
    base_url = endpoint if endpoint.startswith(("http://", "https://")) else f"https://{endpoint}"
    parameters = {key: str(properties.get(key) or default) for key, default in apply.DEFAULT_PARAMETERS.items()}
    session = boto3.session.Session()
    credentials = session.get_credentials().get_frozen_credentials()
    while True:
        try:
            return apply.apply(base_url, credentials, session.region_name, parameters)
        except apply.SetupError as error:
            if not retryable(error) or context.get_remaining_time_in_millis() < RESERVE_MS + RETRY_PAUSE_S * 1000:
                raise
            print(f"the domain is not ready, retrying in {RETRY_PAUSE_S} s: {error}")
            time.sleep(RETRY_PAUSE_S)


def retryable(error):
    """Server errors and connection failures pass; a refused request (4xx) does not."""
    return error.status is None or error.status >= 500


def respond(event, status, reason, physical_id):
    """The answer CloudFormation waits for, PUT to the pre-signed ResponseURL."""
    body = json.dumps({
        "Status": status,
        # CloudFormation shows the reason in the stack's events; it takes up to 4 KB.
        "Reason": reason[:3000],
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
    }).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                     headers={"Content-Type": "", "Content-Length": str(len(body))})
    for attempt in range(5):
        try:
            with urllib.request.urlopen(request, timeout=30):
                return
        except (urllib.error.URLError, OSError) as error:
            print(f"answering CloudFormation failed (attempt {attempt + 1}): {error}")
            time.sleep(2 ** attempt)
