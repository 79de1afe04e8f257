"""Both deployment routes and the stack's replay, run with the real tools against moto.

The stand-alone route (scripts/deploy-standalone.sh: the pinned cargo-lambda's `cargo lambda
deploy`, the AWS CLI for the role, queue, layer and event source mapping) and the SAM route's code
update (scripts/update-stack-code.sh) are run as a user runs them, for both functions; then each
function's configuration is read back, and scripts/destroy-standalone.sh (`make destroy-function`)
removes what the stand-alone route made. scripts/replay.sh (`make replay`) replays a stack's
on-failure queue with the deployed function's settings. Needs target/lambda/<function>/bootstrap (`make
lambda-build`, which `make check` runs first) and .venv (`make lambda-tools test-tools`).
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import boto3

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "infra", "opensearch"))
from local_aws import MotoServer  # noqa: E402
VENV_BIN = os.path.join(REPO, ".venv", "bin")
REGION = "eu-west-1"
ACCOUNT = "123456789012"
DELIVERY_STREAM = "weblogs-enriched"

# What the manifests' [package.metadata.lambda.deploy] promise, and nothing else.
PRODUCTION = {
    "kinesis-enricher": {
        "MemorySize": 256,
        "Timeout": 120,
        "Environment": {
            "DELIVERY_STREAM_NAME": DELIVERY_STREAM,
            "LOG_FORMAT": "auto",
            "METRICS_NAMESPACE": "WeblogEnrichment",
            "DELIVERY_MAX_ATTEMPTS": "8",
        },
    },
    "firehose-transformer": {
        "MemorySize": 256,
        "Timeout": 60,
        "Environment": {
            "LOG_FORMAT": "auto",
            "METRICS_NAMESPACE": "WeblogEnrichment",
            "MAX_DECOMPRESSED_BYTES": "4194304",
        },
    },
}
# Fields that a code update changes by design.
CODE_FIELDS = {"CodeSha256", "CodeSize", "LastModified", "RevisionId", "Version", "ResponseMetadata"}


def demo_layer(directory):
    """A layer folder as `make geoip-layer` leaves it, with the generated demo databases."""
    tool = next(
        (p for p in (os.path.join(REPO, "target", kind, "make-demo-geoip") for kind in ("debug", "release"))
         if os.path.exists(p)),
        None,
    )
    if tool is None:
        raise AssertionError("make-demo-geoip is not built: cargo test (make test) builds it")
    out = os.path.join(directory, "demo")
    subprocess.run([tool, os.path.join(REPO, "geoip/demo/networks.tsv"), out], check=True, capture_output=True)
    layer = os.path.join(directory, "layer", "geoip")
    os.makedirs(layer)
    shutil.copy(os.path.join(out, "Demo-City.mmdb"), os.path.join(layer, "GeoLite2-City.mmdb"))
    shutil.copy(os.path.join(out, "Demo-ASN.mmdb"), os.path.join(layer, "GeoLite2-ASN.mmdb"))
    return os.path.dirname(layer)


def read_text(path):
    with open(os.path.join(REPO, path), encoding="utf-8") as f:
        return f.read()


def zip_sha256(binary):
    with open(os.path.join(REPO, "target", "lambda", binary, "bootstrap.zip"), "rb") as f:
        return base64.b64encode(hashlib.sha256(f.read()).digest()).decode()


class DeployRoutes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for binary in PRODUCTION:
            if not os.path.exists(os.path.join(REPO, "target", "lambda", binary, "bootstrap")):
                raise AssertionError(f"target/lambda/{binary}/bootstrap is missing: run make lambda-build")
        cls.tmp = tempfile.mkdtemp(prefix="deploy-test-")
        cls.moto = MotoServer()
        cls.endpoint = cls.moto.url
        cls.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": cls.endpoint,
            "AWS_CONFIG_FILE": os.path.join(cls.tmp, "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(cls.tmp, "no-credentials"),
        }
        cls.session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                            region_name=REGION)
        kinesis = cls.client("kinesis")
        kinesis.create_stream(StreamName="weblogs", ShardCount=1)
        cls.stream_arn = kinesis.describe_stream_summary(StreamName="weblogs")["StreamDescriptionSummary"]["StreamARN"]
        cls.client("s3").create_bucket(Bucket="weblogs-backup", CreateBucketConfiguration={"LocationConstraint": REGION})
        cls.client("firehose").create_delivery_stream(
            DeliveryStreamName=DELIVERY_STREAM, DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration={"RoleARN": f"arn:aws:iam::{ACCOUNT}:role/firehose",
                                                "BucketARN": "arn:aws:s3:::weblogs-backup"},
        )
        cls.layer_dir = demo_layer(cls.tmp)

    @classmethod
    def client(cls, service):
        return cls.session.client(service, endpoint_url=cls.endpoint)

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_script(self, *args, **env):
        result = subprocess.run(
            [os.path.join(REPO, "scripts", args[0]), *args[1:]], cwd=REPO, env={**self.env, **env},
            capture_output=True, text=True, timeout=300,
        )
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return result.stdout

    def configuration(self, name):
        return self.client("lambda").get_function_configuration(FunctionName=name)

    def assert_production_configuration(self, name, binary, role_arn, layer_arn, **environment):
        config = self.configuration(name)
        expected = dict(PRODUCTION[binary], Environment={**PRODUCTION[binary]["Environment"], **environment})
        self.assertEqual(config["Runtime"], "provided.al2023")
        self.assertEqual(config["Handler"], "bootstrap")
        self.assertEqual(config["Architectures"], ["arm64"])
        self.assertEqual(config["MemorySize"], expected["MemorySize"])
        self.assertEqual(config["Timeout"], expected["Timeout"])
        self.assertEqual(config["TracingConfig"], {"Mode": "Active"})
        self.assertEqual(config["Role"], role_arn)
        self.assertEqual([layer["Arn"] for layer in config["Layers"]], [layer_arn])
        variables = config["Environment"]["Variables"]
        self.assertEqual(variables, expected["Environment"])
        # What the issue was about, said outright: Lambda refuses reserved names, and a local
        # endpoint or path would send documents nowhere.
        for key, value in variables.items():
            self.assertFalse(key.startswith("AWS_"), key)
            self.assertNotIn("127.0.0.1", value)
            self.assertNotIn("out/", value)
        self.assertEqual(config["CodeSha256"], zip_sha256(binary))
        return config

    def test_standalone_kinesis_enricher_is_production_ready_and_wired_to_the_stream(self):
        name = "weblogs-enricher"
        # A second run updates in place, here spreading the documents over a second stream.
        for streams in (DELIVERY_STREAM, f"{DELIVERY_STREAM}, {DELIVERY_STREAM}-2"):
            out = self.run_script("deploy-standalone.sh", "kinesis-enricher", FUNCTION_NAME=name,
                                  STREAM_ARN=self.stream_arn, DELIVERY_STREAM_NAME=streams,
                                  LAYER_DIR=self.layer_dir, LAYER_NAME="geoip-enricher")
        role_arn = f"arn:aws:iam::{ACCOUNT}:role/{name}-role"
        layers = self.client("lambda").list_layer_versions(LayerName="geoip-enricher")["LayerVersions"]
        self.assert_production_configuration(name, "kinesis-enricher", role_arn, layers[0]["LayerVersionArn"],
                                             DELIVERY_STREAM_NAME=f"{DELIVERY_STREAM}, {DELIVERY_STREAM}-2")

        sqs = self.client("sqs")
        queue_url = sqs.get_queue_url(QueueName=f"{name}-failed-batches")["QueueUrl"]
        self.assertIn(queue_url, out)
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        mappings = self.client("lambda").list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
        self.assertEqual(len(mappings), 1, "a second run updates the mapping, never adds one")
        mapping = mappings[0]
        self.assertEqual(mapping["EventSourceArn"], self.stream_arn)
        self.assertEqual(mapping["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        self.assertTrue(mapping["BisectBatchOnFunctionError"])
        self.assertEqual(mapping["MaximumRetryAttempts"], 5)
        self.assertEqual(mapping["MaximumRecordAgeInSeconds"], 3600)
        self.assertEqual(mapping["BatchSize"], 500)
        self.assertEqual(mapping["StartingPosition"], "TRIM_HORIZON")
        self.assertEqual(mapping["DestinationConfig"], {"OnFailure": {"Destination": queue_arn}})

        # Least privilege: each statement on the resources this function uses, no wildcard but
        # X-Ray's (which has no resource-level permissions).
        policy = self.client("iam").get_role_policy(RoleName=f"{name}-role", PolicyName="kinesis-enricher")
        document = policy["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        statements = {s["Sid"]: s for s in document["Statement"]}
        self.assertEqual(statements["ReadTheStream"]["Resource"], self.stream_arn)
        self.assertEqual(statements["DeliverDocuments"]["Action"], "firehose:PutRecordBatch")
        self.assertEqual(statements["DeliverDocuments"]["Resource"],
                         [f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/{DELIVERY_STREAM}",
                          f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/{DELIVERY_STREAM}-2"])
        self.assertEqual(statements["ReportFailedBatches"]["Resource"], queue_arn)
        self.assertTrue(all(r.startswith(f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{name}")
                            for r in statements["WriteOwnLogs"]["Resource"]))
        self.assertEqual([sid for sid, s in statements.items() if "*" == s["Resource"]], ["Tracing"])
        groups = self.client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
        self.assertEqual([g.get("retentionInDays") for g in groups], [30])

    def test_standalone_tear_down_removes_what_the_deploy_made_and_keeps_the_layer(self):
        name = "weblogs-short-lived"
        self.run_script("deploy-standalone.sh", "kinesis-enricher", FUNCTION_NAME=name, STREAM_ARN=self.stream_arn,
                        DELIVERY_STREAM_NAME=DELIVERY_STREAM, LAYER_DIR=self.layer_dir, LAYER_NAME="geoip-short")
        refused = subprocess.run([os.path.join(REPO, "scripts", "destroy-standalone.sh"), "kinesis-enricher"],
                                 cwd=REPO, env={**self.env, "FUNCTION_NAME": name}, stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, timeout=120)
        self.assertEqual(refused.returncode, 1, refused.stdout + refused.stderr)
        self.assertIn(f"CONFIRM={name}", refused.stderr)
        self.assertEqual(self.configuration(name)["FunctionName"], name, "nothing deleted without confirmation")

        out = self.run_script("destroy-standalone.sh", "kinesis-enricher", FUNCTION_NAME=name, CONFIRM=name,
                              LAYER_NAME="geoip-short")
        lambda_client, iam, sqs = self.client("lambda"), self.client("iam"), self.client("sqs")
        self.assertNotIn(name, [f["FunctionName"] for f in lambda_client.list_functions()["Functions"]])
        self.assertEqual(lambda_client.list_event_source_mappings(EventSourceArn=self.stream_arn,
                                                                  FunctionName=name)["EventSourceMappings"], [])
        self.assertNotIn(f"{name}-role", [r["RoleName"] for r in iam.list_roles()["Roles"]])
        self.assertFalse(any(url.endswith(f"/{name}-failed-batches")
                             for url in sqs.list_queues().get("QueueUrls", [])))
        groups = self.client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
        self.assertEqual(groups, [])
        versions = lambda_client.list_layer_versions(LayerName="geoip-short")["LayerVersions"]
        self.assertEqual(len(versions), 1, "the layer may serve other functions: kept")
        self.assertIn(f"--layer-name geoip-short --version-number {versions[0]['Version']}", out)

    def test_standalone_firehose_transformer_is_production_ready(self):
        name = "weblogs-transformer"
        layer_arn = self.client("lambda").publish_layer_version(
            LayerName="geoip-given", Content={"ZipFile": b"PK\x05\x06" + bytes(18)},
            CompatibleArchitectures=["arm64"],
        )["LayerVersionArn"]
        self.run_script("deploy-standalone.sh", "firehose-transformer", FUNCTION_NAME=name, LAYER_ARN=layer_arn)
        self.assert_production_configuration(name, "firehose-transformer", f"arn:aws:iam::{ACCOUNT}:role/{name}-role",
                                              layer_arn)
        policy = self.client("iam").get_role_policy(RoleName=f"{name}-role", PolicyName="firehose-transformer")
        document = policy["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        self.assertEqual(sorted(s["Sid"] for s in document["Statement"]), ["Tracing", "WriteOwnLogs"])

    def test_a_missing_setting_stops_before_anything_is_created(self):
        result = subprocess.run(
            [os.path.join(REPO, "scripts", "deploy-standalone.sh"), "kinesis-enricher"], cwd=REPO,
            env={**self.env, "FUNCTION_NAME": "never-created", "STREAM_ARN": self.stream_arn},
            capture_output=True, text=True, timeout=60,
        )
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("DELIVERY_STREAM_NAME", result.stderr)
        names = [f["FunctionName"] for f in self.client("lambda").list_functions()["Functions"]]
        self.assertNotIn("never-created", names)

    def test_a_role_of_the_same_name_that_others_may_assume_is_not_reused(self):
        iam = self.client("iam")
        trust = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"}, "Action": "sts:AssumeRole"}]}
        iam.create_role(RoleName="borrowed-role", AssumeRolePolicyDocument=json.dumps(trust))
        result = subprocess.run(
            [os.path.join(REPO, "scripts", "deploy-standalone.sh"), "firehose-transformer"], cwd=REPO,
            env={**self.env, "FUNCTION_NAME": "borrowed", "LAYER_DIR": self.layer_dir},
            capture_output=True, text=True, timeout=300,
        )
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("role borrowed-role exists with another trust policy than "
                      "infra/standalone/lambda-trust-policy.json", result.stderr)
        self.assertEqual(iam.list_role_policies(RoleName="borrowed-role")["PolicyNames"], [], "no rights given")
        names = [f["FunctionName"] for f in self.client("lambda").list_functions()["Functions"]]
        self.assertNotIn("borrowed", names)

    def test_the_sam_route_changes_the_code_and_keeps_every_stack_setting(self):
        role_arn = self.client("iam").create_role(
            RoleName="stack-role",
            AssumeRolePolicyDocument=read_text("infra/standalone/lambda-trust-policy.json"),
        )["Role"]["Arn"]
        layer_arn = self.client("lambda").publish_layer_version(
            LayerName="stack-geoip", Content={"ZipFile": b"PK\x05\x06" + bytes(18)},
        )["LayerVersionArn"]
        # Settings that differ from the manifests' on purpose, an empty value included.
        stack_env = {"DELIVERY_STREAM_NAME": "weblogs-DeliveryStream-AbC", "LOG_FORMAT": "combined",
                     "TRUSTED_PROXIES": "", "IP_ANONYMIZATION": "truncate", "KEEP_ORIGINAL": "false",
                     "METRICS_NAMESPACE": "WeblogEnrichment"}
        function = {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "provided.al2023", "Handler": "bootstrap", "Role": role_arn, "Architectures": ["arm64"],
            "MemorySize": 1024, "Timeout": 90, "Environment": {"Variables": stack_env},
            "Code": {"ZipFile": "the stack's first code"}}}
        template = {"AWSTemplateFormatVersion": "2010-09-09",
                    "Resources": {"KinesisEnricherFunction": function, "FirehoseTransformerFunction": function}}
        cfn = self.client("cloudformation")
        cfn.create_stack(StackName="weblogs", TemplateBody=json.dumps(template))
        names = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                 for r in cfn.describe_stack_resources(StackName="weblogs")["StackResources"]}
        before = {}
        for name in names.values():
            self.client("lambda").update_function_configuration(FunctionName=name, Layers=[layer_arn])
            before[name] = self.configuration(name)

        self.run_script("update-stack-code.sh", "weblogs")

        for logical_id, binary in (("KinesisEnricherFunction", "kinesis-enricher"),
                                   ("FirehoseTransformerFunction", "firehose-transformer")):
            name = names[logical_id]
            after = self.configuration(name)
            self.assertEqual(after["CodeSha256"], zip_sha256(binary), name)
            self.assertNotEqual(after["CodeSha256"], before[name]["CodeSha256"])
            self.assertEqual({k: v for k, v in after.items() if k not in CODE_FIELDS},
                             {k: v for k, v in before[name].items() if k not in CODE_FIELDS})
            self.assertEqual(after["Environment"]["Variables"], stack_env)
            self.assertEqual(after["MemorySize"], 1024)
            self.assertEqual([layer["Arn"] for layer in after["Layers"]], [layer_arn])


    def test_replay_delivers_the_stacks_failed_batches_with_the_functions_settings(self):
        replay_bin = os.path.join(REPO, "target", "debug", "replay-failed-batches")
        self.assertTrue(os.path.exists(replay_bin), "replay-failed-batches is not built: cargo test (make test) builds it")
        kinesis, sqs = self.client("kinesis"), self.client("sqs")
        kinesis.create_stream(StreamName="replayed", ShardCount=1)
        stream_arn = kinesis.describe_stream_summary(StreamName="replayed")["StreamDescriptionSummary"]["StreamARN"]
        lines = read_text("tests/data/sample.log").splitlines()[:3]
        sequence_numbers = [kinesis.put_record(StreamName="replayed", PartitionKey="web-1", Data=f"{line}\n".encode())
                            ["SequenceNumber"] for line in lines]
        queue_url = sqs.create_queue(QueueName="stack-failed-batches")["QueueUrl"]
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({
            "requestContext": {"condition": "RetryAttemptsExhausted"},
            "KinesisBatchInfo": {"shardId": "shardId-000000000000", "startSequenceNumber": sequence_numbers[0],
                                 "endSequenceNumber": sequence_numbers[-1], "batchSize": 3, "streamArn": stream_arn},
        }))
        bucket = "replay-backup"
        self.client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        self.client("firehose").create_delivery_stream(
            DeliveryStreamName="stack-delivery", DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration={"RoleARN": f"arn:aws:iam::{ACCOUNT}:role/firehose",
                                                "BucketARN": f"arn:aws:s3:::{bucket}"},
        )
        role_arn = self.client("iam").create_role(
            RoleName="replay-stack-role", AssumeRolePolicyDocument=read_text("infra/standalone/lambda-trust-policy.json"),
        )["Role"]["Arn"]
        # The stack's function anonymises addresses: the replayed documents must too.
        function = {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "provided.al2023", "Handler": "bootstrap", "Role": role_arn, "Code": {"ZipFile": "code"},
            "Environment": {"Variables": {"DELIVERY_STREAM_NAME": "stack-delivery", "IP_ANONYMIZATION": "truncate",
                                          "TRUSTED_PROXIES": "", "LOG_FORMAT": "auto"}}}}
        template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"KinesisEnricherFunction": function},
                    "Outputs": {"FailedBatchQueueUrl": {"Value": queue_url},
                                "DeliveryStreamName": {"Value": "stack-delivery"},
                                "EnrichmentFunction": {"Value": {"Ref": "KinesisEnricherFunction"}}}}
        self.client("cloudformation").create_stack(StackName="replayed", TemplateBody=json.dumps(template))

        out = self.run_script("replay.sh", "replayed", REPLAY_BIN=replay_bin,
                              GEOIP_DIR=os.path.join(self.layer_dir, "geoip"))
        self.assertIn("1 messages: 1 replayed (3 records, 3 documents), 0 expired, 0 failed", out)
        s3 = self.client("s3")
        documents = [json.loads(line) for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
                     for line in s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().splitlines() if line]
        self.assertEqual(sorted(d["event"]["id"] for d in documents), sorted(sequence_numbers))
        for document in documents:
            self.assertTrue(document["source"]["ip"].endswith(".0"), document["source"]["ip"])
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
        self.assertEqual(attributes["Attributes"]["ApproximateNumberOfMessages"], "0")


if __name__ == "__main__":
    unittest.main()
