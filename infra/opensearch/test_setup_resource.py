"""setup_resource.py as CloudFormation runs it: an event with a pre-signed ResponseURL (a local
stand-in that records the answer, as CloudFormation's S3 URL would receive it, admitted in place of
CloudFormation's bucket), FakeOpenSearch as the domain, moto as Cognito's user pools and
FakeCognitoIdentityRoles as the identity pool's roles, the function's credentials and settings
from the environment as Lambda and the template give them."""
import http.server
import json
import os
import re
import threading
import unittest

import boto3

import setup_resource
from local_aws import FakeCognitoIdentityRoles, MotoServer
from test_apply import ALL_REQUESTS, PRINCIPALS, FakeOpenSearch

REGION = "eu-west-1"
IDENTITY_POOL = "eu-west-1:7d5c8a7e-0b8c-4a56-9d1e-2f3a4b5c6d7e"
DEFAULT_ROLE = "arn:aws:iam::123456789012:role/weblogs-DashboardsUserRole-U1"
STACK_ID = "arn:aws:cloudformation:eu-west-1:123456789012:stack/weblogs/0a1b"
ATTACKER_ROLE = "arn:aws:iam::123456789012:role/someone-else"


class ResponseUrl(http.server.ThreadingHTTPServer):
    """Records the PUT of the custom resource's answer."""

    def __init__(self):
        self.answers = []
        super().__init__(("127.0.0.1", 0), ResponseHandler)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/cloudformation-response?X-Amz-Signature=abc"


