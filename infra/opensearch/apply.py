#!/usr/bin/env python3
"""Sets up the stack's OpenSearch domain: security roles, index template, retention policy, Dashboards.

    infra/opensearch/apply.py --stack-name weblogs [--region eu-west-1] [--username you@example.com]

The stack runs the same setup itself (setup_resource.py, its custom resource OpenSearchSetup); this
script applies it again by hand. It signs in as a Dashboards administrator (a user of the stack's
`admins` Cognito group, the AdminEmail of the stack by default; the password comes from
DASHBOARDS_PASSWORD or a prompt, and an MFA code is asked for when the user has MFA), takes the
administrators' role from the identity pool, and sends SigV4-signed requests that follow the
stack's IndexName, IndexRotation and RetentionDays parameters (here for IndexName=weblogs):

    PUT  /_plugins/_security/api/roles/weblogs_viewer    read the log indices and the Dashboards objects
    PUT  /_plugins/_security/api/roles/weblogs_writer    add documents to the log indices (Firehose)
    PUT  /_plugins/_security/api/roles/weblogs_direct_writer
                                             create documents and indices, nothing else (Delivery=OpenSearch)
    PUT  /_plugins/_security/api/rolesmapping/weblogs_viewer, .../weblogs_writer, .../weblogs_direct_writer
                                             to the viewers' role, Firehose's role and (Delivery=OpenSearch
                                             only; else no one) the enriching functions' roles
    GET, then PUT /_plugins/_security/api/rolesmapping/{all_access,security_manager,opensearch_dashboards_read_only}
                                             the administrators' and the setup role added to what is there
                                             (every field set by hand kept)
    GET  /_plugins/_security/api/audit, then (when it differs) PUT .../audit/config
                                             refused requests (REST and transport layers), failed sign-ins
                                             and security changes audited; the rest of the configuration kept
    PUT  /_index_template/weblogs            infra/opensearch/index-template.json, for weblogs and weblogs-*
    GET  /_plugins/_ism/policies/weblogs-retention, then (when it differs)
    PUT  /_plugins/_ism/policies/weblogs-retention[?if_seq_no=..&if_primary_term=..]
                                             weblogs-* deleted RetentionDays after their last document
    POST /_plugins/_ism/change_policy/weblogs-*
                                             after an update: the indices it manages moved to the new version
    POST /_plugins/_ism/remove/weblogs       with NoRotation instead: no policy on the single index
    POST /_dashboards/api/saved_objects/_import?overwrite=true
                                             infra/opensearch/dashboards.ndjson into the global tenant,
                                             its index pattern weblogs*

Every step is idempotent, so running it again after a change updates what is there, and a run
that finds everything in place changes nothing. The template applies to indices created after it;
the policy to new indices by its template, and to those it already manages by change_policy. Needs boto3 (`make infra-tools` puts it in .venv-sam).
"""
import argparse
import getpass
import json
import os
import sys
import urllib.error
import urllib.request
import uuid

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HERE = os.path.dirname(os.path.abspath(__file__))
# The stack's parameters this script follows, with the template's defaults.
DEFAULT_PARAMETERS = {
    "IndexName": "weblogs",
    "IndexRotation": "OneDay",
    "RetentionDays": "30",
    "IndexShards": "1",
    "IndexReplicas": "auto",
    # The functions' ADD_FIELDS: its labels.<name> fields are mapped.
    "AddFields": "",
}
# The IAM roles the domain's security maps, by the stack output that names each.
PRINCIPAL_OUTPUTS = {
    "admin": "DashboardsAdminRoleArn",
    "viewer": "DashboardsViewerRoleArn",
    "writer": "DeliveryRoleArn",
    "setup": "OpenSearchSetupRoleArn",
}
# The stack's output naming the roles that write to the domain themselves with Delivery=OpenSearch
# (kinesis-enricher's, s3-archive-enricher's), comma-separated; the output exists only then.
DIRECT_WRITERS_OUTPUT = "DirectWriterRoleArns"
# What GET answers about a role mapping that a PUT may not send back.
MAPPING_READ_ONLY = {"reserved", "hidden", "static"}
# Where OpenSearch Dashboards keeps the global tenant's saved objects: the alias and the numbered
# indices behind it (.kibana_1, after a migration .kibana_2), by OpenSearch's /regex/ patterns.
# Not .kibana_* : that also matches the private tenants' indices, .kibana_<hash>_<user>.
DASHBOARDS_INDICES = [".kibana", r"/\.kibana_[0-9]+/", ".opensearch_dashboards", r"/\.opensearch_dashboards_[0-9]+/"]


