"""The stack's custom resource OpenSearchSetup: sets up the domain when the stack is created or
updated, before the delivery stream exists, with the same code as `make opensearch-setup`
(apply.py): the security roles and their mappings, the audit configuration, the index template,
the retention policy and the Dashboards saved objects. It also lets the identity pool give each
Dashboards user the IAM role of their Cognito group, which needs the app client that OpenSearch
adds to the user pool when it creates the domain, so it cannot be declared in the template.

Everything it sets up comes from the function's environment, which the template sets (SETTINGS:
the domain, the pools, the roles to map, the index settings), never from the event: the function's
role is the domain's master user, so an event that could name another role would make whoever may
invoke the function a master of the domain. The event's properties only make CloudFormation send an
Update when a value changes. An event is answered only when it comes from this stack (STACK_ID)
with a pre-signed response URL of CloudFormation's in this region; any other event is logged and
ignored, with nothing set up and nothing sent anywhere.

Create and Update apply everything (idempotent); Delete leaves the domain, its data and the
identity pool alone. The requests to the domain are signed with the function's role. A domain that
has just been created may answer 5xx, refuse connections or not have its app client yet for a
while: those are retried until the function's time runs short, then the resource fails with the
last error as its reason, which CloudFormation shows in the stack's events.
"""
import json
import os
import re
import time
import urllib.error
import urllib.request

import boto3

import apply

# Time kept for the answer to CloudFormation.
RESERVE_MS = 30_000
RETRY_PAUSE_S = 15
# The names OpenSearch Service gives the app client it adds to the user pool (older domains:
# AWSElasticsearch-<domain>-<region>-<id>).
DASHBOARDS_CLIENT_PREFIXES = ("AmazonOpenSearchService-", "AWSElasticsearch-")


# The function's settings (environment variable: what the template sets it to).
SETTINGS = {
    "STACK_ID": "the stack's id (AWS::StackId)",
    "DOMAIN_ENDPOINT": "the domain's endpoint",
    "DOMAIN_NAME": "the domain's name",
    "USER_POOL_ID": "the Dashboards user pool",
    "IDENTITY_POOL_ID": "the Dashboards identity pool",
    "ADMIN_ROLE_ARN": "the admins group's role",
    "VIEWER_ROLE_ARN": "the viewers group's role",
    "DELIVERY_ROLE_ARN": "Firehose's role",
    "SETUP_ROLE_ARN": "this function's role",
}
# Settings that may be empty.
OPTIONAL_SETTINGS = {
    "DIRECT_WRITER_ROLE_ARNS": "the enriching functions' roles with Delivery=OpenSearch, comma-separated, else empty",
}
# apply.py's parameters, by the environment variable that holds each.
PARAMETER_SETTINGS = {
    "IndexName": "INDEX_NAME",
    "IndexRotation": "INDEX_ROTATION",
    "RetentionDays": "RETENTION_DAYS",
    "IndexShards": "INDEX_SHARDS",
    "IndexReplicas": "INDEX_REPLICAS",
    "AddFields": "ADD_FIELDS",
}


class SettingError(Exception):
    pass


def handler(event, context):
    refusal = foreign(event, os.environ)
    if refusal:
        # Not CloudFormation asking for this stack: nothing is set up, nothing is sent anywhere.
        print(f"ignored an event that is not this stack's setup: {refusal}")
        return {"Status": "IGNORED", "Reason": refusal}
    physical_id = event.get("PhysicalResourceId") or f"opensearch-setup-{os.environ.get('INDEX_NAME', 'weblogs')}"
    status, reason = "SUCCESS", "nothing to do: the domain and its data stay"
    if event["RequestType"] in ("Create", "Update"):
        try:
            reason = "; ".join(set_up(settings(os.environ), context))
        except Exception as error:  # noqa: BLE001 - every failure must reach CloudFormation as FAILED
            status, reason = "FAILED", str(error)
    respond(event, status, reason, physical_id)
    return {"Status": status, "Reason": reason}


def response_url_pattern(region):
    """CloudFormation's pre-signed response URLs in `region`: its bucket
    cloudformation-custom-resource-response-<region without dashes>, by any of S3's host names."""
    bucket = "cloudformation-custom-resource-response-" + region.replace("-", "")
    return re.compile(rf"https://{re.escape(bucket)}\.s3(?:[.-]{re.escape(region)})?\.amazonaws\.com(?:\.cn)?/")


def foreign(event, environ):
    """Why `event` is not CloudFormation's for this stack (None when it is)."""
    stack_id = environ.get("STACK_ID")
    if not stack_id or event.get("StackId") != stack_id:
        return f"StackId {event.get('StackId')!r} is not this stack's ({stack_id!r})"
    if event.get("RequestType") not in ("Create", "Update", "Delete"):
        return f"RequestType {event.get('RequestType')!r} is not Create, Update or Delete"
    url = str(event.get("ResponseURL", ""))
    region = environ.get("AWS_REGION", "")
    if not response_url_pattern(region).match(url):
        # Named without its query, which holds the pre-signed URL's signature.
        return f"ResponseURL {url.split('?')[0][:200]!r} is not CloudFormation's response bucket in {region}"
    return None