class ResponseHandler(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.answers.append((self.path, self.headers.get("Content-Type"), json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Context:
    def __init__(self, remaining_ms):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


def serve(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop(server):
    server.shutdown()
    server.server_close()


class SetupResource(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = MotoServer()

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()

    def setUp(self):
        self.saved_env = dict(os.environ)
        # What Lambda gives the function: its role's temporary credentials and the region.
        os.environ.update(AWS_ACCESS_KEY_ID="ASIASETUPROLE", AWS_SECRET_ACCESS_KEY="secret",
                          AWS_SESSION_TOKEN="session-token", AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION)
        os.environ.pop("AWS_PROFILE", None)
        self.saved_pause = setup_resource.RETRY_PAUSE_S
        setup_resource.RETRY_PAUSE_S = 0
        self.cloudformation = serve(ResponseUrl())
        # The local stand-in is admitted as CloudFormation's response bucket would be.
        self.saved_pattern = setup_resource.response_url_pattern
        local = re.escape(self.cloudformation.url.split("/cloudformation-response")[0]) + "/"
        setup_resource.response_url_pattern = lambda region: re.compile(local)
        # The stack's user pool with its setup client, and the one OpenSearch adds for Dashboards.
        idp = boto3.client("cognito-idp", region_name=REGION, endpoint_url=self.moto.url)
        self.user_pool = idp.create_user_pool(PoolName="weblogs-dashboards")["UserPool"]["Id"]
        self.setup_client = idp.create_user_pool_client(UserPoolId=self.user_pool,
                                                        ClientName="opensearch-setup")["UserPoolClient"]["ClientId"]
        self.dashboards_client = idp.create_user_pool_client(
            UserPoolId=self.user_pool, ClientName="AmazonOpenSearchService-weblogs-eu-west-1-k3x7"
        )["UserPoolClient"]["ClientId"]
        self.provider = f"cognito-idp.{REGION}.amazonaws.com/{self.user_pool}"
        # The identity pool as the template leaves it: the default role, the setup client's mapping.
        self.identity = FakeCognitoIdentityRoles({IDENTITY_POOL: {
            "Roles": {"authenticated": DEFAULT_ROLE},
            "RoleMappings": {f"{self.provider}:{self.setup_client}": {"Type": "Token", "AmbiguousRoleResolution": "Deny"}},
        }})
        os.environ.update(AWS_ENDPOINT_URL=self.moto.url, AWS_ENDPOINT_URL_COGNITO_IDENTITY=self.identity.url)
        # The function's settings, as the template sets them (DOMAIN_ENDPOINT: per test).
        os.environ.update(STACK_ID=STACK_ID, DOMAIN_NAME="weblogs", INDEX_NAME="weblogs", INDEX_ROTATION="OneDay",
                          RETENTION_DAYS="30", INDEX_SHARDS="1", INDEX_REPLICAS="auto",
                          USER_POOL_ID=self.user_pool, IDENTITY_POOL_ID=IDENTITY_POOL,
                          ADMIN_ROLE_ARN=PRINCIPALS["admin"], VIEWER_ROLE_ARN=PRINCIPALS["viewer"],
                          DELIVERY_ROLE_ARN=PRINCIPALS["writer"], SETUP_ROLE_ARN=PRINCIPALS["setup"])

    def tearDown(self):
        setup_resource.RETRY_PAUSE_S = self.saved_pause
        setup_resource.response_url_pattern = self.saved_pattern
        stop(self.cloudformation)
        self.identity.stop()
        os.environ.clear()
        os.environ.update(self.saved_env)

    def event(self, request_type, domain, **properties):
        """CloudFormation's event; the domain is also the one in the function's environment."""
        os.environ["DOMAIN_ENDPOINT"] = domain.url
        event = {
            "RequestType": request_type,
            "ResponseURL": self.cloudformation.url,
            "StackId": STACK_ID,
            "RequestId": f"request-{request_type}",
            "LogicalResourceId": "OpenSearchSetup",
            "ResourceType": "Custom::OpenSearchSetup",
            "ResourceProperties": {
                "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:setup",
                "DomainEndpoint": domain.url,
                "DomainName": "weblogs",
                "IndexName": "weblogs", "IndexRotation": "OneDay", "RetentionDays": "30",
                "UserPoolId": self.user_pool,
                "IdentityPoolId": IDENTITY_POOL,
                "AuthenticatedRoleArn": DEFAULT_ROLE,
                "AdminRoleArn": PRINCIPALS["admin"],
                "ViewerRoleArn": PRINCIPALS["viewer"],
                "DeliveryRoleArn": PRINCIPALS["writer"],
                "SetupRoleArn": PRINCIPALS["setup"],
                "FunctionVersion": "arn:aws:lambda:eu-west-1:123456789012:function:setup:1",
                **properties,
            },
        }
        if request_type != "Create":
            event["PhysicalResourceId"] = "opensearch-setup-weblogs"
        return event

    def run_handler(self, event, remaining_ms=900_000):
        setup_resource.handler(event, Context(remaining_ms))
        (answer,) = self.cloudformation.answers[-1:]
        return answer

    def test_create_sets_up_the_domain_and_says_so(self):
        domain = serve(FakeOpenSearch())
        path, content_type, answer = self.run_handler(self.event("Create", domain))
        self.assertEqual(answer["Status"], "SUCCESS", answer["Reason"])
        self.assertEqual(path, "/cloudformation-response?X-Amz-Signature=abc")
        self.assertEqual(content_type, "", "the pre-signed URL is signed for no content type")
        self.assertEqual(answer["PhysicalResourceId"], "opensearch-setup-weblogs")
        self.assertEqual((answer["StackId"], answer["RequestId"], answer["LogicalResourceId"]),
                         (STACK_ID, "request-Create", "OpenSearchSetup"))
        self.assertIn("index template weblogs for weblogs and weblogs-*", answer["Reason"])
        self.assertIn("retention policy weblogs-retention: weblogs-* deleted 30 days after their last document", answer["Reason"])
        self.assertEqual([(m, p) for m, p, _, _ in domain.requests], ALL_REQUESTS)
        self.assertEqual(domain.roles["weblogs_writer"]["index_permissions"][0]["index_patterns"],
                         ["weblogs", "weblogs-*"])
        self.assertEqual(domain.mappings["weblogs_writer"]["backend_roles"], [PRINCIPALS["writer"]])
        self.assertEqual(domain.mappings["weblogs_direct_writer"]["backend_roles"], [])
        for method, path, headers, _ in domain.requests:
            self.assertIn("Credential=ASIASETUPROLE/", headers["authorization"], f"{method} {path}")
            self.assertIn(f"/{REGION}/es/aws4_request", headers["authorization"])
            self.assertEqual(headers["x-amz-security-token"], "session-token")
        stop(domain)

        # An update (new files, new parameters) applies again, over what is there.
        domain_requests = domain.requests
        again = serve(FakeOpenSearch(policies=domain.policies))
        os.environ["RETENTION_DAYS"] = "14"
        _, _, answer = self.run_handler(self.event("Update", again, RetentionDays="14"))
        self.assertEqual(answer["Status"], "SUCCESS", answer["Reason"])
        self.assertEqual(answer["PhysicalResourceId"], "opensearch-setup-weblogs")
        self.assertIn(("PUT", "/_plugins/_ism/policies/weblogs-retention?if_seq_no=0&if_primary_term=1"),
                      [(m, p) for m, p, _, _ in again.requests])
        policy = json.loads(again.policies["weblogs-retention"][2])["policy"]
        # 14 days after the last document of a daily index: 15 days after its creation.
        self.assertEqual(policy["states"][0]["transitions"][0]["conditions"], {"min_index_age": "15d"})
        self.assertEqual(len(domain_requests), len(ALL_REQUESTS))
        self.assertEqual([call for call, _ in self.identity.calls],
                         ["GetIdentityPoolRoles", "SetIdentityPoolRoles", "GetIdentityPoolRoles"],
                         "the mapping is set once, then found in place")
        stop(again)

    def test_with_direct_delivery_the_enriching_functions_roles_are_the_direct_writers(self):
        writers = ["arn:aws:iam::123456789012:role/weblogs-KinesisEnricherRole-K1",
                   "arn:aws:iam::123456789012:role/weblogs-ArchiveEnricherRole-A1"]
        os.environ["DIRECT_WRITER_ROLE_ARNS"] = ",".join(writers)
        domain = serve(FakeOpenSearch())
        _, _, answer = self.run_handler(self.event("Update", domain, DirectWriterRoleArns=",".join(writers)))
        self.assertEqual(answer["Status"], "SUCCESS", answer["Reason"])
        self.assertIn("weblogs_direct_writer (2 function roles)", answer["Reason"])
        self.assertEqual(domain.mappings["weblogs_direct_writer"]["backend_roles"], writers)
        self.assertEqual(domain.roles["weblogs_direct_writer"]["cluster_permissions"], ["indices:data/write/bulk"])
        stop(domain)

    def test_dashboards_users_get_the_role_of_their_group(self):
        domain = serve(FakeOpenSearch())
        _, _, answer = self.run_handler(self.event("Create", domain))
        self.assertEqual(answer["Status"], "SUCCESS", answer["Reason"])
        self.assertIn("Dashboards sign-ins (AmazonOpenSearchService-weblogs-eu-west-1-k3x7) get the role of "
                      "the user's Cognito group", answer["Reason"])
        (get, _), (put, request) = self.identity.calls
        self.assertEqual((get, put), ("GetIdentityPoolRoles", "SetIdentityPoolRoles"))
        self.assertEqual(request, {
            "IdentityPoolId": IDENTITY_POOL,
            "Roles": {"authenticated": DEFAULT_ROLE},
            "RoleMappings": {
                f"{self.provider}:{self.setup_client}": {"Type": "Token", "AmbiguousRoleResolution": "Deny"},
                f"{self.provider}:{self.dashboards_client}": {"Type": "Token", "AmbiguousRoleResolution": "Deny"},
            },
        })
        stop(domain)

    def test_no_dashboards_client_fails_with_the_user_pool_named(self):
        idp = boto3.client("cognito-idp", region_name=REGION, endpoint_url=self.moto.url)
        idp.delete_user_pool_client(UserPoolId=self.user_pool, ClientId=self.dashboards_client)
        domain = serve(FakeOpenSearch())
        _, _, answer = self.run_handler(self.event("Create", domain), remaining_ms=20_000)
        self.assertEqual(answer["Status"], "FAILED")
        self.assertEqual(answer["Reason"], f"user pool {self.user_pool} has no OpenSearch Dashboards app client yet")
        self.assertEqual(domain.requests, [], "the domain is set up only once sign-ins are mapped")
        self.assertEqual(self.identity.calls, [])
        stop(domain)

    def test_a_missing_identity_pool_fails_with_cognitos_message(self):
        self.identity.pools.clear()
        domain = serve(FakeOpenSearch())
        _, _, answer = self.run_handler(self.event("Create", domain))
        self.assertEqual(answer["Status"], "FAILED")
        self.assertIn("ResourceNotFoundException", answer["Reason"])
        self.assertIn(f"IdentityPool '{IDENTITY_POOL}' not found", answer["Reason"])
        stop(domain)

    def test_a_domain_that_is_not_ready_yet_is_waited_for(self):
        domain = serve(FakeOpenSearch(unavailable_first=3))
        _, _, answer = self.run_handler(self.event("Create", domain))
        self.assertEqual(answer["Status"], "SUCCESS", answer["Reason"])
        self.assertEqual(len(domain.requests), 3 + len(ALL_REQUESTS))
        stop(domain)

    def test_a_refusal_fails_the_resource_with_the_reason_cloudformation_shows(self):
        domain = serve(FakeOpenSearch(import_succeeds=False))
        _, _, answer = self.run_handler(self.event("Create", domain))
        self.assertEqual(answer["Status"], "FAILED")
        self.assertTrue(answer["Reason"].startswith("the saved objects were not imported"), answer["Reason"])
        self.assertEqual(len(domain.requests), len(ALL_REQUESTS), "a refusal is not retried")
        stop(domain)

    def test_a_domain_that_never_answers_fails_before_the_function_times_out(self):
        domain = serve(FakeOpenSearch(unavailable_first=1_000))
        _, _, answer = self.run_handler(self.event("Create", domain), remaining_ms=20_000)
        self.assertEqual(answer["Status"], "FAILED")
        self.assertIn("HTTP 503", answer["Reason"])
        self.assertEqual(len(domain.requests), 1, "no retry without the time for it")
        stop(domain)

    def test_an_unreachable_domain_is_named(self):
        domain = FakeOpenSearch()
        url = domain.url
        domain.server_close()  # nothing listens there any more
        event = self.event("Create", domain)
        os.environ["DOMAIN_ENDPOINT"] = url
        _, _, answer = self.run_handler(event, remaining_ms=20_000)
        self.assertEqual(answer["Status"], "FAILED")
        self.assertIn(f"PUT {url}/_plugins/_security/api/roles/weblogs_viewer", answer["Reason"])

    def test_delete_leaves_the_domain_and_its_data_alone(self):
        domain = serve(FakeOpenSearch())
        _, _, answer = self.run_handler(self.event("Delete", domain))
        self.assertEqual(answer["Status"], "SUCCESS")
        self.assertEqual(answer["PhysicalResourceId"], "opensearch-setup-weblogs")
        self.assertEqual(domain.requests, [])
        self.assertEqual(self.identity.calls, [])
        stop(domain)

    def test_a_forged_event_cannot_name_other_roles_or_another_domain(self):
        """Whoever may invoke the function gets at most the stack's own setup again."""
        domain = serve(FakeOpenSearch())
        elsewhere = serve(FakeOpenSearch())
        forged = self.event("Update", domain, AdminRoleArn=ATTACKER_ROLE, ViewerRoleArn=ATTACKER_ROLE,
                            DeliveryRoleArn=ATTACKER_ROLE, SetupRoleArn=ATTACKER_ROLE, DomainEndpoint=elsewhere.url,
                            IndexName="everything", UserPoolId="eu-west-1_forged", IdentityPoolId="eu-west-1:forged")
        _, _, answer = self.run_handler(forged)
        self.assertEqual(answer["Status"], "SUCCESS", answer["Reason"])
        self.assertEqual(elsewhere.requests, [], "the event's endpoint is not used")
        mapped = [arn for mapping in domain.mappings.values() for arn in mapping["backend_roles"]]
        self.assertNotIn(ATTACKER_ROLE, mapped)
        self.assertEqual(domain.mappings["weblogs_writer"]["backend_roles"], [PRINCIPALS["writer"]])
        self.assertEqual(domain.mappings["all_access"]["backend_roles"], [PRINCIPALS["setup"], PRINCIPALS["admin"]])
        self.assertEqual(sorted(domain.roles), ["weblogs_direct_writer", "weblogs_viewer", "weblogs_writer"],
                         "the stack's index name only")
        self.assertEqual(domain.mappings["weblogs_direct_writer"]["backend_roles"], [], "the event names no writer")
        self.assertEqual(self.identity.calls[0][1], {"IdentityPoolId": IDENTITY_POOL})
        stop(domain)
        stop(elsewhere)

    def test_events_not_from_cloudformation_for_this_stack_are_ignored(self):
        domain = serve(FakeOpenSearch())
        other_stack = self.event("Create", domain)
        other_stack["StackId"] = "arn:aws:cloudformation:eu-west-1:123456789012:stack/other/9f9f"
        elsewhere = self.event("Create", domain)
        elsewhere["ResponseURL"] = "https://collector.example.com/cloudformation-response?X-Amz-Signature=abc"
        no_stack = self.event("Create", domain)
        del no_stack["StackId"]
        odd_request = self.event("Create", domain)
        odd_request["RequestType"] = "Describe"
        for event in (other_stack, elsewhere, no_stack, odd_request):
            result = setup_resource.handler(event, Context(900_000))
            self.assertEqual(result["Status"], "IGNORED")
        self.assertIn("is not this stack's", setup_resource.handler(other_stack, Context(900_000))["Reason"])
        self.assertIn("https://collector.example.com/cloudformation-response' is not CloudFormation's response "
                      "bucket in eu-west-1", setup_resource.handler(elsewhere, Context(900_000))["Reason"])
        self.assertEqual(self.cloudformation.answers, [], "nothing answered")
        self.assertEqual(domain.requests, [], "nothing set up")
        self.assertEqual(self.identity.calls, [])
        stop(domain)

    def test_a_setting_missing_from_the_environment_fails_naming_it(self):
        del os.environ["DELIVERY_ROLE_ARN"]
        domain = serve(FakeOpenSearch())
        _, _, answer = self.run_handler(self.event("Create", domain))
        self.assertEqual(answer["Status"], "FAILED")
        self.assertEqual(answer["Reason"], "the setup function's environment lacks DELIVERY_ROLE_ARN (Firehose's role): "
                                           "deploy it with infra/template.yaml")
        self.assertEqual(domain.requests, [])
        stop(domain)


class ResponseUrls(unittest.TestCase):
    """The real pattern: CloudFormation's response bucket of the function's region, by S3's host names."""

    def test_cloudformations_bucket_in_the_region_only(self):
        pattern = setup_resource.response_url_pattern("eu-west-1")
        key = "/arn%3Aaws%3Acloudformation%3Aeu-west-1%3A123456789012%3Astack/weblogs/0a1b%7CSetup%7Cr1?X-Amz-Signature=f"
        for host in ("cloudformation-custom-resource-response-euwest1.s3.amazonaws.com",
                     "cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com",
                     "cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com"):
            self.assertTrue(pattern.match(f"https://{host}{key}"), host)
        for url in ("http://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/x",
                    "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
                    "https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com.example.com/x",
                    "https://cloudformation-custom-resource-response-euwest1.s3.us-east-1.amazonaws.com/x",
                    "https://example.com/cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/x",
                    "https://169.254.169.254/latest/meta-data/"):
            self.assertFalse(pattern.match(url), url)
        self.assertTrue(setup_resource.response_url_pattern("cn-north-1").match(
            "https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/x"))


if __name__ == "__main__":
    unittest.main()