class SetupError(Exception):
    """A problem the user can act on; the message says what to do. `status` is the HTTP status of
    a refused request, None when the domain could not be reached."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def stack_outputs(session, stack_name):
    """The stack's outputs, and the parameters of DEFAULT_PARAMETERS (defaults where absent)."""
    stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    wanted = ("OpenSearchDomainEndpoint", "UserPoolId", "SetupClientId", "IdentityPoolId",
              *PRINCIPAL_OUTPUTS.values())
    missing = [k for k in wanted if k not in outputs]
    if missing:
        raise SetupError(f"stack {stack_name} has no output {', '.join(missing)}: is it infra/template.yaml?")
    given = {p["ParameterKey"]: p.get("ParameterValue") for p in stacks[0].get("Parameters", [])}
    parameters = {key: given.get(key) or default for key, default in DEFAULT_PARAMETERS.items()}
    return outputs, parameters


def index_patterns(index_name):
    """Every index Firehose writes: the name itself (NoRotation) and name-<date> (every rotation)."""
    return [index_name, f"{index_name}-*"]


def principals_from(outputs):
    """{"admin": role ARN, ...} from the stack outputs of PRINCIPAL_OUTPUTS; "direct_writers" is a
    list, empty unless the stack delivers directly."""
    principals = {who: outputs[output] for who, output in PRINCIPAL_OUTPUTS.items()}
    principals["direct_writers"] = direct_writers(outputs.get(DIRECT_WRITERS_OUTPUT, ""))
    return principals


def direct_writers(arns):
    """The role ARNs of a comma-separated list."""
    return [arn.strip() for arn in (arns or "").split(",") if arn.strip()]


def security_roles(index_name):
    """The two roles the stack owns. Viewers read the log indices and Dashboards' saved objects in
    the global tenant, and change nothing; the writer (Firehose) creates the log indices and adds
    documents to them, and may not delete either."""
    patterns = index_patterns(index_name)
    return {
        f"{index_name}_viewer": {
            "description": f"Dashboards viewers: read {index_name} indices and the global tenant's dashboards",
            "cluster_permissions": ["cluster_composite_ops_ro"],
            "index_permissions": [
                {"index_patterns": patterns, "allowed_actions": ["read"]},
                {"index_patterns": DASHBOARDS_INDICES, "allowed_actions": ["read"]},
            ],
            "tenant_permissions": [{"tenant_patterns": ["global_tenant"], "allowed_actions": ["kibana_all_read"]}],
        },
        f"{index_name}_writer": {
            "description": f"Firehose: create {index_name} indices and add documents, nothing else",
            # Firehose reads the cluster's and nodes' stats and the indices' mappings and stats (the
            # GETs of AWS's documented delivery role); it writes with _bulk. Named actions rather
            # than the create_index and index groups, which also allow changing mappings: the
            # index template's mapping is not dynamic, documents never need to.
            "cluster_permissions": ["cluster_monitor", "indices:data/write/bulk"],
            "index_permissions": [
                {"index_patterns": patterns, "allowed_actions": WRITER_INDEX_ACTIONS},
            ],
        },
        f"{index_name}_direct_writer": {
            "description": f"kinesis-enricher, s3-archive-enricher (Delivery=OpenSearch): create {index_name} indices and documents, nothing else",
            # Only _bulk with `create` items: no reads, no stats, no mapping or settings changes,
            # no updates or deletes (the security plugin names no action apart for `create`; the
            # function sends nothing else).
            "cluster_permissions": ["indices:data/write/bulk"],
            "index_permissions": [
                {"index_patterns": patterns, "allowed_actions": DIRECT_WRITER_INDEX_ACTIONS},
            ],
        },
    }