def settings(environ):
    """The endpoint, the parameters and the principals, from the function's environment."""
    missing = [f"{name} ({what})" for name, what in SETTINGS.items() if not environ.get(name)]
    if missing:
        raise SettingError(f"the setup function's environment lacks {', '.join(missing)}: deploy it with infra/template.yaml")
    parameters = {key: environ.get(name) or apply.DEFAULT_PARAMETERS[key] for key, name in PARAMETER_SETTINGS.items()}
    principals = {
        "admin": environ["ADMIN_ROLE_ARN"],
        "viewer": environ["VIEWER_ROLE_ARN"],
        "writer": environ["DELIVERY_ROLE_ARN"],
        "setup": environ["SETUP_ROLE_ARN"],
        # Delivery=OpenSearch only: the enriching functions' roles, which then write to the domain.
        "direct_writers": apply.direct_writers(environ.get("DIRECT_WRITER_ROLE_ARNS", "")),
    }
    pools = {"UserPoolId": environ["USER_POOL_ID"], "IdentityPoolId": environ["IDENTITY_POOL_ID"],
             "DomainName": environ["DOMAIN_NAME"]}
    return environ["DOMAIN_ENDPOINT"], parameters, principals, pools


def set_up(found, context):
    """The identity pool's role mapping, then apply.apply() with the function's credentials."""
    endpoint, parameters, principals, pools = found
    base_url = endpoint if endpoint.startswith(("http://", "https://")) else f"https://{endpoint}"
    session = boto3.session.Session()
    credentials = session.get_credentials().get_frozen_credentials()
    done = retried(lambda: map_groups_to_roles(session, pools), context)
    return done + retried(lambda: apply.apply(base_url, credentials, session.region_name, parameters, principals),
                          context)


def retried(step, context):
    """step(), again while it fails with a retryable SetupError and there is time for it."""
    while True:
        try:
            return step()
        except apply.SetupError as error:
            if not retryable(error) or context.get_remaining_time_in_millis() < RESERVE_MS + RETRY_PAUSE_S * 1000:
                raise
            print(f"the domain is not ready, retrying in {RETRY_PAUSE_S} s: {error}")
            time.sleep(RETRY_PAUSE_S)


def retryable(error):
    """Server errors and connection failures pass; a refused request (4xx) does not."""
    return error.status is None or error.status >= 500


def dashboards_client(session, user_pool_id, domain_name):
    """The app client OpenSearch added to the user pool for Dashboards' sign-in."""
    idp = session.client("cognito-idp")
    clients = [
        client
        for page in idp.get_paginator("list_user_pool_clients").paginate(UserPoolId=user_pool_id, MaxResults=60)
        for client in page["UserPoolClients"]
    ]
    found = [c for c in clients if c["ClientName"].startswith(DASHBOARDS_CLIENT_PREFIXES)]
    if len(found) > 1:
        found = [c for c in found if f"-{domain_name}-" in c["ClientName"]]
    if not found:
        # OpenSearch adds it while it configures the domain's Cognito authentication.
        raise apply.SetupError(f"user pool {user_pool_id} has no OpenSearch Dashboards app client yet")
    if len(found) > 1:
        names = ", ".join(sorted(c["ClientName"] for c in found))
        raise apply.SetupError(f"user pool {user_pool_id} has several Dashboards app clients for {domain_name}: "
                               f"{names}", 409)
    return found[0]


def map_groups_to_roles(session, pools):
    """Token-based role mapping for Dashboards' app client: a signed-in user gets the role of their
    Cognito group (admins or viewers, cognito:preferred_role); a user in no group gets nothing.
    The pool's other mappings and default roles stay as they are."""
    user_pool_id = pools["UserPoolId"]
    client = dashboards_client(session, user_pool_id, pools["DomainName"])
    identity = session.client("cognito-identity")
    current = identity.get_identity_pool_roles(IdentityPoolId=pools["IdentityPoolId"])
    provider = f"cognito-idp.{session.region_name}.amazonaws.com/{user_pool_id}:{client['ClientId']}"
    wanted = {"Type": "Token", "AmbiguousRoleResolution": "Deny"}
    mappings = dict(current.get("RoleMappings") or {})
    done = f"Dashboards sign-ins ({client['ClientName']}) get the role of the user's Cognito group, no group no access"
    if mappings.get(provider) == wanted:
        return [done]
    mappings[provider] = wanted
    identity.set_identity_pool_roles(
        IdentityPoolId=pools["IdentityPoolId"], Roles=current.get("Roles") or {}, RoleMappings=mappings
    )
    return [done]


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
