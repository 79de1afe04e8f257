"""apply.py end to end against a real moto server (CloudFormation outputs, Cognito user pool and
identity pool: the AWS protocols boto3 speaks) and FakeOpenSearch, a stand-in for the domain's two
endpoints (no OpenSearch can run here) that records what it is sent.

moto comes from .venv (`make test-tools`); it is started on 127.0.0.1 and stopped by process id.
"""
import fnmatch
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.error
import urllib.request
from contextlib import redirect_stderr, redirect_stdout

import boto3

import apply
import credentials
from local_aws import MotoServer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
REGION = "eu-west-1"
USER = "admin@example.com"
PASSWORD = "Correct-Horse-Battery-9"
ACCOUNT = "arn:aws:iam::123456789012:role"
PRINCIPALS = {
    "admin": f"{ACCOUNT}/weblogs-DashboardsAdminRole-A1",
    "viewer": f"{ACCOUNT}/weblogs-DashboardsViewerRole-V1",
    "writer": f"{ACCOUNT}/weblogs-DeliveryRole-D1",
    "setup": f"{ACCOUNT}/weblogs-OpenSearchSetupRole-S1",
}
# The enriching functions' roles, in the stack that delivers directly (Delivery=OpenSearch).
DIRECT_WRITERS = [f"{ACCOUNT}/direct-KinesisEnricherRole-K1", f"{ACCOUNT}/direct-ArchiveEnricherRole-A1"]
# The requests of one complete setup of IndexName=weblogs, in order.
SECURITY_REQUESTS = [
    ("PUT", "/_plugins/_security/api/roles/weblogs_viewer"),
    ("PUT", "/_plugins/_security/api/roles/weblogs_writer"),
    ("PUT", "/_plugins/_security/api/roles/weblogs_direct_writer"),
    ("PUT", "/_plugins/_security/api/rolesmapping/weblogs_viewer"),
    ("PUT", "/_plugins/_security/api/rolesmapping/weblogs_writer"),
    ("PUT", "/_plugins/_security/api/rolesmapping/weblogs_direct_writer"),
    ("GET", "/_plugins/_security/api/rolesmapping/all_access"),
    ("PUT", "/_plugins/_security/api/rolesmapping/all_access"),
    ("GET", "/_plugins/_security/api/rolesmapping/security_manager"),
    ("PUT", "/_plugins/_security/api/rolesmapping/security_manager"),
    ("GET", "/_plugins/_security/api/rolesmapping/opensearch_dashboards_read_only"),
    ("PUT", "/_plugins/_security/api/rolesmapping/opensearch_dashboards_read_only"),
    ("GET", "/_plugins/_security/api/audit"),
    ("PUT", "/_plugins/_security/api/audit/config"),
]
ALL_REQUESTS = SECURITY_REQUESTS + [
    ("PUT", "/_index_template/weblogs"),
    ("GET", "/_plugins/_ism/policies/weblogs-retention"),
    ("PUT", "/_plugins/_ism/policies/weblogs-retention"),
    ("POST", "/_dashboards/api/saved_objects/_import?overwrite=true"),
]


# What the security plugin of an OpenSearch Service domain marks read-only in the audit configuration.
AUDIT_READ_ONLY = ["/audit/exclude_sensitive_headers", "/compliance/internal_config", "/compliance/external_config"]
# The audit configuration of a new domain, as GET _plugins/_security/api/audit answers it.
NEW_DOMAIN_AUDIT = {
    "enabled": True,
    "audit": {
        "ignore_users": [], "ignore_requests": [], "resolve_bulk_requests": False, "log_request_body": False,
        "resolve_indices": True, "exclude_sensitive_headers": True, "enable_transport": False,
        "disabled_transport_categories": ["AUTHENTICATED", "GRANTED_PRIVILEGES"],
        "enable_rest": True, "disabled_rest_categories": ["AUTHENTICATED", "GRANTED_PRIVILEGES"],
    },
    "compliance": {
        "enabled": True, "internal_config": True, "external_config": False, "read_metadata_only": True,
        "read_watched_fields": {}, "read_ignore_users": [], "write_metadata_only": True, "write_log_diffs": False,
        "write_watched_indices": [], "write_ignore_users": [],
    },
}
# Roles every domain with fine-grained access control has.
BUILT_IN_ROLES = {"all_access", "security_manager", "opensearch_dashboards_read_only", "readall", "kibana_user"}



def opensearch_pattern_matches(pattern, index):
    """An index pattern of an OpenSearch security role as the security plugin reads it: /regex/
    (the whole name), else * and ? as wildcards."""
    if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
        return re.fullmatch(pattern[1:-1], index) is not None
    return fnmatch.fnmatchcase(index, pattern)

class FakeOpenSearch(http.server.ThreadingHTTPServer):
    """Answers the requests apply.py sends as an OpenSearch Service domain does, as strictly as the
    review of OpenSearch 2.x's security plugin, ISM and Dashboards found them: security roles (201
    when created, 200 when replaced), role mappings (404 for a role that does not exist; a new
    domain maps its master user to all_access and security_manager), the audit configuration (GET
    names the read-only fields, a PUT that changes one is refused), index templates, ISM policies
    (a second PUT needs the current if_seq_no and if_primary_term, else 409; GET adds ISM's own
    fields), moving managed indices to a policy's new version and taking a policy off an index,
    the saved-objects import (only with `osd-xsrf` and an `.ndjson` file; references to objects
    that are neither in the file nor saved are errors), and `_bulk` (every item created). Records
    every request. With `refuse_security`, the security API answers 403, as it does to anyone but
    an administrator. `indices` maps an index name to the policy that manages it and its state."""

    def __init__(self, import_succeeds=True, policies=None, unavailable_first=0, mappings=None,
                 refuse_security=False, audit=None, indices=None):
        self.requests = []
        self.import_succeeds = import_succeeds
        # A domain that has just been created: the first requests get 503.
        self.unavailable = unavailable_first
        self.refuse_security = refuse_security
        self.templates = {}
        # policy id -> (seq_no, primary_term, body)
        self.policies = dict(policies or {})
        self.roles = {}
        master = {"backend_roles": [PRINCIPALS["setup"]], "hosts": [], "users": [], "reserved": False, "hidden": False}
        self.mappings = {"all_access": dict(master), "security_manager": dict(master), **(mappings or {})}
        self.audit_config = json.loads(json.dumps(audit or NEW_DOMAIN_AUDIT))
        self.audit = None
        self.indices = {name: dict(state) for name, state in (indices or {}).items()}
        self.bulk_actions = []
        super().__init__(("127.0.0.1", 0), FakeOpenSearchHandler)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def changes(self):
        """The requests that change something (every one but GET)."""
        return [(method, path) for method, path, _, _ in self.requests if method != "GET"]