WRITER_INDEX_ACTIONS = [
    # A bulk request into the day's first document creates the index (auto_create, from the template).
    "indices:admin/auto_create",
    "indices:admin/create",
    "indices:admin/mappings/get",
    "indices:data/write/bulk*",
    "indices:data/write/index",
    "indices_monitor",
]


# kinesis-enricher writing directly: a day's first document creates its index; documents are created.
DIRECT_WRITER_INDEX_ACTIONS = [
    "indices:admin/auto_create",
    "indices:admin/create",
    "indices:data/write/bulk*",
    "indices:data/write/index",
]


def role_mappings(index_name, principals):
    """Role -> (IAM role ARNs as backend roles, whether the mapping is the stack's own). Mappings of
    built-in roles are added to, so that what an administrator mapped by hand stays."""
    everything = [principals["admin"], principals["setup"]]
    return {
        f"{index_name}_viewer": ([principals["viewer"]], True),
        f"{index_name}_writer": ([principals["writer"]], True),
        # No one when the stack delivers through Firehose: a stack switched back unmaps the role.
        f"{index_name}_direct_writer": (list(principals.get("direct_writers", [])), True),
        "all_access": (everything, False),
        "security_manager": (everything, False),
        # Dashboards without saving, editing or a private tenant.
        "opensearch_dashboards_read_only": ([principals["viewer"]], False),
    }


# Audited: refused requests and failed sign-ins, at the REST layer and the transport layer (where
# index and cluster privileges are checked, so that is where most refusals are logged), changes to
# the security configuration, and granted actions at the transport layer (where their names are
# known) but the routine ones in ROUTINE_ACTIONS: what stays are index deletes, `_delete_by_query`,
# document deletes, snapshot restores, settings, mapping and template changes. Firehose's bulk calls
# and every search are left out, so they do not fill the log. Only these keys are the stack's: the
# rest of the configuration (the read-only fields AWS sets, anything changed by hand) is kept as the
# domain has it.
AUDIT_OWNED = {
    "enable_rest": True,
    "disabled_rest_categories": ["AUTHENTICATED", "GRANTED_PRIVILEGES"],
    "enable_transport": True,
    "disabled_transport_categories": ["AUTHENTICATED"],
    "resolve_bulk_requests": False,
    "log_request_body": False,
}
# Granted actions not worth an audit event (patterns of the security plugin's `ignore_requests`):
# document writes in bulk (Firehose), reads and searches (Dashboards), monitoring, and the reads and
# automatic mapping updates that come with them.
ROUTINE_ACTIONS = [
    "indices:data/write/bulk*",
    "indices:data/write/index",
    "indices:data/read/*",
    "indices:monitor/*",
    "cluster:monitor/*",
    "indices:admin/get",
    "indices:admin/*/get",
    "indices:admin/resolve/*",
    "indices:admin/mapping/auto_put",
]
COMPLIANCE_OWNED = {"enabled": True, "write_metadata_only": True, "read_metadata_only": True}


def audit_config(found):
    """The configuration to PUT: what GET _plugins/_security/api/audit found, with the stack's keys."""
    config = json.loads(json.dumps((found or {}).get("config") or {}))
    config["enabled"] = True
    config.setdefault("audit", {}).update(AUDIT_OWNED)
    # The stack's routine actions, after any pattern added by hand.
    ignored = config["audit"].get("ignore_requests") or []
    config["audit"]["ignore_requests"] = ignored + [action for action in ROUTINE_ACTIONS if action not in ignored]
    config.setdefault("compliance", {}).update(COMPLIANCE_OWNED)
    return config


