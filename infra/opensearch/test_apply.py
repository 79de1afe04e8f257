"""apply.py end to end against a real moto server (CloudFormation outputs, Cognito user pool and
identity pool: the AWS protocols boto3 speaks) and FakeOpenSearch, a stand-in for the domain's two
endpoints (no OpenSearch can run here) that records what it is sent.

moto comes from .venv (`make test-tools`); it is started on 127.0.0.1 and stopped by process id.
"""
import http.server
import io
import json
import os
import socket
import subprocess
import threading
import time
import unittest
from contextlib import redirect_stderr, redirect_stdout

import boto3

import apply

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
REGION = "eu-west-1"
USER = "admin@example.com"
PASSWORD = "Correct-Horse-Battery-9"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeOpenSearch(http.server.ThreadingHTTPServer):
    """Answers the index-template PUT and the saved-objects import like OpenSearch does."""

    def __init__(self, import_succeeds=True):
        self.requests = []
        self.import_succeeds = import_succeeds
        super().__init__(("127.0.0.1", 0), FakeOpenSearchHandler)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class FakeOpenSearchHandler(http.server.BaseHTTPRequestHandler):
    def handle_one(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if self.command == "PUT" and self.path == "/_index_template/weblogs":
            answer = {"acknowledged": True}
        elif self.command == "POST" and self.path == "/_dashboards/api/saved_objects/_import?overwrite=true":
            count = body.count(b'"attributes"')
            answer = {"success": self.server.import_succeeds, "successCount": count}
        else:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_PUT = do_POST = handle_one

    def log_message(self, *args):
        pass


class ApplyAgainstMoto(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        binary = os.path.join(REPO, ".venv", "bin", "moto_server")
        if not os.path.exists(binary):
            raise AssertionError(f"{binary} is missing: run `make test-tools` (`make test` does)")
        port = free_port()
        cls.moto = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    cls.moto.kill()
                    raise
                time.sleep(0.1)
        cls.saved_env = dict(os.environ)
        os.environ.update(
            AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_REGION=REGION,
            AWS_DEFAULT_REGION=REGION,
        )
        os.environ.pop("AWS_PROFILE", None)
        cls.deploy_stack()

    @classmethod
    def tearDownClass(cls):
        cls.moto.kill()
        cls.moto.wait()
        os.environ.clear()
        os.environ.update(cls.saved_env)

    @classmethod
    def deploy_stack(cls):
        """What infra/template.yaml leaves behind, as far as apply.py is concerned."""
        idp = boto3.client("cognito-idp", region_name=REGION)
        pool = idp.create_user_pool(PoolName="weblogs-dashboards", UsernameAttributes=["email"])["UserPool"]
        client = idp.create_user_pool_client(
            UserPoolId=pool["Id"], ClientName="opensearch-setup", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
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
        }
        template = {
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
        boto3.client("cloudformation", region_name=REGION).create_stack(
            StackName="weblogs", TemplateBody=json.dumps(template)
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

    def test_loads_the_template_and_the_saved_objects_signed_as_the_dashboards_user(self):
        fake = FakeOpenSearch()
        code, out, err = self.run_apply(fake)
        self.assertEqual(code, 0, err)
        with open(os.path.join(HERE, "dashboards.ndjson")) as f:
            objects = sum(1 for line in f if line.strip())
        self.assertIn(f"{objects} saved objects imported", out)
        (put, post) = fake.requests
        with open(os.path.join(HERE, "index-template.json"), "rb") as f:
            self.assertEqual(put[3], f.read())
        with open(os.path.join(HERE, "dashboards.ndjson"), "rb") as f:
            self.assertIn(f.read(), post[3])
        self.assertEqual(post[2]["osd-xsrf"], "true")
        self.assertTrue(post[2]["content-type"].startswith("multipart/form-data; boundary="))
        for method, path, headers, _ in fake.requests:
            authorization = headers["authorization"]
            self.assertTrue(authorization.startswith("AWS4-HMAC-SHA256 Credential="), authorization)
            self.assertIn(f"/{REGION}/es/aws4_request", authorization)
            # The identity pool's temporary credentials, not the caller's own keys.
            self.assertNotIn("Credential=test/", authorization)
            self.assertIn("x-amz-security-token", headers, f"{method} {path}")

    def test_a_wrong_password_is_a_message_not_a_traceback(self):
        fake = FakeOpenSearch()
        code, _, err = self.run_apply(fake, password="wrong-Password-1")
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
