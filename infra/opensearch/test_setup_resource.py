"""setup_resource.py as CloudFormation runs it: an event with a pre-signed ResponseURL (a local
stand-in that records the answer, as CloudFormation's S3 URL would receive it), FakeOpenSearch as
the domain, the function's credentials from the environment as Lambda gives them."""
import http.server
import json
import os
import threading
import unittest

import setup_resource
from test_apply import FakeOpenSearch

REGION = "eu-west-1"


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
    def setUp(self):
        self.saved_env = dict(os.environ)
        # What Lambda gives the function: its role's temporary credentials and the region.
        os.environ.update(AWS_ACCESS_KEY_ID="ASIASETUPROLE", AWS_SECRET_ACCESS_KEY="secret",
                          AWS_SESSION_TOKEN="session-token", AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION)
        self.saved_pause = setup_resource.RETRY_PAUSE_S
        setup_resource.RETRY_PAUSE_S = 0
        self.cloudformation = serve(ResponseUrl())

    def tearDown(self):
        setup_resource.RETRY_PAUSE_S = self.saved_pause
        stop(self.cloudformation)
        os.environ.clear()
        os.environ.update(self.saved_env)

    def event(self, request_type, domain, **properties):
        event = {
            "RequestType": request_type,
            "ResponseURL": self.cloudformation.url,
            "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/weblogs/0a1b",
            "RequestId": f"request-{request_type}",
            "LogicalResourceId": "OpenSearchSetup",
            "ResourceType": "Custom::OpenSearchSetup",
            "ResourceProperties": {
                "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:setup",
                "DomainEndpoint": domain.url,
                "IndexName": "weblogs", "IndexRotation": "OneDay", "RetentionDays": "30",
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
                         ("arn:aws:cloudformation:eu-west-1:123456789012:stack/weblogs/0a1b", "request-Create",
                          "OpenSearchSetup"))
        self.assertIn("index template weblogs for weblogs and weblogs-*", answer["Reason"])
        self.assertIn("retention policy weblogs-retention: indices deleted after 30 days", answer["Reason"])
        self.assertEqual([(m, p) for m, p, _, _ in domain.requests], [
            ("PUT", "/_index_template/weblogs"),
            ("GET", "/_plugins/_ism/policies/weblogs-retention"),
            ("PUT", "/_plugins/_ism/policies/weblogs-retention"),
            ("POST", "/_dashboards/api/saved_objects/_import?overwrite=true"),
        ])
        for method, path, headers, _ in domain.requests:
            self.assertIn("Credential=ASIASETUPROLE/", headers["authorization"], f"{method} {path}")
            self.assertIn(f"/{REGION}/es/aws4_request", headers["authorization"])
            self.assertEqual(headers["x-amz-security-token"], "session-token")
        stop(domain)

        # An update (new files, new parameters) applies again, over what is there.
        domain_requests = domain.requests
        again = serve(FakeOpenSearch(policies=domain.policies))
        _, _, answer = self.run_handler(self.event("Update", again, RetentionDays="14"))
        self.assertEqual(answer["Status"], "SUCCESS", answer["Reason"])
        self.assertEqual(answer["PhysicalResourceId"], "opensearch-setup-weblogs")
        self.assertIn(("PUT", "/_plugins/_ism/policies/weblogs-retention?if_seq_no=0&if_primary_term=1"),
                      [(m, p) for m, p, _, _ in again.requests])
        policy = json.loads(again.policies["weblogs-retention"][2])["policy"]
        self.assertEqual(policy["states"][0]["transitions"][0]["conditions"], {"min_index_age": "14d"})
        self.assertEqual(len(domain_requests), 4)
        stop(again)

    def test_a_domain_that_is_not_ready_yet_is_waited_for(self):
        domain = serve(FakeOpenSearch(unavailable_first=3))
        _, _, answer = self.run_handler(self.event("Create", domain))
        self.assertEqual(answer["Status"], "SUCCESS", answer["Reason"])
        self.assertEqual(len(domain.requests), 3 + 4)
        stop(domain)

    def test_a_refusal_fails_the_resource_with_the_reason_cloudformation_shows(self):
        domain = serve(FakeOpenSearch(import_succeeds=False))
        _, _, answer = self.run_handler(self.event("Create", domain))
        self.assertEqual(answer["Status"], "FAILED")
        self.assertTrue(answer["Reason"].startswith("the saved objects were not imported"), answer["Reason"])
        self.assertEqual(len(domain.requests), 4, "a refusal is not retried")
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
        event["ResourceProperties"]["DomainEndpoint"] = url
        _, _, answer = self.run_handler(event, remaining_ms=20_000)
        self.assertEqual(answer["Status"], "FAILED")
        self.assertIn(f"PUT {url}/_index_template/weblogs", answer["Reason"])

    def test_delete_leaves_the_domain_and_its_data_alone(self):
        domain = serve(FakeOpenSearch())
        _, _, answer = self.run_handler(self.event("Delete", domain))
        self.assertEqual(answer["Status"], "SUCCESS")
        self.assertEqual(answer["PhysicalResourceId"], "opensearch-setup-weblogs")
        self.assertEqual(domain.requests, [])
        stop(domain)


if __name__ == "__main__":
    unittest.main()