def apply_security(base_url, credentials, region, index_name, principals):
    """Roles, role mappings and the audit configuration; returns what was done."""
    api = f"{base_url}/_plugins/_security/api"
    json_headers = {"Content-Type": "application/json"}
    done = []
    for role, definition in security_roles(index_name).items():
        signed_request(credentials, region, "PUT", f"{api}/roles/{role}", json.dumps(definition).encode(), json_headers)
    for role, (backend_roles, owned) in role_mappings(index_name, principals).items():
        mapping = {"backend_roles": list(backend_roles), "hosts": [], "users": []}
        if not owned:
            current = signed_request(credentials, region, "GET", f"{api}/rolesmapping/{role}", None, {}, missing_ok=True)
            found = (current or {}).get(role, {})
            # Everything a person may have set stays (users, hosts, and_backend_roles, description);
            # the stack's backend roles are added to theirs.
            mapping = {key: value for key, value in found.items() if key not in MAPPING_READ_ONLY}
            mapping["backend_roles"] = found.get("backend_roles", []) + [
                r for r in backend_roles if r not in found.get("backend_roles", [])]
            mapping.setdefault("hosts", [])
            mapping.setdefault("users", [])
        signed_request(credentials, region, "PUT", f"{api}/rolesmapping/{role}", json.dumps(mapping).encode(),
                       json_headers)
    direct = (f"{len(principals['direct_writers'])} function roles" if principals.get("direct_writers")
              else "no one (Delivery=Firehose)")
    done.append(f"roles {index_name}_viewer (viewers), {index_name}_writer (Firehose) and "
                f"{index_name}_direct_writer ({direct}); administrators mapped to all_access and security_manager")
    found = signed_request(credentials, region, "GET", f"{api}/audit", None, {}, missing_ok=True)
    wanted = audit_config(found)
    if (found or {}).get("config") != wanted:
        signed_request(credentials, region, "PUT", f"{api}/audit/config", json.dumps(wanted).encode(), json_headers)
    done.append("audit log: refused requests (REST and transport), failed sign-ins, security changes, "
                "granted index deletes, deletes by query, restores and mapping changes")
    return done


def label_names(add_fields):
    """The labels.<name> fields the functions' ADD_FIELDS sets (the functions check the setting)."""
    names = []
    for pair in (add_fields or "").split(","):
        name = pair.split("=", 1)[0].strip()
        if name.startswith("labels.") and name[len("labels."):] and name[len("labels."):] not in names:
            names.append(name[len("labels."):])
    return names


def template_mapping(labels=()):
    """index-template.json's mapping, with a keyword field for each label: labels are the user's
    names, and the mapping is not dynamic (the writer may not change it)."""
    with open(os.path.join(HERE, "index-template.json"), encoding="utf-8") as f:
        template = json.load(f)
    properties = template["template"]["mappings"]["properties"]
    for label in labels:
        properties["labels"].setdefault("properties", {})[label] = {"type": "keyword", "ignore_above": 1024}
    return template


def index_template(index_name, shards="1", replicas="auto", labels=()):
    """index-template.json for the stack's indices, with its primary shards per index and replicas
    (auto: one replica once there is a second node to hold it, none before), and its labels."""
    template = template_mapping(labels)
    template["index_patterns"] = index_patterns(index_name)
    settings = template["template"]["settings"]["index"]
    settings["number_of_shards"] = int(shards)
    if replicas != "auto":
        del settings["auto_expand_replicas"]
        settings["number_of_replicas"] = int(replicas)
    return json.dumps(template, indent=2).encode()


# How long each rotation writes into one index (Firehose's IndexRotationPeriod); a month is taken at
# its longest.
ROTATION_HOURS = {"OneHour": 1, "OneDay": 24, "OneWeek": 7 * 24, "OneMonth": 31 * 24}


def retention_age(retention_days, rotation):
    """ISM's min_index_age counts from an index's creation, and an index takes documents for one
    rotation period after it: deleting it RetentionDays plus that period after its creation keeps
    every document at least RetentionDays (and never deletes the index being written)."""
    hours = int(retention_days) * 24 + ROTATION_HOURS[rotation]
    return f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"


def retention_policy(index_name, retention_days, rotation="OneDay"):
    """An ISM policy for the rotated indices (`<name>-*`, never the bare name that NoRotation
    writes): each is deleted once its newest document can be RetentionDays old."""
    age = retention_age(retention_days, rotation)
    return {
        "policy": {
            "description": f"Deletes {index_name}-* indices {age} after they were created: {retention_days} days "
            f"after their last document ({rotation} rotation; infra/opensearch/apply.py, the stack's RetentionDays)",
            "default_state": "hot",
            "states": [
                {"name": "hot", "actions": [],
                 "transitions": [{"state_name": "delete", "conditions": {"min_index_age": age}}]},
                {"name": "delete", "actions": [{"delete": {}}], "transitions": []},
            ],
            "ism_template": [{"index_patterns": [f"{index_name}-*"], "priority": 100}],
        }
    }


