"""`make deploy`'s preflight, `make smoke`, `make reingest` and `make destroy` as a user runs them,
against moto.

moto runs CloudFormation stacks of plain resources but no Lambda code and no OpenSearch, so the
stacks here hold what the scripts read (the stream, the function and its settings, the outputs, a
retained bucket), and the metrics the function and Firehose would publish are put into moto's
CloudWatch by the test, at the moment they would appear. moto does not implement Lambda's
GetAccountSettings, so the preflight's quota check is seen only giving way. Needs .venv (`make
lambda-tools test-tools`).
"""
import base64
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

import boto3

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "infra", "opensearch"))
from local_aws import MotoServer  # noqa: E402

REGION = "eu-west-1"
SAMPLE = os.path.join(REPO, "tests", "data", "sample.log")
ENDPOINT = "search-weblogs-abc.eu-west-1.es.amazonaws.com"


def sample_lines():
    with open(SAMPLE, "rb") as f:
        return f.read().splitlines()


class StackCommands(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = MotoServer()
        cls.tmp = tempfile.mkdtemp(prefix="stack-commands-")
        cls.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": cls.moto.url,
            "AWS_CONFIG_FILE": os.path.join(cls.tmp, "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(cls.tmp, "no-credentials"),
        }
        cls.session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                            region_name=REGION)

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()

    @classmethod
    def client(cls, service):
        return cls.session.client(service, endpoint_url=cls.moto.url)

    def create_stack(self, name, function_logical_id="KinesisEnricherFunction", pipeline="kinesis-enricher"):
        """A stack with what the scripts read of infra/template.yaml's: the Pipeline parameter, the
        stream, the function with its metrics namespace, a bucket kept on delete, a queue, and the
        outputs."""
        role_arn = self.client("iam").create_role(
            RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        function = {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "provided.al2023", "Handler": "bootstrap", "Role": role_arn, "Code": {"ZipFile": "code"},
            "Environment": {"Variables": {"METRICS_NAMESPACE": "WeblogEnrichment"}}}}
        template = {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Parameters": {"Pipeline": {"Type": "String", "Default": "kinesis-enricher"}},
            "Resources": {
                "LogStream": {"Type": "AWS::Kinesis::Stream", "Properties": {"ShardCount": 1}},
                function_logical_id: function,
                "BackupBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
                "FailedBatchQueue": {"Type": "AWS::SQS::Queue"},
                "StackKey": {"Type": "AWS::KMS::Key", "DeletionPolicy": "Retain", "Properties": {
                    "KeyPolicy": {"Version": "2012-10-17", "Statement": []}}},
                "SearchAuditLogGroup": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain",
                                        "Properties": {"LogGroupName": f"/aws/opensearch/{name}-audit"}},
                "FunctionLogGroup": {"Type": "AWS::Logs::LogGroup",
                                     "Properties": {"LogGroupName": f"/aws/lambda/{name}-function"}},
            },
            "Outputs": {
                "StreamName": {"Value": {"Ref": "LogStream"}},
                "EnrichmentFunction": {"Value": {"Ref": function_logical_id}},
                "DeliveryStreamNames": {"Value": f"{name}-delivery, {name}-delivery-2"},
                "BackupBucketName": {"Value": {"Ref": "BackupBucket"}},
                "DashboardsUrl": {"Value": f"https://{ENDPOINT}/_dashboards/"},
                "PipelineDashboardUrl": {"Value": "https://console.example/dashboard"},
            },
        }
        cloudformation = self.client("cloudformation")
        cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template),
                                    Parameters=[{"ParameterKey": "Pipeline", "ParameterValue": pipeline}])
        return {o["OutputKey"]: o["OutputValue"]
                for o in cloudformation.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]}

    def script(self, *args, timeout=120, **env):
        return subprocess.Popen([os.path.join(REPO, "scripts", args[0]), *args[1:]], cwd=REPO,
                                env={**self.env, **env}, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def records_in(self, stream):
        kinesis = self.client("kinesis")
        shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
        iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard,
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        return [record["Data"] for record in kinesis.get_records(ShardIterator=iterator, Limit=10000)["Records"]]

    def publish(self, namespace, metric, dimension, value, count):
        self.client("cloudwatch").put_metric_data(Namespace=namespace, MetricData=[{
            "MetricName": metric, "Dimensions": [{"Name": dimension, "Value": value}], "Value": count, "Unit": "Count",
        }])

    def test_smoke_puts_the_sample_lines_and_waits_for_both_metrics(self):
        outputs = self.create_stack("smoke")
        lines = sample_lines()
        smoke = self.script("smoke.sh", "smoke", SMOKE_POLL="1", SMOKE_TIMEOUT="120")
        deadline = time.monotonic() + 60
        while len(self.records_in(outputs["StreamName"])) < len(lines):
            self.assertLess(time.monotonic(), deadline, "the sample lines never arrived in the stream")
            self.assertIsNone(smoke.poll(), smoke.stderr.read() if smoke.poll() is not None else "")
            time.sleep(0.5)
        self.assertEqual(self.records_in(outputs["StreamName"]), [line + b"\n" for line in lines],
                         "each line one record, in order")
        # What the function's EMF line and Firehose would report, in two parts, the last the
        # second delivery stream's.
        function = outputs["EnrichmentFunction"]
        self.publish("WeblogEnrichment", "Delivered", "FunctionName", function, len(lines) - 3)
        self.publish("WeblogEnrichment", "AlreadyDelivered", "FunctionName", function, 3)
        self.publish("AWS/Firehose", "DeliveryToAmazonOpenSearchService.Records", "DeliveryStreamName",
                     "smoke-delivery", len(lines) - 10)
        time.sleep(3)
        self.assertIsNone(smoke.poll(), "not done before the last delivery stream counted its documents")
        self.publish("AWS/Firehose", "DeliveryToAmazonOpenSearchService.Records", "DeliveryStreamName",
                     "smoke-delivery-2", 10)
        out, err = smoke.communicate(timeout=60)
        self.assertEqual(smoke.returncode, 0, out + err)
        self.assertIn(f"all {len(lines)} documents are in OpenSearch", out)
        self.assertIn(f"https://{ENDPOINT}/_dashboards/", out)
        self.assertIn("set the time range from 2026-", out)

    def test_smoke_says_where_to_look_when_nothing_arrives(self):
        self.create_stack("quiet", function_logical_id="FirehoseTransformerFunction")
        smoke = self.script("smoke.sh", "quiet", SMOKE_POLL="1", SMOKE_TIMEOUT="3")
        out, err = smoke.communicate(timeout=120)
        self.assertEqual(smoke.returncode, 1, out + err)
        self.assertIn("RecordsOk", out, "firehose-transformer's metric")
        self.assertIn(f"not all {len(sample_lines())} documents arrived within 3s", err)
        self.assertIn("/aws/lambda/", err)
        self.assertIn("failed/", err)

    def test_reingest_sends_failed_documents_to_every_delivery_stream_once(self):
        outputs = self.create_stack("reingested")
        bucket = outputs["BackupBucketName"]
        s3, firehose = self.client("s3"), self.client("firehose")
        s3.create_bucket(Bucket="reingested-indexed", CreateBucketConfiguration={"LocationConstraint": REGION})
        for stream in ("reingested-delivery", "reingested-delivery-2"):
            firehose.create_delivery_stream(DeliveryStreamName=stream, DeliveryStreamType="DirectPut",
                                            ExtendedS3DestinationConfiguration={
                                                "RoleARN": "arn:aws:iam::123456789012:role/firehose",
                                                "BucketARN": "arn:aws:s3:::reingested-indexed", "Prefix": f"{stream}/"})
        documents = [json.dumps({"@timestamp": f"2026-12-07T10:00:0{i}Z", "event": {"id": f"e{i}"}}) + "\n"
                     for i in range(4)]
        records = "".join(json.dumps({"attemptsMade": 9, "errorCode": "503", "errorMessage": "Service Unavailable",
                                      "rawData": base64.b64encode(d.encode()).decode(), "esIndexName": "weblogs"}) + "\n"
                          for d in documents)
        key = "failed/AmazonOpenSearchService-failed/2026/12/07/10/reingested-delivery-1-2026-12-07-10-00-00-a1.gz"
        s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(records.encode()))
        binary = os.path.join(REPO, "target", "debug", "reingest-failed-documents")

        dry = self.script("reingest.sh", "reingested", "--dry-run", REINGEST_BIN=binary)
        out, err = dry.communicate(timeout=120)
        self.assertEqual(dry.returncode, 0, out + err)
        self.assertIn(f"would reingest {key}: 4 documents\n  4 had failed with 503: Service Unavailable", out)
        self.assertEqual(s3.list_objects_v2(Bucket="reingested-indexed").get("KeyCount"), 0)

        run = self.script("reingest.sh", "reingested", REINGEST_BIN=binary)
        out, err = run.communicate(timeout=120)
        self.assertEqual(run.returncode, 0, out + err)
        self.assertIn(f"reingesting s3://{bucket}/failed/ into reingested-delivery, reingested-delivery-2", out)
        self.assertIn("1 files: 1 reingested (4 documents sent)", out)
        delivered = {}
        for listed in s3.list_objects_v2(Bucket="reingested-indexed")["Contents"]:
            body = s3.get_object(Bucket="reingested-indexed", Key=listed["Key"])["Body"].read().decode()
            delivered.setdefault(listed["Key"].split("/")[0], []).extend(body.splitlines(keepends=True))
        self.assertEqual(sorted(delivered), ["reingested-delivery", "reingested-delivery-2"], "spread over both")
        self.assertEqual(sorted(sum(delivered.values(), [])), sorted(documents), "each document once")
        self.assertEqual(s3.list_objects_v2(Bucket=bucket, Prefix="failed/").get("KeyCount"), 0)

    def test_reingest_refuses_a_stack_whose_delivery_stream_reads_kinesis(self):
        self.create_stack("transformed", function_logical_id="FirehoseTransformerFunction",
                          pipeline="firehose-transformer")
        binary = os.path.join(REPO, "target", "debug", "reingest-failed-documents")
        run = self.script("reingest.sh", "transformed", REINGEST_BIN=binary)
        out, err = run.communicate(timeout=120)
        self.assertEqual(run.returncode, 1, out + err)
        self.assertIn("stack transformed has Pipeline=firehose-transformer: its delivery stream reads the Kinesis "
                      "stream", err)

    def test_destroy_names_what_goes_and_what_stays_and_asks_first(self):
        outputs = self.create_stack("doomed")
        layer_version = self.client("lambda").publish_layer_version(
            LayerName="doomed-geoip", Content={"ZipFile": base64.b64decode("UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==")},
        )["Version"]
        for confirm, expected in (("", "no terminal to confirm on"), ("weblogs", "'weblogs' is not doomed")):
            refused = self.script("destroy.sh", "doomed", CONFIRM=confirm)
            out, err = refused.communicate(timeout=120)
            self.assertEqual(refused.returncode, 1, out + err)
            self.assertIn(expected, err)
            self.assertEqual(self.client("cloudformation").describe_stacks(StackName="doomed")["Stacks"][0]["StackStatus"],
                             "CREATE_COMPLETE")

        destroy = self.script("destroy.sh", "doomed", CONFIRM="doomed")
        out, err = destroy.communicate(timeout=300)
        self.assertEqual(destroy.returncode, 0, out + err)
        lost, _, kept = out.partition("and keeps")
        self.assertIn(f"Kinesis stream {outputs['StreamName']}", lost)
        self.assertIn("queue ", lost)
        self.assertIn(f"bucket {outputs['BackupBucketName']}", kept)
        self.assertIn(f"aws s3 rb s3://{outputs['BackupBucketName']} --force", kept)
        self.assertIn(f"--layer-name doomed-geoip --version-number {layer_version}", kept)
        self.assertIn("aws-sam-cli-managed-default", kept)
        # The audit log and its key are kept, each with the command that deletes it; the
        # function's log group goes.
        self.assertIn(f"aws logs delete-log-group --log-group-name /aws/opensearch/doomed-audit", kept)
        key_id = next(line for line in kept.splitlines() if "KMS key" in line).split()[3]
        self.assertIn(f"aws kms schedule-key-deletion --key-id {key_id} --pending-window-in-days 30", kept)
        self.assertIn("1 log groups", lost)
        self.assertNotIn("KMS key", lost)
        self.assertIn("doomed is deleted", out)
        stacks = self.client("cloudformation").list_stacks()["StackSummaries"]
        self.assertEqual([s["StackStatus"] for s in stacks if s["StackName"] == "doomed"], ["DELETE_COMPLETE"])
        streams = self.client("kinesis").list_streams()["StreamNames"]
        self.assertNotIn(outputs["StreamName"], streams)
        buckets = [b["Name"] for b in self.client("s3").list_buckets()["Buckets"]]
        self.assertIn(outputs["BackupBucketName"], buckets, "DeletionPolicy: Retain")

    def test_preflight_names_the_identity_and_what_the_deploy_will_do(self):
        self.create_stack("standing")
        for stack, expected in (("standing", "stack standing is CREATE_COMPLETE: it will be updated"),
                                ("brand-new", "stack brand-new does not exist yet: it will be created")):
            preflight = self.script("preflight.sh", stack)
            out, err = preflight.communicate(timeout=120)
            self.assertEqual(preflight.returncode, 0, out + err)
            self.assertIn(f"deploying {stack} as arn:aws:sts::123456789012:user/moto in {REGION}", out)
            self.assertIn(expected, out)
            # moto does not implement GetAccountSettings: the quota is then left to the user.
            self.assertIn("could not read the account's Lambda concurrency quota", err)

    def test_preflight_stops_without_credentials(self):
        env = {k: v for k, v in self.env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        preflight = subprocess.run([os.path.join(REPO, "scripts", "preflight.sh"), "weblogs"], cwd=REPO, env=env,
                                   stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        self.assertEqual(preflight.returncode, 1, preflight.stdout + preflight.stderr)
        self.assertIn("no working AWS credentials: Unable to locate credentials", preflight.stderr)

    def test_destroy_of_a_stack_that_is_not_there_says_so(self):
        destroy = self.script("destroy.sh", "never-deployed", CONFIRM="never-deployed")
        out, err = destroy.communicate(timeout=120)
        self.assertEqual(destroy.returncode, 1, out + err)
        self.assertIn(f"no stack never-deployed in {REGION}", err)


if __name__ == "__main__":
    unittest.main()