def read_only_value(config, pointer):
    for key in pointer.strip("/").split("/"):
        config = (config or {}).get(key)
    return config


def policy_as_ism_answers(policy_id, seq_no, primary_term, body):
    """GET _plugins/_ism/policies/<id>: the policy with the fields ISM adds to it."""
    policy = json.loads(body)["policy"]
    policy.update(policy_id=policy_id, last_updated_time=1795239468000, schema_version=21, error_notification=None)
    for state in policy["states"]:
        for action in state["actions"]:
            action.setdefault("retry", {"count": 3, "backoff": "exponential", "delay": "1m"})
    for template in policy.get("ism_template") or []:
        template.setdefault("last_updated_time", 1795239468000)
    return {"_id": policy_id, "_version": seq_no + 1, "_seq_no": seq_no, "_primary_term": primary_term,
            "policy": policy}


def index_matches(pattern, name):
    return name.startswith(pattern[:-1]) if pattern.endswith("*") else name == pattern


class FakeOpenSearchHandler(http.server.BaseHTTPRequestHandler):
    def handle_one(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.requests.append((self.command, self.path, headers, body))
        path, _, query = self.path.partition("?")
        query = dict(part.split("=", 1) for part in query.split("&") if part)
        server = self.server
        policies = server.policies
        status, answer = 404, {"error": "not found"}
        if server.unavailable > 0:
            server.unavailable -= 1
            status, answer = 503, {"message": "OpenSearch Dashboards server is not ready yet"}
        elif path.startswith("/_plugins/_security/") and server.refuse_security:
            status, answer = 403, {"status": "FORBIDDEN", "message": "No permission to access REST API"}
        elif self.command == "PUT" and path.startswith("/_plugins/_security/api/roles/"):
            role = path.rsplit("/", 1)[1]
            status, answer = (200, {"status": "OK"}) if role in server.roles else (201, {"status": "CREATED"})
            server.roles[role] = json.loads(body)
        elif path.startswith("/_plugins/_security/api/rolesmapping/"):
            role = path.rsplit("/", 1)[1]
            if self.command == "GET" and role in server.mappings:
                status, answer = 200, {role: server.mappings[role]}
            elif self.command == "PUT" and role not in server.roles and role not in BUILT_IN_ROLES:
                status, answer = 404, {"status": "NOT_FOUND", "message": f"Role '{role}' is not available for role-mapping."}
            elif self.command == "PUT":
                sent = json.loads(body)
                if {"reserved", "hidden", "static"} & set(sent):
                    status, answer = 400, {"status": "error", "reason": "Invalid configuration", "invalid_keys": sorted(sent)}
                else:
                    status, answer = (200, {"status": "OK"}) if role in server.mappings else (201, {"status": "CREATED"})
                    server.mappings[role] = {**sent, "reserved": False, "hidden": False}
        elif self.command == "GET" and path == "/_plugins/_security/api/audit":
            status, answer = 200, {"_readonly": AUDIT_READ_ONLY, "config": server.audit_config}
        elif self.command == "PUT" and path == "/_plugins/_security/api/audit/config":
            sent = json.loads(body)
            changed = [p for p in AUDIT_READ_ONLY if read_only_value(sent, p) != read_only_value(server.audit_config, p)]
            if changed:
                status, answer = 409, {"status": "CONFLICT", "message": f"Read-only fields changed: {changed}"}
            else:
                server.audit = server.audit_config = sent
                status, answer = 200, {"status": "OK", "message": "'config' updated."}
        elif self.command == "PUT" and path.startswith("/_index_template/"):
            server.templates[path.rsplit("/", 1)[1]] = json.loads(body)
            status, answer = 200, {"acknowledged": True}
        elif path.startswith("/_plugins/_ism/policies/"):
            policy_id = path.rsplit("/", 1)[1]
            current = policies.get(policy_id)
            if self.command == "GET" and current:
                status, answer = 200, policy_as_ism_answers(policy_id, *current)
            elif self.command == "PUT":
                if current and (query.get("if_seq_no"), query.get("if_primary_term")) != (str(current[0]), str(current[1])):
                    status, answer = 409, {"error": "version_conflict_engine_exception"}
                else:
                    seq_no = current[0] + 1 if current else 0
                    policies[policy_id] = (seq_no, 1, body)
                    status = 200 if current else 201
                    answer = {"_id": policy_id, "_seq_no": seq_no, "_primary_term": 1}
        elif self.command == "POST" and path.startswith("/_plugins/_ism/change_policy/"):
            pattern, wanted = path.rsplit("/", 1)[1], json.loads(body)
            states = {item["state"] for item in wanted.get("include", [])}
            moved = [name for name, index in server.indices.items()
                     if index_matches(pattern, name) and index.get("policy_id")
                     and (not states or index.get("state") in states)]
            for name in moved:
                server.indices[name]["policy_id"] = wanted["policy_id"]
                server.indices[name]["policy_seq_no"] = policies[wanted["policy_id"]][0]
            status, answer = 200, {"updated_indices": len(moved), "failures": False, "failed_indices": []}
        elif self.command == "POST" and path.startswith("/_plugins/_ism/remove/"):
            name = path.rsplit("/", 1)[1]
            if name not in server.indices:
                status, answer = 404, {"error": {"type": "index_not_found_exception"}, "status": 404}
            elif server.indices[name].get("policy_id"):
                server.indices[name]["policy_id"] = None
                status, answer = 200, {"updated_indices": 1, "failures": False, "failed_indices": []}
            else:
                status, answer = 200, {"updated_indices": 0, "failures": True, "failed_indices": [
                    {"index_name": name, "reason": "This index does not have a policy to remove"}]}
        elif self.command == "POST" and path == "/_bulk":
            actions = [json.loads(line) for line in body.splitlines()[::2] if line]
            server.bulk_actions.extend(actions)
            status, answer = 200, {"took": 1, "errors": False,
                                   "items": [{"index": {"status": 201}} for _ in actions]}
        elif self.command == "POST" and self.path == "/_dashboards/api/saved_objects/_import?overwrite=true":
            status, answer = self.saved_objects_import(headers, body)
        data = json.dumps(answer, separators=(",", ":")).encode()  # compact, as OpenSearch answers
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def saved_objects_import(self, headers, body):
        if headers.get("osd-xsrf") != "true":
            return 400, {"statusCode": 400, "error": "Bad Request", "message": "Request must contain a osd-xsrf header."}
        filename = re.search(rb'filename="([^"]*)"', body)
        if not filename or not filename.group(1).endswith(b".ndjson"):
            return 415, {"statusCode": 415, "error": "Unsupported Media Type",
                         "message": "Invalid file extension .json, only .ndjson is accepted"}
        objects = [json.loads(line) for line in body.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n--", 1)[0].splitlines()
                   if line.strip()]
        present = {(saved["type"], saved["id"]) for saved in objects}
        errors = [{"id": saved["id"], "type": saved["type"],
                   "error": {"type": "missing_references", "references": missing}}
                  for saved in objects
                  for missing in [[{"type": r["type"], "id": r["id"]} for r in saved.get("references", [])
                                   if (r["type"], r["id"]) not in present]] if missing]
        if errors or not self.server.import_succeeds:
            return 200, {"success": False, "successCount": len(objects) - len(errors),
                         "errors": errors or [{"id": "x", "type": "dashboard", "error": {"type": "unknown"}}]}
        return 200, {"success": True, "successCount": len(objects)}

    do_GET = do_PUT = do_POST = handle_one

    def log_message(self, *args):
        pass


class ApplyAgainstMoto(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = MotoServer()
        cls.saved_env = dict(os.environ)
        os.environ.update(
            AWS_ENDPOINT_URL=cls.moto.url,
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_REGION=REGION,
            AWS_DEFAULT_REGION=REGION,
        )
        os.environ.pop("AWS_PROFILE", None)
        cls.deploy_stack()

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()
        os.environ.clear()
        os.environ.update(cls.saved_env)

    @classmethod
    def deploy_stack(cls):
        """What infra/template.yaml leaves behind, as far as apply.py is concerned."""
        idp = boto3.client("cognito-idp", region_name=REGION)
        pool = idp.create_user_pool(PoolName="weblogs-dashboards", UsernameAttributes=["email"])["UserPool"]
        client = idp.create_user_pool_client(
            UserPoolId=pool["Id"], ClientName="opensearch-setup", ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH"]
        )["UserPoolClient"]
        for user, permanent in ((USER, True), ("new@example.com", False)):
            idp.admin_create_user(UserPoolId=pool["Id"], Username=user, TemporaryPassword=PASSWORD)
            if permanent:
                idp.admin_set_user_password(UserPoolId=pool["Id"], Username=user, Password=PASSWORD, Permanent=True)
        identity_pool = boto3.client("cognito-identity", region_name=REGION).create_identity_pool(
            IdentityPoolName="weblogs",
            AllowUnauthenticatedIdentities=False,
            CognitoIdentityProviders=[
                {"ProviderName": f"cognito-idp.{REGION}.amazonaws.com/{pool['Id']}", "ClientId": client["ClientId"]}
            ],
        )
        outputs = {
            "OpenSearchDomainEndpoint": "search-weblogs-abc.eu-west-1.es.amazonaws.com",
            "UserPoolId": pool["Id"],
            "SetupClientId": client["ClientId"],
            "IdentityPoolId": identity_pool["IdentityPoolId"],
            **{output: PRINCIPALS[who] for who, output in apply.PRINCIPAL_OUTPUTS.items()},
        }
        template = {
            "Parameters": {name: {"Type": "String", "Default": default}
                           for name, default in apply.DEFAULT_PARAMETERS.items()},
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(StackName="weblogs", TemplateBody=json.dumps(template))
        # The same domain set up for another index name that never rotates, kept 7 days.
        cloudformation.create_stack(
            StackName="access-logs", TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": "IndexName", "ParameterValue": "access"},
                        {"ParameterKey": "IndexRotation", "ParameterValue": "NoRotation"}],
        )
        cloudformation.create_stack(
            StackName="three-nodes", TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": "IndexShards", "ParameterValue": "3"},
                        {"ParameterKey": "IndexReplicas", "ParameterValue": "1"}],
        )
        cloudformation.create_stack(
            StackName="weekly", TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": "IndexRotation", "ParameterValue": "OneWeek"},
                        {"ParameterKey": "RetentionDays", "ParameterValue": "7"}],
        )
        cloudformation.create_stack(
            StackName="weekly-short", TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": "IndexRotation", "ParameterValue": "OneWeek"},
                        {"ParameterKey": "RetentionDays", "ParameterValue": "3"}],
        )
        # A stack whose kinesis-enricher writes to the domain itself (Delivery=OpenSearch).
        direct = dict(template, Outputs={**template["Outputs"],
                                         apply.DIRECT_WRITERS_OUTPUT: {"Value": ",".join(DIRECT_WRITERS)}})
        cloudformation.create_stack(StackName="direct", TemplateBody=json.dumps(direct))
        # The weblogs stack after an update from daily rotation to one index.
        cloudformation.create_stack(
            StackName="no-longer-rotating", TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": "IndexRotation", "ParameterValue": "NoRotation"}],
        )

    def run_apply(self, fake, username=USER, password=PASSWORD, stack="weblogs"):
        server = threading.Thread(target=fake.serve_forever, daemon=True)
        server.start()
        out, err = io.StringIO(), io.StringIO()
        try:
            with redirect_stdout(out), redirect_stderr(err):
                code = apply.main(
                    ["--stack-name", stack, "--username", username, "--endpoint-url", fake.url],
                    {"DASHBOARDS_PASSWORD": password},
                    ask_secret=lambda prompt: self.fail(f"unexpected prompt: {prompt}"),
                )
        finally:
            fake.shutdown()
            fake.server_close()
        return code, out.getvalue(), err.getvalue()

    def test_sets_up_template_retention_and_saved_objects_signed_as_the_dashboards_user(self):
        fake = FakeOpenSearch()
        code, out, err = self.run_apply(fake)
        self.assertEqual(code, 0, err)
        with open(os.path.join(HERE, "dashboards.ndjson")) as f:
            objects = [json.loads(line) for line in f if line.strip()]
        self.assertIn(f"{len(objects)} saved objects imported (index pattern weblogs*)", out)
        self.assertEqual([(method, path) for method, path, _, _ in fake.requests], ALL_REQUESTS)
        with open(os.path.join(HERE, "index-template.json")) as f:
            expected = json.load(f)
        expected["index_patterns"] = ["weblogs", "weblogs-*"]
        self.assertEqual(fake.templates["weblogs"], expected, "the template file, on every index Firehose writes")
        policy = json.loads(fake.policies["weblogs-retention"][2])["policy"]
        # A daily index takes documents for a day: deleted 31 days after its creation, 30 after its last.
        self.assertEqual(policy["states"][0]["transitions"],
                         [{"state_name": "delete", "conditions": {"min_index_age": "31d"}}])
        self.assertEqual(policy["states"][1]["actions"], [{"delete": {}}])
        # The rotated indices only: never the bare name, which NoRotation writes.
        self.assertEqual(policy["ism_template"], [{"index_patterns": ["weblogs-*"], "priority": 100}])
        post = fake.requests[-1]
        for saved in objects:
            if saved["type"] == "index-pattern":
                saved["attributes"]["title"] = "weblogs*"
                saved["attributes"]["fields"] = json.dumps(apply.index_pattern_fields(), separators=(",", ":"))
            self.assertIn(json.dumps(saved, separators=(",", ":")).encode(), post[3])
        self.assertEqual(post[2]["osd-xsrf"], "true")
        self.assertEqual(post[2]["securitytenant"], "global", "the tenant every user sees")
        self.assertTrue(post[2]["content-type"].startswith("multipart/form-data; boundary="))
        for method, path, headers, _ in fake.requests:
            authorization = headers["authorization"]
            self.assertTrue(authorization.startswith("AWS4-HMAC-SHA256 Credential="), authorization)
            self.assertIn(f"/{REGION}/es/aws4_request", authorization)
            # The identity pool's temporary credentials, not the caller's own keys.
            self.assertNotIn("Credential=test/", authorization)
            self.assertIn("x-amz-security-token", headers, f"{method} {path}")

    def test_the_documented_backfill_signs_its_bulk_requests_as_the_administrator(self):
        """docs/enrich-logs.md's backfill block, run as written but for where it sends and reads."""
        enrich_logs = os.path.join(REPO, "target", "debug", "enrich-logs")
        self.assertTrue(os.path.exists(enrich_logs), "enrich-logs is not built: cargo test (make test) builds it")
        with open(os.path.join(REPO, "docs", "enrich-logs.md"), encoding="utf-8") as f:
            blocks = re.findall(r"```sh\n(.*?)```", f.read(), re.S)
        script = next(block for block in blocks if "admin-credentials" in block)
        fake = FakeOpenSearch()
        server = threading.Thread(target=fake.serve_forever, daemon=True)
        server.start()
        work = tempfile.mkdtemp(prefix="backfill-")
        try:
            for written, local in (
                ("make -s admin-credentials STACK=weblogs",
                 f"{sys.executable} {os.path.join(HERE, 'credentials.py')} --stack-name weblogs --username {USER}"),
                ("./target/release/enrich-logs", f"{enrich_logs} --no-geoip"),
                ("/var/log/apache2/access.log.1", os.path.join(REPO, "tests", "data", "sample.log")),
                ("https://$DOMAIN_ENDPOINT", fake.url),
                ("split -l 10000", "split -l 40"),
            ):
                self.assertIn(written, script)
                script = script.replace(written, local)
            result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, capture_output=True,
                                    text=True, timeout=120, env={**os.environ, "DASHBOARDS_PASSWORD": PASSWORD},
                                    stdin=subprocess.DEVNULL)
        finally:
            fake.shutdown()
            fake.server_close()
            shutil.rmtree(work, ignore_errors=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertNotIn("not all indexed", result.stdout + result.stderr)
        with open(os.path.join(REPO, "tests", "data", "sample.log"), "rb") as f:
            lines = f.read().splitlines()
        bulk = [request for request in fake.requests if request[1] == "/_bulk"]
        self.assertEqual(len(bulk), (len(lines) + 19) // 20, "one request per part of 20 documents")
        self.assertEqual(len(fake.bulk_actions), len(lines))
        self.assertEqual(len({action["index"]["_id"] for action in fake.bulk_actions}), len(lines))
        for _, _, headers, _ in bulk:
            authorization = headers["authorization"]
            self.assertTrue(authorization.startswith("AWS4-HMAC-SHA256 Credential="), authorization)
            self.assertIn(f"/{REGION}/es/aws4_request", authorization)
            # The identity pool's credentials for the administrator, not the caller's own keys.
            self.assertNotIn("Credential=test/", authorization)
            self.assertIn("x-amz-security-token", headers)

    def test_credentials_are_the_identity_pools_for_the_user_as_export_lines(self):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = credentials.main(["--stack-name", "weblogs", "--username", USER], {"DASHBOARDS_PASSWORD": PASSWORD},
                                    ask_secret=lambda prompt: self.fail(f"unexpected prompt: {prompt}"))
        self.assertEqual(code, 0, err.getvalue())
        exports = dict(re.findall(r"^export (\w+)=(\S+)$", out.getvalue(), re.M))
        self.assertEqual(sorted(exports), ["AWS_ACCESS_KEY_ID", "AWS_REGION", "AWS_SECRET_ACCESS_KEY",
                                           "AWS_SESSION_TOKEN", "DOMAIN_ENDPOINT"])
        self.assertNotEqual(exports["AWS_ACCESS_KEY_ID"], "test")
        self.assertEqual(exports["DOMAIN_ENDPOINT"], "search-weblogs-abc.eu-west-1.es.amazonaws.com")
        # A refused sign-in is reported. (moto does not check SRP's password proof, so a disabled
        # user stands for any refusal here.)
        idp = boto3.client("cognito-idp", region_name=REGION)
        pool_id = apply.stack_outputs(boto3.session.Session(), "weblogs")[0]["UserPoolId"]
        idp.admin_create_user(UserPoolId=pool_id, Username="gone@example.com", TemporaryPassword=PASSWORD)
        idp.admin_set_user_password(UserPoolId=pool_id, Username="gone@example.com", Password=PASSWORD, Permanent=True)
        idp.admin_disable_user(UserPoolId=pool_id, Username="gone@example.com")
        with redirect_stdout(io.StringIO()), redirect_stderr(err):
            code = credentials.main(["--stack-name", "weblogs", "--username", "gone@example.com"],
                                    {"DASHBOARDS_PASSWORD": PASSWORD},
                                    ask_secret=lambda prompt: self.fail(f"unexpected prompt: {prompt}"))
        self.assertEqual(code, 1)
        self.assertIn("credentials.py: An error occurred (NotAuthorizedException)", err.getvalue())

    def test_sign_in_proves_the_password_without_sending_it(self):
        """Cognito's SRP flow, the only one the setup client admits: the password is in no request."""
        session = boto3.session.Session()
        sent = []
        session.events.register("before-send.cognito-identity-provider",
                                lambda request, **_: sent.append(request.body.decode()))
        outputs, _ = apply.stack_outputs(session, "weblogs")
        token = apply.sign_in(session, outputs, USER, PASSWORD, lambda prompt: self.fail(f"unexpected prompt: {prompt}"))
        self.assertEqual(len(token.split(".")), 3, "a JWT")
        targets = [json.loads(body) for body in sent]
        self.assertEqual([t.get("AuthFlow") or t.get("ChallengeName") for t in targets],
                         ["USER_SRP_AUTH", "PASSWORD_VERIFIER"])
        self.assertIn("SRP_A", targets[0]["AuthParameters"])
        self.assertIn("PASSWORD_CLAIM_SIGNATURE", targets[1]["ChallengeResponses"])
        for body in sent:
            self.assertNotIn(PASSWORD, body)

    def test_a_user_without_an_authenticator_app_is_sent_to_dashboards_to_set_one_up(self):
        """UserMfa=ON: a user who has not set up an authenticator app gets MFA_SETUP, which only
        Dashboards' sign-in page answers."""
        idp = boto3.client("cognito-idp", region_name=REGION)
        pool = idp.create_user_pool(PoolName="mfa-required", UsernameAttributes=["email"])["UserPool"]
        idp.set_user_pool_mfa_config(UserPoolId=pool["Id"], MfaConfiguration="ON",
                                     SoftwareTokenMfaConfiguration={"Enabled": True})
        client = idp.create_user_pool_client(UserPoolId=pool["Id"], ClientName="opensearch-setup",
                                             ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH"])["UserPoolClient"]
        idp.admin_create_user(UserPoolId=pool["Id"], Username=USER, TemporaryPassword=PASSWORD)
        idp.admin_set_user_password(UserPoolId=pool["Id"], Username=USER, Password=PASSWORD, Permanent=True)
        outputs = {"UserPoolId": pool["Id"], "SetupClientId": client["ClientId"]}
        with self.assertRaises(apply.SetupError) as raised:
            apply.sign_in(boto3.session.Session(), outputs, USER, PASSWORD, lambda prompt: self.fail(prompt))
        self.assertEqual(str(raised.exception), f"{USER} has no authenticator app yet and the user pool requires "
                                                "one: sign in to Dashboards once to set it up, then run this again")

    def test_a_stack_that_delivers_directly_lets_kinesis_enricher_create_documents_and_nothing_else(self):
        fake = FakeOpenSearch()
        code, out, err = self.run_apply(fake, stack="direct")
        self.assertEqual(code, 0, err)
        self.assertIn("weblogs_direct_writer (2 function roles)", out)
        direct = fake.roles["weblogs_direct_writer"]
        self.assertEqual(direct["cluster_permissions"], ["indices:data/write/bulk"])
        self.assertEqual(direct["index_permissions"], [
            {"index_patterns": ["weblogs", "weblogs-*"],
             "allowed_actions": ["indices:admin/auto_create", "indices:admin/create", "indices:data/write/bulk*",
                                 "indices:data/write/index"]},
        ])
        granted = json.dumps(direct)
        for forbidden in ("delete", "manage", "crud", "write\"", "indices_all", "unlimited", '"*"', "mapping",
                          "create_index", '"index"', "update", "read", "monitor", "get"):
            self.assertNotIn(forbidden, granted)
        self.assertEqual(fake.mappings["weblogs_direct_writer"]["backend_roles"], DIRECT_WRITERS)
        self.assertEqual(fake.mappings["weblogs_writer"]["backend_roles"], [PRINCIPALS["writer"]])

    def test_security_gives_each_principal_its_part_and_no_more(self):
        fake = FakeOpenSearch()
        code, out, err = self.run_apply(fake)
        self.assertEqual(code, 0, err)
        self.assertIn("roles weblogs_viewer (viewers), weblogs_writer (Firehose) and weblogs_direct_writer "
                      "(no one (Delivery=Firehose))", out)
        viewer, writer = fake.roles["weblogs_viewer"], fake.roles["weblogs_writer"]
        # Viewers read the log indices and the dashboards, in the global tenant, read-only.
        self.assertEqual(viewer["cluster_permissions"], ["cluster_composite_ops_ro"])
        self.assertEqual(viewer["index_permissions"], [
            {"index_patterns": ["weblogs", "weblogs-*"], "allowed_actions": ["read"]},
            {"index_patterns": apply.DASHBOARDS_INDICES, "allowed_actions": ["read"]},
        ])
        self.assertEqual(viewer["tenant_permissions"],
                         [{"tenant_patterns": ["global_tenant"], "allowed_actions": ["kibana_all_read"]}])
        # The global tenant's saved objects, not another user's private tenant.
        def readable(index):
            return any(opensearch_pattern_matches(pattern, index) for pattern in apply.DASHBOARDS_INDICES)
        for index in (".kibana", ".kibana_1", ".kibana_2", ".opensearch_dashboards", ".opensearch_dashboards_1"):
            self.assertTrue(readable(index), index)
        for index in (".kibana_-152937574_admintenant", ".kibana_92668751_admin", ".kibana_1_alice",
                      ".opensearch_dashboards_-1_bob", ".kibana-event-log", ".plugins-ml-config"):
            self.assertFalse(readable(index), index)
        # Firehose creates the log indices, reads their mappings and stats and adds documents, as
        # AWS documents a delivery role; no delete, no mapping change, no admin.
        self.assertEqual(writer["cluster_permissions"], ["cluster_monitor", "indices:data/write/bulk"])
        self.assertEqual(writer["index_permissions"], [
            {"index_patterns": ["weblogs", "weblogs-*"],
             "allowed_actions": ["indices:admin/auto_create", "indices:admin/create", "indices:admin/mappings/get",
                                 "indices:data/write/bulk*", "indices:data/write/index", "indices_monitor"]},
        ])
        granted = json.dumps([viewer, writer])
        for forbidden in ("delete", "manage", "crud", "write\"", "indices_all", "unlimited", '"*"', "mapping/put",
                          "create_index", '"index"', "update"):
            self.assertNotIn(forbidden, granted)

        def backend_roles(role):
            return fake.mappings[role]["backend_roles"]

        self.assertEqual(backend_roles("weblogs_viewer"), [PRINCIPALS["viewer"]])
        self.assertEqual(backend_roles("weblogs_writer"), [PRINCIPALS["writer"]])
        self.assertEqual(backend_roles("weblogs_direct_writer"), [], "Firehose delivers: no one writes directly")
        self.assertEqual(backend_roles("opensearch_dashboards_read_only"), [PRINCIPALS["viewer"]])
        # The master user (the setup role) keeps its mappings; the administrators join it.
        for role in ("all_access", "security_manager"):
            self.assertEqual(backend_roles(role), [PRINCIPALS["setup"], PRINCIPALS["admin"]], role)
        mapped = {arn for mapping in fake.mappings.values() for arn in mapping["backend_roles"]}
        self.assertEqual(mapped, set(PRINCIPALS.values()))
        self.assertEqual(fake.audit["audit"]["disabled_rest_categories"], ["AUTHENTICATED", "GRANTED_PRIVILEGES"])
        self.assertTrue(fake.audit["enabled"] and fake.audit["audit"]["enable_rest"])
        self.assertTrue(fake.audit["compliance"]["internal_config"], "changes to the security setup are audited")

    def test_mappings_made_by_hand_stay_and_a_second_run_adds_nothing_twice(self):
        by_hand = f"{ACCOUNT}/security-team"
        first = FakeOpenSearch(mappings={"all_access": {"backend_roles": [PRINCIPALS["setup"], by_hand],
                                                        "hosts": [], "users": ["alice"]}})
        code, _, err = self.run_apply(first)
        self.assertEqual(code, 0, err)
        second = FakeOpenSearch(policies=first.policies, mappings=first.mappings)
        code, _, err = self.run_apply(second)
        self.assertEqual(code, 0, err)
        self.assertEqual(second.mappings["all_access"]["backend_roles"],
                         [PRINCIPALS["setup"], by_hand, PRINCIPALS["admin"]])
        self.assertEqual(second.mappings["all_access"]["users"], ["alice"])
        self.assertEqual(second.mappings["opensearch_dashboards_read_only"]["backend_roles"], [PRINCIPALS["viewer"]])

    def test_a_user_who_is_no_administrator_is_told_so(self):
        fake = FakeOpenSearch(refuse_security=True)
        code, _, err = self.run_apply(fake)
        self.assertEqual(code, 1)
        self.assertIn("HTTP 403", err)
        self.assertIn(f"is {USER} in the Cognito group admins?", err)
        self.assertEqual(len(fake.requests), 1, "nothing after the first refusal")

    def test_a_second_run_updates_the_policy_it_finds(self):
        existing = {"weblogs-retention": (4, 2, json.dumps(apply.retention_policy("weblogs", "60")).encode())}
        fake = FakeOpenSearch(policies=existing)
        code, out, err = self.run_apply(fake)
        self.assertEqual(code, 0, err)
        self.assertIn(("PUT", "/_plugins/_ism/policies/weblogs-retention?if_seq_no=4&if_primary_term=2"),
                      [(method, path) for method, path, _, _ in fake.requests])
        self.assertIn("weblogs-* deleted 30 days after their last document", out)

    def test_index_name_and_rotation_are_the_stacks(self):
        fake = FakeOpenSearch()
        code, out, err = self.run_apply(fake, stack="access-logs")
        self.assertEqual(code, 0, err)
        self.assertEqual(fake.templates["access"]["index_patterns"], ["access", "access-*"])
        self.assertEqual(fake.policies, {}, "one index that never rotates: no policy deletes it")
        self.assertIn("no retention policy: with IndexRotation=NoRotation", out)
        self.assertIn(b'"title":"access*"', fake.requests[-1][3])

        weekly = FakeOpenSearch()
        code, _, err = self.run_apply(weekly, stack="weekly")
        self.assertEqual(code, 0, err)
        policy = json.loads(weekly.policies["weblogs-retention"][2])["policy"]
        # Kept 7 days after the week's last document: never the index being written.
        self.assertEqual(policy["states"][0]["transitions"][0]["conditions"], {"min_index_age": "14d"})

    def test_shards_and_replicas_are_the_stacks(self):
        fake = FakeOpenSearch()
        code, out, err = self.run_apply(fake, stack="three-nodes")
        self.assertEqual(code, 0, err)
        settings = fake.templates["weblogs"]["template"]["settings"]["index"]
        self.assertEqual(settings["number_of_shards"], 3)
        self.assertEqual(settings["number_of_replicas"], 1)
        self.assertNotIn("auto_expand_replicas", settings, "a fixed replica count replaces the automatic one")
        self.assertIn("(3 shard(s), replicas 1)", out)

        default = FakeOpenSearch()
        self.run_apply(default)
        settings = default.templates["weblogs"]["template"]["settings"]["index"]
        self.assertEqual((settings["number_of_shards"], settings["auto_expand_replicas"]), (1, "0-1"))

    def test_a_retention_change_moves_the_indices_the_policy_manages(self):
        older = apply.retention_policy("weblogs", "60", "OneDay")
        indices = {
            "weblogs-2026-11-20": {"policy_id": "weblogs-retention", "state": "hot", "policy_seq_no": 4},
            "weblogs-2026-09-01": {"policy_id": "weblogs-retention", "state": "delete", "policy_seq_no": 4},
            "weblogs-unmanaged": {"policy_id": None, "state": None},
            "other-2026-11-20": {"policy_id": "other-retention", "state": "hot", "policy_seq_no": 1},
        }
        fake = FakeOpenSearch(policies={"weblogs-retention": (4, 2, json.dumps(older).encode())}, indices=indices)
        code, out, err = self.run_apply(fake)
        self.assertEqual(code, 0, err)
        self.assertIn(("POST", "/_plugins/_ism/change_policy/weblogs-*"), fake.changes())
        moved = json.loads(next(body for method, path, _, body in fake.requests if "change_policy" in path))
        self.assertEqual(moved, {"policy_id": "weblogs-retention", "include": [{"state": "hot"}]})
        self.assertEqual(fake.indices["weblogs-2026-11-20"]["policy_seq_no"], 5, "now on the new version")
        self.assertEqual(fake.indices["weblogs-2026-09-01"]["policy_seq_no"], 4, "being deleted: left alone")
        self.assertIsNone(fake.indices["weblogs-unmanaged"]["policy_id"])
        self.assertEqual(fake.indices["other-2026-11-20"]["policy_id"], "other-retention")
        self.assertIn("1 existing indices moved to it", out)

    def test_a_second_run_changes_nothing(self):
        first = FakeOpenSearch(indices={"weblogs-2026-11-20": {"policy_id": "weblogs-retention", "state": "hot",
                                                               "policy_seq_no": 0}})
        code, _, err = self.run_apply(first)
        self.assertEqual(code, 0, err)
        second = FakeOpenSearch(policies=first.policies, mappings=first.mappings, audit=first.audit_config,
                                indices=first.indices)
        second.roles = dict(first.roles)
        code, out, err = self.run_apply(second)
        self.assertEqual(code, 0, err)
        self.assertEqual(second.policies, first.policies, "no new policy version")
        self.assertEqual((second.roles, second.mappings, second.audit_config, second.indices, second.templates),
                         (first.roles, first.mappings, first.audit_config, first.indices, first.templates))
        changed = [path for _, path in second.changes()]
        for unchanged in ("/_plugins/_ism/", "/_plugins/_security/api/audit/config"):
            self.assertFalse([path for path in changed if path.startswith(unchanged)], changed)
        self.assertIn("(unchanged)", out)

    def test_a_stack_moved_to_one_index_keeps_it(self):
        # An older policy matched the bare name too, and so manages the single index.
        older = apply.retention_policy("weblogs", "30", "OneDay")
        older["policy"]["ism_template"][0]["index_patterns"] = ["weblogs", "weblogs-*"]
        indices = {"weblogs": {"policy_id": "weblogs-retention", "state": "hot"},
                   "weblogs-2026-11-20": {"policy_id": "weblogs-retention", "state": "hot"}}
        fake = FakeOpenSearch(policies={"weblogs-retention": (0, 1, json.dumps(older).encode())}, indices=indices)
        code, out, err = self.run_apply(fake, stack="no-longer-rotating")
        self.assertEqual(code, 0, err)
        self.assertIn(("POST", "/_plugins/_ism/remove/weblogs"), fake.changes())
        self.assertIsNone(fake.indices["weblogs"]["policy_id"], "the single index is never deleted")
        self.assertEqual(fake.indices["weblogs-2026-11-20"]["policy_id"], "weblogs-retention",
                         "the indices of the rotating days still age out")
        self.assertFalse([path for _, path in fake.changes() if path.startswith("/_plugins/_ism/policies/")])
        self.assertIn("never deleted; taken off weblogs", out)

    def test_retention_counts_from_the_last_document_of_each_rotation(self):
        cases = [("1", "OneHour", "25h"), ("30", "OneDay", "31d"), ("3", "OneWeek", "10d"),
                 ("7", "OneWeek", "14d"), ("90", "OneMonth", "121d")]
        for days, rotation, age in cases:
            self.assertEqual(apply.retention_age(days, rotation), age, (days, rotation))
        fake = FakeOpenSearch()
        code, _, err = self.run_apply(fake, stack="weekly-short")
        self.assertEqual(code, 0, err)
        policy = json.loads(fake.policies["weblogs-retention"][2])["policy"]
        self.assertEqual(policy["states"][0]["transitions"][0]["conditions"], {"min_index_age": "10d"},
                         "a week's index outlives its week by 3 days, never deleted while written")

    def test_refusals_are_audited_at_both_layers_and_what_was_set_by_hand_stays(self):
        found = json.loads(json.dumps(NEW_DOMAIN_AUDIT))
        found["audit"]["ignore_users"] = ["kibanaserver"]
        found["audit"]["ignore_requests"] = ["cluster:admin/reports/*"]
        found["audit"]["exclude_sensitive_headers"] = False  # read-only: whatever the domain says
        found["compliance"]["write_watched_indices"] = ["weblogs-audit"]
        fake = FakeOpenSearch(audit=found)
        code, _, err = self.run_apply(fake)
        self.assertEqual(code, 0, err)
        audit = fake.audit_config
        for layer in ("rest", "transport"):
            self.assertTrue(audit["audit"][f"enable_{layer}"], layer)
        # Everything else is logged: FAILED_LOGIN, MISSING_PRIVILEGES, BAD_HEADERS, SSL_EXCEPTION,
        # OPENDISTRO_SECURITY_INDEX_ATTEMPT; and at the transport layer, where actions have names,
        # granted ones too, but the routine ones.
        self.assertEqual(audit["audit"]["disabled_rest_categories"], ["AUTHENTICATED", "GRANTED_PRIVILEGES"])
        self.assertEqual(audit["audit"]["disabled_transport_categories"], ["AUTHENTICATED"])
        ignored = audit["audit"]["ignore_requests"]
        self.assertEqual(ignored[0], "cluster:admin/reports/*", "a pattern added by hand stays")
        for routine in ("indices:data/write/bulk*", "indices:data/read/*", "indices:monitor/*", "cluster:monitor/*"):
            self.assertIn(routine, ignored)
        # What an administrator does that destroys or changes data stays in the log: no pattern
        # ignores the actions of an index delete, a delete by query, a restore or a mapping change.
        for destructive in ("indices:admin/delete", "indices:data/write/delete/byquery", "indices:data/write/delete",
                            "cluster:admin/snapshot/restore", "indices:admin/mapping/put",
                            "indices:admin/settings/update", "cluster:admin/opendistro/ism/policy/delete"):
            self.assertFalse(any(fnmatch.fnmatchcase(destructive, pattern) for pattern in ignored), destructive)
        self.assertFalse(audit["audit"]["resolve_bulk_requests"], "a bulk call is one event, not one per document")
        self.assertEqual(audit["audit"]["ignore_users"], ["kibanaserver"])
        self.assertFalse(audit["audit"]["exclude_sensitive_headers"])
        self.assertEqual(audit["compliance"]["write_watched_indices"], ["weblogs-audit"])
        self.assertTrue(audit["compliance"]["internal_config"], "changes to the security setup are audited")

    def test_role_mappings_keep_every_field_set_by_hand(self):
        by_hand = {"backend_roles": [PRINCIPALS["setup"]], "hosts": ["10.0.0.*"], "users": ["alice"],
                   "and_backend_roles": ["mfa"], "description": "the security team's", "reserved": False,
                   "hidden": False}
        fake = FakeOpenSearch(mappings={"all_access": by_hand})
        code, _, err = self.run_apply(fake)
        self.assertEqual(code, 0, err)
        kept = fake.mappings["all_access"]
        self.assertEqual(kept["and_backend_roles"], ["mfa"])
        self.assertEqual(kept["description"], "the security team's")
        self.assertEqual((kept["hosts"], kept["users"]), (["10.0.0.*"], ["alice"]))
        self.assertEqual(kept["backend_roles"], [PRINCIPALS["setup"], PRINCIPALS["admin"]])

    def test_the_stand_in_refuses_what_a_domain_refuses(self):
        """FakeOpenSearch is as strict as the real API where apply.py's requests could go wrong."""
        fake = FakeOpenSearch()
        threading.Thread(target=fake.serve_forever, daemon=True).start()

        def send(method, path, body=b"", headers=None):
            request = urllib.request.Request(fake.url + path, data=body, method=method, headers=headers or {})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read())

        try:
            role = json.dumps({"cluster_permissions": []}).encode()
            self.assertEqual(send("PUT", "/_plugins/_security/api/rolesmapping/nobody", b'{"backend_roles":[]}')[0], 404)
            self.assertEqual(send("PUT", "/_plugins/_security/api/roles/nobody", role)[0], 201)
            self.assertEqual(send("PUT", "/_plugins/_security/api/roles/nobody", role)[0], 200)
            self.assertEqual(send("PUT", "/_plugins/_security/api/rolesmapping/nobody",
                                  b'{"backend_roles":[],"reserved":false}')[0], 400)
            changed = json.loads(json.dumps(NEW_DOMAIN_AUDIT))
            changed["compliance"]["internal_config"] = False
            self.assertEqual(send("PUT", "/_plugins/_security/api/audit/config", json.dumps(changed).encode())[0], 409)
            dashboard = {"type": "dashboard", "id": "d", "attributes": {},
                         "references": [{"type": "visualization", "id": "gone", "name": "panel_0"}]}
            body, content_type = apply.multipart_file("file", "objects.ndjson", json.dumps(dashboard).encode())
            imported = "/_dashboards/api/saved_objects/_import?overwrite=true"
            self.assertEqual(send("POST", imported, body, {"Content-Type": content_type})[0], 400, "no osd-xsrf")
            headers = {"Content-Type": content_type, "osd-xsrf": "true"}
            status, answer = send("POST", imported, body, headers)
            self.assertEqual((status, answer["success"]), (200, False))
            self.assertEqual(answer["errors"][0]["error"]["type"], "missing_references")
            body, content_type = apply.multipart_file("file", "objects.json", json.dumps(dashboard).encode())
            self.assertEqual(send("POST", imported, body, {**headers, "Content-Type": content_type})[0], 415)
        finally:
            fake.shutdown()
            fake.server_close()

    def test_the_index_pattern_ships_the_fields_of_the_index_template(self):
        objects = [json.loads(line) for line in apply.saved_objects("weblogs").splitlines()]
        pattern = next(o for o in objects if o["type"] == "index-pattern")
        fields = {f["name"]: f for f in json.loads(pattern["attributes"]["fields"])}
        with open(os.path.join(HERE, "index-template.json")) as f:
            mapping = json.load(f)["template"]["mappings"]["properties"]

        def leaves(properties, prefix=""):
            for key, spec in properties.items():
                if "properties" in spec:
                    yield from leaves(spec["properties"], f"{prefix}{key}.")
                else:
                    yield f"{prefix}{key}", spec
                    for sub, sub_spec in spec.get("fields", {}).items():
                        yield f"{prefix}{key}.{sub}", sub_spec

        mapped = dict(leaves(mapping))
        self.assertEqual(set(fields) - {"_id", "_index", "_score", "_source"}, set(mapped))
        self.assertEqual((fields["@timestamp"]["type"], fields["source.ip"]["type"]), ("date", "ip"))
        self.assertEqual(fields["source.geo.location"]["type"], "geo_point")
        self.assertEqual(fields["http.response.status_code"]["type"], "number")
        self.assertFalse(fields["url.original"]["aggregatable"], "text")
        self.assertTrue(fields["url.original.keyword"]["aggregatable"])
        self.assertEqual(fields["url.original.keyword"]["subType"], {"multi": {"parent": "url.original"}})
        # Every field a visualization aggregates on is in the list and can be aggregated, so the
        # dashboards work before the first index exists.
        for saved in objects:
            if saved["type"] != "visualization":
                continue
            for agg in json.loads(saved["attributes"]["visState"]).get("aggs", []):
                field = agg.get("params", {}).get("field")
                if field:
                    self.assertTrue(fields[field]["aggregatable"], f"{saved['id']}: {field}")
        visitor_map = json.loads(next(o for o in objects if o["id"] == "weblogs-visitor-map")["attributes"]["visState"])
        self.assertEqual(visitor_map["params"]["colorSchema"], "Yellow to Red")
        self.assertEqual(visitor_map["params"]["wms"]["options"]["format"], "image/png")

    def test_the_labels_the_functions_add_are_mapped_and_in_the_index_pattern(self):
        add_fields = "service.name=shop, labels.team=web,labels.cost-centre=42,labels.team=dup,host.name=x"
        labels = apply.label_names(add_fields)
        self.assertEqual(labels, ["team", "cost-centre"])
        template = json.loads(apply.index_template("weblogs", labels=labels))
        self.assertEqual(template["template"]["mappings"]["properties"]["labels"]["properties"], {
            "team": {"type": "keyword", "ignore_above": 1024},
            "cost-centre": {"type": "keyword", "ignore_above": 1024},
        })
        self.assertFalse(template["template"]["mappings"]["dynamic"], "still nothing mapped by guessing")
        pattern = next(json.loads(line) for line in apply.saved_objects("weblogs", labels).splitlines()
                       if json.loads(line)["type"] == "index-pattern")
        fields = {f["name"]: f for f in json.loads(pattern["attributes"]["fields"])}
        self.assertTrue(fields["labels.team"]["aggregatable"])
        self.assertEqual(fields["labels.cost-centre"]["type"], "string")
        # Without labels: the template file as it is, an empty labels object.
        self.assertEqual(apply.label_names(""), [])
        plain = json.loads(apply.index_template("weblogs"))
        self.assertEqual(plain["template"]["mappings"]["properties"]["labels"], {"properties": {}})

    def test_a_refused_sign_in_is_a_message_not_a_traceback(self):
        # moto does not check SRP's password proof: a disabled user stands for a wrong password.
        idp = boto3.client("cognito-idp", region_name=REGION)
        pool_id = apply.stack_outputs(boto3.session.Session(), "weblogs")[0]["UserPoolId"]
        idp.admin_create_user(UserPoolId=pool_id, Username="disabled@example.com", TemporaryPassword=PASSWORD)
        idp.admin_set_user_password(UserPoolId=pool_id, Username="disabled@example.com", Password=PASSWORD,
                                    Permanent=True)
        idp.admin_disable_user(UserPoolId=pool_id, Username="disabled@example.com")
        fake = FakeOpenSearch()
        code, _, err = self.run_apply(fake, username="disabled@example.com")
        self.assertEqual(code, 1)
        self.assertIn("NotAuthorizedException", err)
        self.assertEqual(fake.requests, [], "nothing is sent to the domain")

    def test_a_user_with_the_temporary_password_is_sent_to_dashboards_first(self):
        code, _, err = self.run_apply(FakeOpenSearch(), username="new@example.com")
        self.assertEqual(code, 1)
        self.assertIn("temporary password: sign in to Dashboards once", err)

    def test_a_failed_import_is_an_error(self):
        code, _, err = self.run_apply(FakeOpenSearch(import_succeeds=False))
        self.assertEqual(code, 1)
        self.assertIn("the saved objects were not imported", err)

    def test_a_stack_that_is_not_this_template_is_named(self):
        boto3.client("cloudformation", region_name=REGION).create_stack(
            StackName="other", TemplateBody=json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}})
        )
        code, _, err = self.run_apply(FakeOpenSearch(), stack="other")
        self.assertEqual(code, 1)
        self.assertIn("stack other has no output OpenSearchDomainEndpoint", err)


if __name__ == "__main__":
    unittest.main()
