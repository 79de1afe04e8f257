"""The stack's custom resource OpenSearchSetup: sets up the domain when the stack is created or
updated, before the delivery stream exists, with the same code as `make opensearch-setup`
(apply.py): the security roles and their mappings, the audit configuration, the index template,
the retention policy and the Dashboards saved objects. It also lets the identity pool give each
Dashboards user the IAM role of their Cognito group, which needs the app client that OpenSearch
adds to the user pool when it creates the domain, so it cannot be declared in the template.

Properties: DomainEndpoint (host name, or a URL), DomainName, IndexName, IndexRotation,
RetentionDays, UserPoolId, IdentityPoolId, AdminRoleArn, ViewerRoleArn, DeliveryRoleArn,
SetupRoleArn; any other property (the function's version, the identity pool's default role) only
makes CloudFormation send an Update when it changes. Create and Update apply everything
(idempotent); Delete leaves the domain, its data and the identity pool alone. The requests to the
domain are signed with the function's role, the domain's master user. A domain that has just been
created may answer 5xx, refuse connections or not have its app client yet for a while: those are
retried until the function's time runs short, then the resource fails with the last error as its
reason, which CloudFormation shows in the stack's events.
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
# The names OpenSearch Service gives the app client it adds to the user pool (older domains:
# AWSElasticsearch-<domain>-<region>-<id>).
DASHBOARDS_CLIENT_PREFIXES = ("AmazonOpenSearchService-", "AWSElasticsearch-")


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
    """The identity pool's role mapping, then apply.apply() with the function's credentials."""
    endpoint = properties["DomainEndpoint"]
    base_url = endpoint if endpoint.startswith(("http://", "https://")) else f"https://{endpoint}"
    parameters = {key: str(properties.get(key) or default) for key, default in apply.DEFAULT_PARAMETERS.items()}
    principals = {
        "admin": properties["AdminRoleArn"],
        "viewer": properties["ViewerRoleArn"],
        "writer": properties["DeliveryRoleArn"],
        "setup": properties["SetupRoleArn"],
    }
    session = boto3.session.Session()
    credentials = session.get_credentials().get_frozen_credentials()
    done = retried(lambda: map_groups_to_roles(session, properties), context)
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


def map_groups_to_roles(session, properties):
    """Token-based role mapping for Dashboards' app client: a signed-in user gets the role of their
    Cognito group (admins or viewers, cognito:preferred_role); a user in no group gets nothing.
    The pool's other mappings and default roles stay as they are."""
    user_pool_id = properties["UserPoolId"]
    client = dashboards_client(session, user_pool_id, properties["DomainName"])
    identity = session.client("cognito-identity")
    current = identity.get_identity_pool_roles(IdentityPoolId=properties["IdentityPoolId"])
    provider = f"cognito-idp.{session.region_name}.amazonaws.com/{user_pool_id}:{client['ClientId']}"
    wanted = {"Type": "Token", "AmbiguousRoleResolution": "Deny"}
    mappings = dict(current.get("RoleMappings") or {})
    done = f"Dashboards sign-ins ({client['ClientName']}) get the role of the user's Cognito group, no group no access"
    if mappings.get(provider) == wanted:
        return [done]
    mappings[provider] = wanted
    identity.set_identity_pool_roles(
        IdentityPoolId=properties["IdentityPoolId"], Roles=current.get("Roles") or {}, RoleMappings=mappings
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