def differs(found, wanted):
    """Whether `found` (what the domain answers) says something else than `wanted` (what we send)
    in any field we send: the domain adds its own (versions, times, retry defaults)."""
    if isinstance(wanted, dict):
        return not isinstance(found, dict) or any(differs(found.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return (not isinstance(found, list) or len(found) != len(wanted)
                or any(differs(f, w) for f, w in zip(found, wanted)))
    return found != wanted


def apply_retention(base_url, credentials, region, parameters):
    """The retention policy, and the indices it manages moved to its latest version; with
    NoRotation, no policy on the single index. Returns what was done."""
    index_name, rotation, days = parameters["IndexName"], parameters["IndexRotation"], parameters["RetentionDays"]
    json_headers = {"Content-Type": "application/json"}
    ism = f"{base_url}/_plugins/_ism"
    if rotation == "NoRotation":
        # One index that never rotates: a policy would delete all of it. One installed while the
        # stack still rotated (an older policy also matched the bare name) is taken off it.
        removed = signed_request(credentials, region, "POST", f"{ism}/remove/{index_name}", None, {},
                                 missing_ok=True) or {}
        taken_off = f"; taken off {index_name}" if removed.get("updated_indices") else ""
        return [f"no retention policy: with IndexRotation=NoRotation there is one index, never deleted{taken_off}"]
    policy_id = f"{index_name}-retention"
    policy_url = f"{ism}/policies/{policy_id}"
    wanted = retention_policy(index_name, days, rotation)
    current = signed_request(credentials, region, "GET", policy_url, None, {}, missing_ok=True)
    described = f"retention policy {policy_id}: {index_name}-* deleted {days} days after their last document"
    if current is not None and not differs(current.get("policy"), wanted["policy"]):
        return [f"{described} (unchanged)"]
    if current is not None:
        # Updating a policy names the version it replaces.
        policy_url += f"?if_seq_no={current['_seq_no']}&if_primary_term={current['_primary_term']}"
    signed_request(credentials, region, "PUT", policy_url, json.dumps(wanted).encode(), json_headers)
    if current is None:
        return [described]
    # Indices keep the policy version they started with until they are moved; those already
    # being deleted are left alone.
    moved = signed_request(credentials, region, "POST", f"{ism}/change_policy/{index_name}-*",
                           json.dumps({"policy_id": policy_id, "include": [{"state": "hot"}]}).encode(),
                           json_headers)
    return [f"{described}; {moved.get('updated_indices', 0)} existing indices moved to it"]


# Mapping types as Dashboards' index patterns name them.
FIELD_TYPES = {
    "keyword": "string", "text": "string", "long": "number", "integer": "number", "short": "number",
    "byte": "number", "double": "number", "float": "number", "half_float": "number", "scaled_float": "number",
    "date": "date", "date_nanos": "date", "boolean": "boolean", "ip": "ip", "geo_point": "geo_point",
}
# The fields every index has, as Dashboards lists them.
META_FIELDS = [
    {"name": "_id", "type": "string", "esTypes": ["_id"], "searchable": True, "aggregatable": True},
    {"name": "_index", "type": "string", "esTypes": ["_index"], "searchable": True, "aggregatable": True},
    {"name": "_score", "type": "number", "searchable": False, "aggregatable": False},
    {"name": "_source", "type": "_source", "esTypes": ["_source"], "searchable": False, "aggregatable": False},
]


def index_pattern_fields(labels=()):
    """The index pattern's field list, from the index template's mapping: an index pattern saved
    with its fields needs no refresh, which viewers may not save ("error saving fields"), and its
    dashboards work before the first index exists."""
    mapping = template_mapping(labels)["template"]["mappings"]["properties"]
    fields = []

    def field(name, spec, parent=None):
        aggregatable = spec["type"] != "text" and spec.get("doc_values", True)
        entry = {"name": name, "type": FIELD_TYPES[spec["type"]], "esTypes": [spec["type"]], "count": 0,
                 "scripted": False, "searchable": spec.get("index", True), "aggregatable": aggregatable,
                 "readFromDocValues": aggregatable}
        if parent:
            entry["subType"] = {"multi": {"parent": parent}}
        fields.append(entry)

    def walk(properties, prefix):
        for key, spec in properties.items():
            name = prefix + key
            if "properties" in spec:
                walk(spec["properties"], name + ".")
                continue
            field(name, spec)
            for sub, sub_spec in spec.get("fields", {}).items():
                field(f"{name}.{sub}", sub_spec, parent=name)

    walk(mapping, "")
    meta = [{"count": 0, "scripted": False, "readFromDocValues": False, **entry} for entry in META_FIELDS]
    return sorted(meta + fields, key=lambda entry: entry["name"])


def saved_objects(index_name, labels=()):
    """dashboards.ndjson with its index pattern on the stack's indices, and its fields."""
    lines = []
    with open(os.path.join(HERE, "dashboards.ndjson"), encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            saved = json.loads(line)
            if saved.get("type") == "index-pattern":
                saved["attributes"]["title"] = f"{index_name}*"
                saved["attributes"]["fields"] = json.dumps(index_pattern_fields(labels), separators=(",", ":"))
            lines.append(json.dumps(saved, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


def sign_in(session, outputs, username, password, ask):
    """The Cognito ID token of a Dashboards user (answering an MFA challenge with `ask`). The token
    names the role of the user's group (cognito:preferred_role), which the identity pool gives.

    The password never leaves this machine: Cognito's SRP flow (USER_SRP_AUTH) proves it with a
    signature over the server's challenge, the only flow the setup client admits."""
    # Imported here: the setup function (setup_resource.py) imports this module and signs in no one.
    from pycognito.aws_srp import AWSSRP  # noqa: PLC0415

    idp = session.client("cognito-idp")
    client_id = outputs["SetupClientId"]
    srp = AWSSRP(username=username, password=password, pool_id=outputs["UserPoolId"], client_id=client_id,
                 client=idp)
    auth_parameters = srp.get_auth_params()
    answer = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=auth_parameters)
    if answer.get("ChallengeName") == "PASSWORD_VERIFIER":
        answer = idp.respond_to_auth_challenge(
            ClientId=client_id,
            ChallengeName="PASSWORD_VERIFIER",
            ChallengeResponses=srp.process_challenge(answer["ChallengeParameters"], auth_parameters),
            **({"Session": answer["Session"]} if answer.get("Session") else {}),
        )
    challenge = answer.get("ChallengeName")
    if challenge == "NEW_PASSWORD_REQUIRED":
        raise SetupError(
            f"{username} still has the temporary password: sign in to Dashboards once to choose one, then run this again"
        )
    if challenge == "MFA_SETUP":
        raise SetupError(
            f"{username} has no authenticator app yet and the user pool requires one: sign in to Dashboards once "
            "to set it up, then run this again"
        )
    if challenge == "SOFTWARE_TOKEN_MFA":
        answer = idp.respond_to_auth_challenge(
            ClientId=client_id,
            ChallengeName=challenge,
            Session=answer["Session"],
            ChallengeResponses={"USERNAME": answer.get("ChallengeParameters", {}).get("USERNAME", username),
                                "SOFTWARE_TOKEN_MFA_CODE": ask("MFA code: ")},
        )
    elif challenge:
        raise SetupError(f"Cognito asks for {challenge}, which this script does not answer; use Dashboards")
    return answer["AuthenticationResult"]["IdToken"]


def identity_pool_credentials(session, outputs, id_token):
    """The identity pool's answer for this user: AccessKeyId, SecretKey, SessionToken and
    Expiration of the role it gives the user's group."""
    identity = session.client("cognito-identity")
    provider = f"cognito-idp.{session.region_name}.amazonaws.com/{outputs['UserPoolId']}"
    logins = {provider: id_token}
    identity_id = identity.get_id(IdentityPoolId=outputs["IdentityPoolId"], Logins=logins)["IdentityId"]
    return identity.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)["Credentials"]


def dashboards_user_credentials(session, outputs, id_token):
    """Temporary AWS credentials of the role the identity pool gives this user (by its group)."""
    found = identity_pool_credentials(session, outputs, id_token)
    return Credentials(found["AccessKeyId"], found["SecretKey"], found["SessionToken"])


def signed_request(credentials, region, method, url, body, headers, missing_ok=False):
    """The JSON answer; None for a 404 when missing_ok."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(credentials, "es", region).add_auth(request)
    prepared = urllib.request.Request(url, data=body, method=method, headers=dict(request.headers.items()))
    try:
        with urllib.request.urlopen(prepared, timeout=60) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        if missing_ok and error.code == 404:
            return None
        detail = error.read().decode("utf-8", "replace")[:500]
        raise SetupError(f"{method} {url}: HTTP {error.code}: {detail}", error.code) from None
    except (urllib.error.URLError, OSError) as error:
        raise SetupError(f"{method} {url}: {error}") from None


def multipart_file(field, filename, content):
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        f"Content-Type: application/ndjson\r\n\r\n"
    ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def apply(base_url, credentials, region, parameters, principals):
    """Sends the security roles, the index template, the retention policy and the saved objects;
    returns what was done. Security comes first: Firehose may write only once its role is mapped."""
    index_name = parameters["IndexName"]
    json_headers = {"Content-Type": "application/json"}
    done = apply_security(base_url, credentials, region, index_name, principals)
    shards, replicas = parameters["IndexShards"], parameters["IndexReplicas"]
    labels = label_names(parameters.get("AddFields"))
    signed_request(credentials, region, "PUT", f"{base_url}/_index_template/{index_name}",
                   index_template(index_name, shards, replicas, labels), json_headers)
    done.append(f"index template {index_name} for {' and '.join(index_patterns(index_name))} "
                f"({shards} shard(s), replicas {replicas}"
                + "".join(f", label {label}" for label in labels) + ")")

    done += apply_retention(base_url, credentials, region, parameters)

    body, content_type = multipart_file("file", "dashboards.ndjson", saved_objects(index_name, labels))
    imported = signed_request(
        credentials, region, "POST", f"{base_url}/_dashboards/api/saved_objects/_import?overwrite=true", body,
        # The global tenant, which every user sees (viewers read it only).
        {"Content-Type": content_type, "osd-xsrf": "true", "securitytenant": "global"},
    )
    if not imported.get("success"):
        raise SetupError(f"the saved objects were not imported: {json.dumps(imported)[:500]}", 200)
    done.append(f"{imported['successCount']} saved objects imported (index pattern {index_name}*)")
    return done


def main(argv, environ, ask_secret=getpass.getpass):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack-name", default="weblogs", help="the deployed infra/template.yaml stack")
    parser.add_argument("--region", help="the stack's region (default: the AWS CLI's)")
    parser.add_argument("--username", help="Dashboards administrator (default: asked for)")
    parser.add_argument("--endpoint-url", help=argparse.SUPPRESS)  # tests: a local stand-in domain
    args = parser.parse_args(argv)
    username = args.username
    try:
        session = boto3.session.Session(region_name=args.region)
        if not session.region_name:
            raise SetupError("no region: pass --region or set AWS_DEFAULT_REGION")
        outputs, parameters = stack_outputs(session, args.stack_name)
        username = username or input("Dashboards administrator (e-mail): ").strip()
        password = environ.get("DASHBOARDS_PASSWORD") or ask_secret(f"password of {username}: ")
        id_token = sign_in(session, outputs, username, password, ask_secret)
        credentials = dashboards_user_credentials(session, outputs, id_token)
        base_url = args.endpoint_url or f"https://{outputs['OpenSearchDomainEndpoint']}"
        done = apply(base_url, credentials, session.region_name, parameters, principals_from(outputs))
    except (SetupError, ClientError, BotoCoreError) as error:
        print(f"apply.py: {error}", file=sys.stderr)
        if getattr(error, "status", None) == 403:
            print(f"apply.py: only the stack's administrators may set up the domain: is {username} in the "
                  "Cognito group admins?", file=sys.stderr)
        return 1
    for line in done:
        print(line)
    print(f"open https://{outputs['OpenSearchDomainEndpoint']}/_dashboards/ and choose the dashboard 'Web traffic'")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
