"""Checks of infra/template.yaml that the linters cannot make: what the resources promise users.

Run by `make infra-check` with .venv-sam's Python (cfn-lint's YAML reader understands !Ref and
friends). cfn-lint, checkov, `sam validate --lint` and `sam build` run beside these tests.
"""
import json
import os
import re
import subprocess
import sys
import tomllib
import unittest

from cfnlint.decode import decode_str

import variants

INFRA = os.path.dirname(os.path.abspath(__file__))


def load_template():
    with open(os.path.join(INFRA, "template.yaml"), encoding="utf-8") as f:
        text = f.read()
    template, errors = decode_str(text)
    if errors:
        raise AssertionError(errors)
    return text, template


def render_sub(text, values):
    """Fn::Sub's substitution: ${Name} from values, ${!Literal} as ${Literal}."""

    def replace(match):
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        return values[name]

    return re.sub(r"\$\{([^}]+)\}", replace, text)


class Template(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text, cls.template = load_template()
        cls.resources = cls.template["Resources"]

    def properties(self, name):
        return self.resources[name]["Properties"]

    def user_data(self):
        return self.properties("WebServer")["UserData"]["Fn::Base64"]["Fn::Sub"]

    def test_web_server_files_are_the_ones_in_infra_ec2(self):
        user_data = self.user_data()
        with open(os.path.join(INFRA, "ec2", "agent.json"), encoding="utf-8") as f:
            agent = f.read()
        self.assertIn("cat > /etc/aws-kinesis/agent.json <<'AGENT'\n" + agent + "AGENT\n", user_data)
        for page in ("index.php", "search.php", "recommendation.php"):
            with open(os.path.join(INFRA, "ec2", page), encoding="utf-8") as f:
                content = f.read()
            self.assertIn(f"cat > /var/www/html/{page} <<'PAGE'\n{content}PAGE\n", user_data, page)

    def test_the_agent_ships_the_access_log_into_the_stream(self):
        rendered = render_sub(self.user_data(), {"AWS::Region": "eu-west-1", "AWS::StackName": "weblogs",
                                                 "LogStream": "weblogs-LogStream-x1"})
        agent_json = rendered.split("<<'AGENT'\n", 1)[1].split("\nAGENT\n", 1)[0]
        agent = json.loads(agent_json)
        self.assertEqual(agent["kinesis.endpoint"], "kinesis.eu-west-1.amazonaws.com")
        # The instance role may only put records, so the agent must not try to publish metrics.
        self.assertFalse(agent["cloudwatch.emitMetrics"])
        (flow,) = agent["flows"]
        self.assertEqual(flow["kinesisStream"], "weblogs-LogStream-x1")
        self.assertEqual(flow["filePattern"], "/var/log/httpd/access_log*")
        self.assertNotIn("dataProcessingOptions", flow, "raw lines: the functions parse them")

    def test_user_data_is_valid_bash(self):
        rendered = render_sub(self.user_data(), {"AWS::Region": "eu-west-1", "AWS::StackName": "weblogs",
                                                 "LogStream": "s"})
        result = subprocess.run(["bash", "-n"], input=rendered, text=True, capture_output=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(rendered.startswith("#!/bin/bash\nset -euxo pipefail\n"))

    def test_web_server_is_reached_by_session_manager_and_can_only_put_records(self):
        role = self.properties("WebServerRole")
        ship, session = role["Policies"]
        (statement,) = ship["PolicyDocument"]["Statement"]
        self.assertEqual(sorted(statement["Action"]), ["kinesis:PutRecord", "kinesis:PutRecords"])
        self.assertEqual(statement["Resource"], {"Fn::GetAtt": ["LogStream", "Arn"]})
        # Session Manager's channel and nothing else of Systems Manager (no parameters, no
        # documents, no commands): no managed policy at all.
        self.assertNotIn("ManagedPolicyArns", role)
        (statement,) = session["PolicyDocument"]["Statement"]
        self.assertEqual(statement["Action"], [
            "ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
            "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"])
        self.assertEqual(statement["Condition"], {"ArnLike": {"ec2:SourceInstanceARN": {"Fn::Sub":
            "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*"}}})
        instance = self.properties("WebServer")
        self.assertEqual(instance["MetadataOptions"]["HttpTokens"], "required", "IMDSv2 only")
        self.assertNotIn("KeyName", instance, "no SSH key pair")
        group = self.properties("WebServerSecurityGroup")
        ports = {rule["FromPort"] for rule in group["SecurityGroupIngress"]}
        self.assertEqual(ports, {80}, "no port 22")
        self.assertEqual([(rule["FromPort"], rule["ToPort"]) for rule in group["SecurityGroupEgress"]], [(443, 443)],
                         "out by HTTPS only")
        # The agent from Amazon Linux's signed repository, else one fixed release over HTTPS.
        self.assertIn("dnf install -y aws-kinesis-agent \\\n"
                      "  || dnf install -y https://streaming-data-agent.s3.amazonaws.com/"
                      "aws-kinesis-agent-2.0.1-1.amzn1.noarch.rpm\n", self.user_data())
        self.assertNotIn("http://", self.user_data())
        self.assertNotIn("latest", self.user_data())

    def test_opensearch_may_configure_only_this_stacks_pools_for_this_domain(self):
        role = self.properties("OpenSearchCognitoRole")
        self.assertNotIn("ManagedPolicyArns", role, "not the account-wide AmazonOpenSearchServiceCognitoAccess")
        (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
        domain = {"Fn::Sub": "arn:${AWS::Partition}:es:${AWS::Region}:${AWS::AccountId}:domain/${OpenSearchDomainName}"}
        self.assertEqual(trust["Principal"], {"Service": "opensearchservice.amazonaws.com"})
        self.assertEqual(trust["Condition"], {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                                              "ArnLike": {"aws:SourceArn": domain}})
        (policy,) = role["Policies"]
        statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
        self.assertEqual(statements["ConfigureTheUserPool"]["Resource"], {"Fn::GetAtt": ["UserPool", "Arn"]})
        self.assertEqual(statements["ConfigureTheIdentityPool"]["Resource"], {"Fn::Sub":
            "arn:${AWS::Partition}:cognito-identity:${AWS::Region}:${AWS::AccountId}:identitypool/${IdentityPool}"})
        # The managed policy's actions, no more.
        actions = sorted(a for s in statements.values() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
        self.assertEqual(actions, sorted([
            "cognito-idp:DescribeUserPool", "cognito-idp:CreateUserPoolClient", "cognito-idp:DeleteUserPoolClient",
            "cognito-idp:UpdateUserPoolClient", "cognito-idp:DescribeUserPoolClient", "cognito-idp:AdminInitiateAuth",
            "cognito-idp:AdminUserGlobalSignOut", "cognito-idp:ListUserPoolClients",
            "cognito-identity:DescribeIdentityPool", "cognito-identity:UpdateIdentityPool",
            "cognito-identity:GetIdentityPoolRoles", "iam:PassRole"]))
        self.assertEqual(statements["KeepTheIdentityPoolsRoles"]["Condition"],
                         {"StringEquals": {"iam:PassedToService": "cognito-identity.amazonaws.com"}})
        self.assertIs(self.properties("IdentityPool")["AllowClassicFlow"], False)
        # OpenSearch may write only this domain's logs into the stack's groups.
        log_policy = self.properties("SearchLogPolicy")["PolicyDocument"]["Fn::Sub"]
        statement = json.loads(log_policy.replace("${AWS::AccountId}", "123456789012").replace(
            "${AWS::Partition}", "aws").replace("${AWS::Region}", "eu-west-1"))["Statement"][0]
        self.assertEqual(statement["Condition"], {
            "StringEquals": {"aws:SourceAccount": "123456789012"},
            "ArnLike": {"aws:SourceArn": "arn:aws:es:eu-west-1:123456789012:domain/${OpenSearchDomainName}"}})

    def test_alarms_reach_an_address_or_someone_chosen_on_purpose(self):
        parameter = self.template["Parameters"]["AlarmEmail"]
        self.assertNotIn("Default", parameter, "a deployment must say where alarms go")
        pattern = re.compile(parameter["AllowedPattern"])
        for accepted in ("none", "ops@example.com", "alerts+web@shop.example.co.uk"):
            self.assertTrue(pattern.match(accepted), accepted)
        for refused in ("", "ops", "ops@example", "a b@example.com", "None"):
            self.assertFalse(pattern.match(refused), refused)
        self.assertEqual(self.template["Conditions"]["HasAlarmEmail"], {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, "none"]}]})

    def test_firehose_writes_only_failed_documents_after_retrying_two_hours(self):
        (policy,) = self.properties("DeliveryRole")["Policies"]
        statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"] if "Sid" in s}
        self.assertEqual(statements["BackupFailedDocuments"]["Resource"], [
            {"Fn::Sub": "${BackupBucket.Arn}/failed/*"}, {"Fn::Sub": "${BackupBucket.Arn}/processing-failed/*"}])
        self.assertEqual(statements["FindTheBackupBucket"]["Resource"], {"Fn::GetAtt": ["BackupBucket", "Arn"]})
        self.assertEqual(statements["FindTheBackupBucket"]["Action"],
                         ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"])
        for name, resource in self.resources.items():
            if resource["Type"] == "AWS::KinesisFirehose::DeliveryStream":
                destination = resource["Properties"]["AmazonopensearchserviceDestinationConfiguration"]
                self.assertEqual(destination["RetryOptions"], {"DurationInSeconds": 7200}, name)
                self.assertEqual(destination["S3Configuration"]["Prefix"], "failed/", name)

    def test_only_administrators_may_send_deletes(self):
        domain = self.properties("SearchDomain")
        domain_arn = "arn:${AWS::Partition}:es:${AWS::Region}:${AWS::AccountId}:domain/${OpenSearchDomainName}/*"
        allowed = {}
        for statement in domain["AccessPolicies"]["Statement"]:
            if "Fn::If" in statement:
                # Delivery=OpenSearch only: kinesis-enricher may POST to _bulk and nothing else.
                condition, statement, otherwise = statement["Fn::If"]
                self.assertEqual((condition, otherwise), ("DeliverDirectly", {"Ref": "AWS::NoValue"}))
                self.assertEqual(statement["Principal"], {"AWS": [
                    {"Fn::GetAtt": ["KinesisEnricherRole", "Arn"]},
                    {"Fn::If": ["ReadArchives", {"Fn::GetAtt": ["ArchiveEnricherRole", "Arn"]}, {"Ref": "AWS::NoValue"}]}]})
                self.assertEqual(statement["Action"], "es:ESHttpPost")
                self.assertEqual(statement["Resource"], {"Fn::Sub": domain_arn[:-1] + "_bulk"})
                continue
            self.assertEqual(statement["Effect"], "Allow")
            self.assertEqual(statement["Resource"], {"Fn::Sub": domain_arn})
            principals = statement["Principal"]["AWS"]
            actions = statement["Action"]
            for principal in principals if isinstance(principals, list) else [principals]:
                self.assertNotEqual(principal, "*")
                role = principal["Fn::GetAtt"][0]
                allowed.setdefault(role, set()).update(actions if isinstance(actions, list) else [actions])
        self.assertEqual(allowed, {
            "DashboardsAdminRole": {"es:ESHttp*"},
            # The setup sends GET, PUT and POST only (apply.py), and is admitted for those.
            "OpenSearchSetupRole": {"es:ESHttpGet", "es:ESHttpPut", "es:ESHttpPost"},
            "DashboardsViewerRole": {"es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost"},
            "DeliveryRole": {"es:ESHttpGet", "es:ESHttpPost", "es:ESHttpPut"},
        }, "the default Cognito role is admitted nowhere")
        with open(os.path.join(INFRA, "opensearch", "apply.py"), encoding="utf-8") as f:
            sent = set(re.findall(r'signed_request\(\s*credentials, region, "([A-Z]+)"', f.read()))
        self.assertEqual({f"es:ESHttp{method.title()}" for method in sent}, allowed["OpenSearchSetupRole"],
                         "the setup is admitted for exactly the methods it sends")
        # Inside, fine-grained access control narrows each one to its OpenSearch roles.
        security = domain["AdvancedSecurityOptions"]
        self.assertTrue(security["Enabled"])
        self.assertFalse(security["InternalUserDatabaseEnabled"], "no passwords inside OpenSearch: IAM and Cognito only")
        self.assertEqual(security["MasterUserOptions"], {"MasterUserARN": {"Fn::GetAtt": ["OpenSearchSetupRole", "Arn"]}})
        self.assertEqual(domain["LogPublishingOptions"]["AUDIT_LOGS"],
                         {"Enabled": True, "CloudWatchLogsLogGroupArn": {"Fn::GetAtt": ["SearchAuditLogGroup", "Arn"]}})
        self.assertIn("${SearchAuditLogGroup.Arn}", self.properties("SearchLogPolicy")["PolicyDocument"]["Fn::Sub"])
        self.assertTrue(domain["CognitoOptions"]["Enabled"])
        self.assertTrue(domain["EncryptionAtRestOptions"]["Enabled"])
        self.assertTrue(domain["NodeToNodeEncryptionOptions"]["Enabled"])
        self.assertTrue(domain["DomainEndpointOptions"]["EnforceHTTPS"])
        self.assertTrue(domain["DomainEndpointOptions"]["TLSSecurityPolicy"].startswith("Policy-Min-TLS-1-2"))
        skipped = [s["id"] for s in self.resources["SearchDomain"].get("Metadata", {}).get("checkov", {}).get("skip", [])]
        self.assertEqual(skipped, [], "audit logs and fine-grained access control are on, nothing to skip")

    def test_cognito_groups_give_their_roles_and_no_group_gives_nothing(self):
        groups = {self.properties(name)["GroupName"]: self.properties(name) for name in ("AdminsGroup", "ViewersGroup")}
        self.assertEqual(groups["admins"]["RoleArn"], {"Fn::GetAtt": ["DashboardsAdminRole", "Arn"]})
        self.assertEqual(groups["viewers"]["RoleArn"], {"Fn::GetAtt": ["DashboardsViewerRole", "Arn"]})
        self.assertLess(groups["admins"]["Precedence"], groups["viewers"]["Precedence"], "in both: administrator")
        attachment = self.properties("AdminUserIsAnAdministrator")
        self.assertEqual((attachment["GroupName"], attachment["Username"]), ({"Ref": "AdminsGroup"}, {"Ref": "AdminUser"}))
        for role in ("DashboardsUserRole", "DashboardsAdminRole", "DashboardsViewerRole"):
            (trust,) = self.properties(role)["AssumeRolePolicyDocument"]["Statement"]
            self.assertEqual(trust["Principal"], {"Federated": "cognito-identity.amazonaws.com"})
            self.assertEqual(trust["Condition"]["StringEquals"], {"cognito-identity.amazonaws.com:aud": {"Ref": "IdentityPool"}})
            self.assertNotIn("Policies", self.properties(role), f"{role}: the domain's access policy admits it, nothing else")
        roles = self.properties("IdentityPoolRoles")
        self.assertEqual(roles["Roles"], {"authenticated": {"Fn::GetAtt": ["DashboardsUserRole", "Arn"]}})
        self.assertEqual(roles["RoleMappings"], {"SetupClient": {
            "IdentityProvider": {"Fn::Sub": "cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}:${SetupClient}"},
            "Type": "Token", "AmbiguousRoleResolution": "Deny"}})
        # The same for OpenSearch's own app client, which exists only once the domain does: the setup.
        self.assertIn("IdentityPoolRoles", self.resources["SearchDomain"]["DependsOn"])
        self.assertIn("IdentityPoolRoles", self.resources["OpenSearchSetup"]["DependsOn"])
        setup = self.properties("OpenSearchSetup")
        for name, value in (("UserPoolId", {"Ref": "UserPool"}), ("IdentityPoolId", {"Ref": "IdentityPool"}),
                            ("DomainName", {"Ref": "SearchDomain"}),
                            ("AdminRoleArn", {"Fn::GetAtt": ["DashboardsAdminRole", "Arn"]}),
                            ("ViewerRoleArn", {"Fn::GetAtt": ["DashboardsViewerRole", "Arn"]}),
                            ("DeliveryRoleArn", {"Fn::GetAtt": ["DeliveryRole", "Arn"]}),
                            ("SetupRoleArn", {"Fn::GetAtt": ["OpenSearchSetupRole", "Arn"]}),
                            # IdentityPoolRoles' inputs, so the setup runs again after it changes
                            ("AuthenticatedRoleArn", {"Fn::GetAtt": ["DashboardsUserRole", "Arn"]}),
                            ("SetupClientId", {"Ref": "SetupClient"})):
            self.assertEqual(setup[name], value, name)
        (policy,) = self.properties("OpenSearchSetupRole")["Policies"]
        statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
        self.assertEqual(statements["FindTheDashboardsClient"]["Resource"], {"Fn::GetAtt": ["UserPool", "Arn"]})
        self.assertEqual(statements["MapGroupsToRoles"]["Action"],
                         ["cognito-identity:GetIdentityPoolRoles", "cognito-identity:SetIdentityPoolRoles"])
        self.assertEqual(statements["KeepThePoolsRoles"]["Condition"],
                         {"StringEquals": {"iam:PassedToService": "cognito-identity.amazonaws.com"}})
        outputs = self.template["Outputs"]
        for output in ("DashboardsAdminRoleArn", "DashboardsViewerRoleArn", "DeliveryRoleArn", "OpenSearchSetupRoleArn"):
            self.assertIn(output, outputs, "apply.py maps the roles the stack outputs")

    def test_every_service_principal_is_held_to_this_account(self):
        """Each statement that lets an AWS service act (trust, resource and key policies) names the
        account or the resource it acts for: confused-deputy conditions. Lambda and EC2 take a
        role only when someone with iam:PassRole gives it to a function or an instance."""
        passed_roles = {"lambda.amazonaws.com", "ec2.amazonaws.com"}
        held = {"aws:SourceAccount", "aws:SourceArn", "sts:ExternalId", "kms:EncryptionContext:aws:logs:arn"}
        checked = 0
        for name, resource in self.resources.items():
            properties = resource.get("Properties", {})
            for key in ("AssumeRolePolicyDocument", "PolicyDocument", "KeyPolicy"):
                statements = properties.get(key, {}).get("Statement", [])
                for statement in statements if isinstance(statements, list) else [statements]:
                    principal = statement.get("Principal", {}) if isinstance(statement, dict) else {}
                    service = principal.get("Service") if isinstance(principal, dict) else None
                    if service is None or (isinstance(service, str) and service in passed_roles):
                        continue
                    checked += 1
                    keys = {k for condition in statement.get("Condition", {}).values() for k in condition}
                    self.assertTrue(keys & held, f"{name} {key}: {service} without {sorted(held)}")
        self.assertGreaterEqual(checked, 10, "the trust, queue, topic and key policies were all read")

    def test_login_is_by_invitation_with_a_strong_password(self):
        pool = self.properties("UserPool")
        self.assertTrue(pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"])
        policy = pool["Policies"]["PasswordPolicy"]
        self.assertGreaterEqual(policy["MinimumLength"], 12)
        self.assertTrue(all(policy[k] for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols")))
        self.assertFalse(self.properties("IdentityPool")["AllowUnauthenticatedIdentities"])

    def test_secrets_are_kept_out_by_default_in_every_enriching_function(self):
        parameters = self.template["Parameters"]
        self.assertEqual(parameters["RedactQueryParams"]["Default"], "true", "on by default")
        self.assertEqual(parameters["RedactEmails"]["Default"], "false")
        for function in ("KinesisEnricherFunction", "FirehoseTransformerFunction", "ArchiveEnricherFunction"):
            variables = self.properties(function)["Environment"]["Variables"]
            self.assertEqual((variables["REDACT_QUERY_PARAMS"], variables["REDACT_EMAILS"]),
                             ({"Ref": "RedactQueryParams"}, {"Ref": "RedactEmails"}), function)
            self.assertEqual((variables["DROP_WHEN"], variables["SAMPLE_WHEN"]),
                             ({"Ref": "DropWhen"}, {"Ref": "SampleWhen"}), function)
        self.assertEqual((parameters["DropWhen"]["Default"], parameters["SampleWhen"]["Default"]), ("", ""),
                         "every line indexed unless the user says otherwise")
        body = json.dumps(self.properties("PipelineDashboard")["DashboardBody"])
        self.assertIn("DroppedLines", body)
        self.assertIn("SampledOutLines", body)
        pattern = re.compile(parameters["RedactQueryParams"]["AllowedPattern"])
        for value in ("true", "false", "default,sid", "sid,auth_key", ""):
            self.assertTrue(pattern.match(value), value)
        for value in ("a=b", "two words", "x&y"):
            self.assertFalse(pattern.match(value), value)

    def test_administrators_use_mfa_and_scripts_never_send_a_password(self):
        parameters = self.template["Parameters"]
        self.assertEqual(parameters["UserMfa"]["Default"], "ON", "an authenticator app at the first sign-in")
        pool = self.properties("UserPool")
        self.assertEqual((pool["MfaConfiguration"], pool["EnabledMfas"]), ({"Ref": "UserMfa"}, ["SOFTWARE_TOKEN_MFA"]))
        # The setup client (apply.py, credentials.py) admits SRP only: the password is proven, not sent.
        self.assertEqual(self.properties("SetupClient")["ExplicitAuthFlows"],
                         ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
        # Threat protection by parameter, with the feature plan it needs; off keeps Essentials.
        self.assertEqual(parameters["ThreatProtection"]["AllowedValues"], ["OFF", "AUDIT", "ENFORCED"])
        self.assertEqual(parameters["ThreatProtection"]["Default"], "OFF")
        self.assertEqual(pool["UserPoolAddOns"], {"AdvancedSecurityMode": {"Ref": "ThreatProtection"}})
        self.assertEqual(pool["UserPoolTier"], {"Fn::If": ["HasThreatProtection", "PLUS", "ESSENTIALS"]})
        self.assertEqual(self.template["Conditions"]["HasThreatProtection"],
                         {"Fn::Not": [{"Fn::Equals": [{"Ref": "ThreatProtection"}, "OFF"]}]})

    def test_the_stack_waits_for_the_web_servers_boot_verdict(self):
        policy = self.resources["WebServer"]["CreationPolicy"]["ResourceSignal"]
        self.assertEqual(policy["Count"], 1)
        self.assertEqual(policy["Timeout"], "PT15M")
        rendered = render_sub(self.user_data(), {"AWS::Region": "eu-west-1", "AWS::StackName": "weblogs",
                                                 "LogStream": "s"})
        self.assertIn("/opt/aws/bin/cfn-signal --exit-code \"$1\" --stack weblogs --resource WebServer", rendered)
        self.assertIn("trap 'signal 1' ERR\n", rendered, "any failing command signals failure")
        self.assertIn("dnf install -y aws-cfn-bootstrap ", rendered)
        self.assertTrue(rendered.endswith("systemctl is-active --quiet httpd aws-kinesis-agent\nsignal 0\n"),
                        "success is signalled last, once both services run")

    def test_direct_put_data_is_encrypted_in_firehose(self):
        encryption = self.properties("DeliveryStream")["DeliveryStreamEncryptionConfigurationInput"]
        self.assertEqual(encryption, {"Fn::If": ["UseFirehoseTransformer", {"Ref": "AWS::NoValue"},
                                                 {"KeyType": "AWS_OWNED_CMK"}]})

    def test_every_failure_has_an_alarm_that_handles_missing_data_on_purpose(self):
        alarms = {name: r for name, r in self.resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
        # (namespace, metric, missing data): breaching where silence is the failure, missing where a
        # new domain publishes nothing yet, notBreaching where no metric means nothing went wrong.
        expected = {
            "StreamIteratorAgeAlarm": ("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", "notBreaching"),
            "NoIncomingRecordsAlarm": ("AWS/Kinesis", "IncomingRecords", "breaching"),
            "FailedBatchAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "notBreaching"),
            "FailedBatchAgingAlarm": ("AWS/SQS", "ApproximateAgeOfOldestMessage", "notBreaching"),
            "LostInvocationsAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "notBreaching"),
            "FailedDocumentsAlarm": ("AWS/S3", "PutRequests", "notBreaching"),
            "FunctionErrorsAlarm": ("AWS/Lambda", "Errors", "notBreaching"),
            "FunctionThrottlesAlarm": ("AWS/Lambda", "Throttles", "notBreaching"),
            "FunctionDurationAlarm": ("AWS/Lambda", "Duration", "notBreaching"),
            "UndeliveredDocumentsAlarm": ("WeblogEnrichment", "ReportedFailures", "notBreaching"),
            "ProcessingFailedAlarm": ("WeblogEnrichment", "RecordsProcessingFailed", "notBreaching"),
            "DeliverySuccessAlarm": ("AWS/Firehose", "DeliveryToAmazonOpenSearchService.Success", "notBreaching"),
            "DeliveryFreshnessAlarm": ("AWS/Firehose", "DeliveryToAmazonOpenSearchService.DataFreshness", "notBreaching"),
            "LineLagAlarm": ("WeblogEnrichment", "LagMax", "notBreaching"),
            "BackupDeliveryAlarm": ("AWS/Firehose", "DeliveryToS3.Success", "notBreaching"),
            "ClusterRedAlarm": ("AWS/ES", "ClusterStatus.red", "notBreaching"),
            "FreeStorageAlarm": ("AWS/ES", "FreeStorageSpace", "missing"),
            "JvmMemoryPressureAlarm": ("AWS/ES", "JVMMemoryPressure", "missing"),
            "IndexWritesBlockedAlarm": ("AWS/ES", "ClusterIndexWritesBlocked", "missing"),
            "SnapshotFailureAlarm": ("AWS/ES", "AutomatedSnapshotFailure", "missing"),
            "GeoIpDatabaseAgeAlarm": ("WeblogEnrichment", "GeoIpCityDatabaseAgeDays", "notBreaching"),
            "GeoIpUpdaterErrorsAlarm": ("AWS/Lambda", "Errors", "notBreaching"),
            "ArchiveEnricherErrorsAlarm": ("AWS/Lambda", "Errors", "notBreaching"),
            "ArchiveFailedEventsAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "notBreaching"),
            "ArchiveUnreadObjectsAlarm": ("WeblogEnrichment", "FailedObjects", "notBreaching"),
        }
        # The delivery alarms again for each further delivery stream, when it exists.
        for stream in (2, 3, 4):
            for alarm in ("DeliverySuccessAlarm", "DeliveryFreshnessAlarm", "BackupDeliveryAlarm"):
                expected[f"{alarm}{stream}"] = expected[alarm]
                copy = self.resources[f"{alarm}{stream}"]
                self.assertEqual(copy["Condition"], f"HasDeliveryStream{stream}")
                self.assertEqual(copy["Properties"]["Dimensions"],
                                 [{"Name": "DeliveryStreamName", "Value": {"Ref": f"DeliveryStream{stream}"}}])
        actual = {name: (a["Properties"]["Namespace"], a["Properties"]["MetricName"],
                         a["Properties"]["TreatMissingData"]) for name, a in alarms.items()}
        self.assertEqual(actual, expected)
        for name, alarm in alarms.items():
            self.assertEqual(alarm["Properties"]["AlarmActions"], [{"Ref": "AlarmTopic"}], name)
        silence = self.properties("NoIncomingRecordsAlarm")
        self.assertEqual(silence["EvaluationPeriods"], {"Ref": "NoDataAlarmHours"})
        self.assertEqual((silence["Period"], silence["Threshold"], silence["ComparisonOperator"]),
                         (3600, 1, "LessThanThreshold"))
        self.assertEqual(self.properties("GeoIpDatabaseAgeAlarm")["Threshold"], {"Ref": "GeoIpMaxAgeDays"})
        # Any document Firehose writes to failed/ (the bucket's request metrics of that prefix).
        self.assertEqual(self.properties("BackupBucket")["MetricsConfigurations"],
                         [{"Id": "failed-documents", "Prefix": "failed/"}])
        self.assertEqual(self.properties("FailedDocumentsAlarm")["Dimensions"], [
            {"Name": "BucketName", "Value": {"Ref": "BackupBucket"}}, {"Name": "FilterId", "Value": "failed-documents"}])
        # A failed batch waiting half the shortest retention (24 h) alarms again, while it can be replayed.
        aging = self.properties("FailedBatchAgingAlarm")
        self.assertEqual(aging["Threshold"] * 2, self.template["Parameters"]["StreamRetentionHours"]["MinValue"] * 3600)
        # The functions invoked asynchronously keep their lost events in a queue, and that alarms.
        self.assertEqual(self.properties("LostInvocationsAlarm")["Dimensions"][0]["Value"],
                         {"Fn::GetAtt": ["LostInvocationsQueue", "QueueName"]})
        for role in ("GeoIpUpdaterRole", "OpenSearchSetupRole"):
            statements = {s["Sid"]: s for s in self.properties(role)["Policies"][0]["PolicyDocument"]["Statement"] if "Sid" in s}
            self.assertEqual(statements["KeepLostInvocations"], {"Sid": "KeepLostInvocations", "Effect": "Allow",
                "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["LostInvocationsQueue", "Arn"]}}, role)
            self.assertNotIn("ReportLostInvocations", statements, role)
        # The duration alarm fires at 80 % of each function's timeout.
        duration = self.properties("FunctionDurationAlarm")["Threshold"]["Fn::If"]
        self.assertEqual(duration[1], self.properties("KinesisEnricherFunction")["Timeout"] * 800)
        self.assertEqual(duration[2], self.properties("FirehoseTransformerFunction")["Timeout"] * 800)

    def test_the_domain_is_set_up_by_the_stack_before_firehose_can_deliver(self):
        self.assertEqual(self.resources["DeliveryStream"]["DependsOn"], "OpenSearchSetup")
        setup = self.properties("OpenSearchSetup")
        self.assertEqual(self.resources["OpenSearchSetup"]["Type"], "Custom::OpenSearchSetup")
        self.assertEqual(setup["ServiceToken"], {"Fn::GetAtt": ["OpenSearchSetupFunction", "Arn"]})
        self.assertEqual(setup["DomainEndpoint"], {"Fn::GetAtt": ["SearchDomain", "DomainEndpoint"]})
        for name in ("IndexName", "IndexRotation", "RetentionDays"):
            self.assertEqual(setup[name], {"Ref": name}, "the setup follows the stack's parameters")
        # New files, new version, an Update that applies them again.
        self.assertEqual(setup["FunctionVersion"], {"Ref": "OpenSearchSetupFunction.Version"})
        function = self.properties("OpenSearchSetupFunction")
        self.assertEqual(function["AutoPublishAlias"], "live")
        self.assertEqual((function["CodeUri"], function["Handler"]), ("opensearch/", "setup_resource.handler"))
        self.assertGreaterEqual(function["Timeout"], setup["ServiceTimeout"])
        self.assertEqual(function["DeadLetterQueue"], {"Type": "SQS", "TargetArn": {"Fn::GetAtt": ["LostInvocationsQueue", "Arn"]}})
        self.assertNotIn("Layers", function, "no GeoIP layer for the setup")
        # What it sets up comes from its environment, never from the event (setup_resource.SETTINGS).
        environment = function["Environment"]["Variables"]
        self.assertEqual(environment, {
            "STACK_ID": {"Ref": "AWS::StackId"},
            "DOMAIN_ENDPOINT": {"Fn::GetAtt": ["SearchDomain", "DomainEndpoint"]},
            "DOMAIN_NAME": {"Ref": "SearchDomain"},
            "INDEX_NAME": {"Ref": "IndexName"}, "INDEX_ROTATION": {"Ref": "IndexRotation"},
            "RETENTION_DAYS": {"Ref": "RetentionDays"}, "INDEX_SHARDS": {"Ref": "IndexShards"},
            "INDEX_REPLICAS": {"Ref": "IndexReplicas"}, "ADD_FIELDS": {"Ref": "AddFields"},
            "USER_POOL_ID": {"Ref": "UserPool"}, "IDENTITY_POOL_ID": {"Ref": "IdentityPool"},
            "ADMIN_ROLE_ARN": {"Fn::GetAtt": ["DashboardsAdminRole", "Arn"]},
            "VIEWER_ROLE_ARN": {"Fn::GetAtt": ["DashboardsViewerRole", "Arn"]},
            "DELIVERY_ROLE_ARN": {"Fn::GetAtt": ["DeliveryRole", "Arn"]},
            "DIRECT_WRITER_ROLE_ARNS": {"Fn::If": ["DeliverDirectly", {"Fn::Join": [",", [
                {"Fn::GetAtt": ["KinesisEnricherRole", "Arn"]},
                {"Fn::If": ["ReadArchives", {"Fn::GetAtt": ["ArchiveEnricherRole", "Arn"]}, {"Ref": "AWS::NoValue"}]}]]}, ""]},
            "SETUP_ROLE_ARN": {"Fn::GetAtt": ["OpenSearchSetupRole", "Arn"]},
        })
        sys.path.insert(0, os.path.join(INFRA, "opensearch"))
        try:
            import setup_resource  # noqa: PLC0415 - the function's own list of what it reads
        finally:
            sys.path.pop(0)
        read = (set(setup_resource.SETTINGS) | set(setup_resource.OPTIONAL_SETTINGS)
                | set(setup_resource.PARAMETER_SETTINGS.values()))
        self.assertEqual(read, set(environment), "the function reads what the template sets, no more")
        # Each value is also a property, so that a change sends an Update.
        for property_name, variable in (("DomainEndpoint", "DOMAIN_ENDPOINT"), ("DomainName", "DOMAIN_NAME"),
                                        ("IndexName", "INDEX_NAME"), ("RetentionDays", "RETENTION_DAYS"),
                                        ("UserPoolId", "USER_POOL_ID"), ("AdminRoleArn", "ADMIN_ROLE_ARN"),
                                        ("DeliveryRoleArn", "DELIVERY_ROLE_ARN"), ("SetupRoleArn", "SETUP_ROLE_ARN"),
                                        ("DirectWriterRoleArns", "DIRECT_WRITER_ROLE_ARNS")):
            self.assertEqual(setup[property_name], environment[variable], property_name)
        self.assertEqual(self.resources["OpenSearchSetupFunction"]["Metadata"]["BuildMethod"], "makefile")
        # The build copies every file the function reads.
        with open(os.path.join(INFRA, "opensearch", "Makefile"), encoding="utf-8") as f:
            copied = f.read().split("cp ", 1)[1].split('"$(ARTIFACTS_DIR)"')[0].split()
        self.assertEqual(sorted(copied), ["apply.py", "dashboards.ndjson", "index-template.json", "setup_resource.py"])
        (policy,) = self.properties("OpenSearchSetupRole")["Policies"]
        statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
        self.assertEqual(statements["SetUpTheDomain"]["Action"], ["es:ESHttpGet", "es:ESHttpPut", "es:ESHttpPost"])

    def rules_refusing(self, **parameters):
        """The template's Rules that refuse these parameter values (the others at their defaults)."""
        values = {name: str(p.get("Default", "")) for name, p in self.template["Parameters"].items()}
        values.update(parameters)

        def evaluate(expression):
            if isinstance(expression, dict):
                (function, argument), = expression.items()
                if function == "Ref":
                    return values[argument]
                if function == "Fn::Equals":
                    return evaluate(argument[0]) == evaluate(argument[1])
                if function == "Fn::Not":
                    return not evaluate(argument[0])
                if function == "Fn::And":
                    return all(evaluate(a) for a in argument)
                if function == "Fn::Or":
                    return any(evaluate(a) for a in argument)
                if function == "Fn::Contains":
                    return evaluate(argument[1]) in [evaluate(a) for a in argument[0]]
                raise AssertionError(f"no evaluation for {function}")
            return str(expression)

        for name, value in parameters.items():
            declared = self.template["Parameters"][name]
            if "AllowedValues" in declared:
                self.assertIn(value, [str(v) for v in declared["AllowedValues"]], name)
            for bound, holds in (("MinValue", lambda v, b: v >= b), ("MaxValue", lambda v, b: v <= b)):
                if bound in declared:
                    self.assertTrue(holds(float(value), float(declared[bound])), f"{name}={value} ({bound})")
        refusing = []
        for name, rule in self.template["Rules"].items():
            if "RuleCondition" in rule and not evaluate(rule["RuleCondition"]):
                continue
            if not all(evaluate(assertion["Assert"]) for assertion in rule["Assertions"]):
                refusing.append(name)
        return refusing

    def test_scaling_is_a_change_of_parameters_within_rules(self):
        self.assertEqual(self.rules_refusing(), [], "the defaults deploy")
        for parameters, refused in [
            ({"DeliveryStreamCount": "4"}, []),
            # The capacity plan's three levels (docs/capacity.md).
            ({"StreamMode": "PROVISIONED", "ShardCount": "2", "OpenSearchInstanceType": "r6g.large.search",
              "OpenSearchInstanceCount": "4", "OpenSearchAvailabilityZones": "2", "IndexShards": "2",
              "IndexReplicas": "1", "RetentionDays": "14", "OpenSearchVolumeGiB": "850"}, []),
            ({"StreamMode": "PROVISIONED", "ShardCount": "12", "DeliveryStreamCount": "3",
              "OpenSearchInstanceType": "r6g.2xlarge.search", "OpenSearchInstanceCount": "6",
              "OpenSearchAvailabilityZones": "3", "OpenSearchDedicatedMasterType": "m6g.large.search",
              "IndexShards": "18", "IndexReplicas": "1", "RetentionDays": "7", "OpenSearchVolumeGiB": "2700"}, []),
            ({"StreamMode": "PROVISIONED", "ShardCount": "120", "KinesisEnricherMemoryMB": "512", "BatchSize": "2000",
              "DeliveryStreamCount": "4", "OpenSearchInstanceType": "r6g.4xlarge.search",
              "OpenSearchInstanceCount": "30", "OpenSearchAvailabilityZones": "3",
              "OpenSearchDedicatedMasterType": "r6g.xlarge.search", "IndexRotation": "OneHour", "IndexShards": "10",
              "IndexReplicas": "1", "RetentionDays": "7", "OpenSearchVolumeGiB": "5400"}, []),
            ({"DeliveryStreamCount": "2", "Pipeline": "firehose-transformer"}, ["SeveralDeliveryStreamsNeedKinesisEnricher"]),
            ({"OpenSearchAvailabilityZones": "2", "OpenSearchInstanceCount": "4", "IndexReplicas": "1"}, []),
            ({"OpenSearchAvailabilityZones": "2", "OpenSearchInstanceCount": "3"}, ["TwoZonesNeedAnEvenNodeCount"]),
            ({"OpenSearchAvailabilityZones": "3", "OpenSearchInstanceCount": "6", "IndexReplicas": "2"}, []),
            ({"OpenSearchAvailabilityZones": "3", "OpenSearchInstanceCount": "4"}, ["ThreeZonesNeedNodesInThrees"]),
            ({"IndexReplicas": "1"}, ["OneReplicaNeedsTwoNodes"]),
            ({"IndexReplicas": "2", "OpenSearchInstanceCount": "2"}, ["TwoReplicasNeedThreeNodes"]),
        ]:
            self.assertEqual(self.rules_refusing(**parameters), refused, parameters)

        enricher = self.properties("KinesisEnricherFunction")
        self.assertEqual(enricher["MemorySize"], {"Ref": "KinesisEnricherMemoryMB"})
        self.assertEqual(self.properties("FirehoseTransformerFunction")["MemorySize"], {"Ref": "FirehoseTransformerMemoryMB"})
        self.assertNotIn("MemorySize", self.template["Globals"]["Function"])
        self.assertEqual(enricher["Events"]["Stream"]["Properties"]["ParallelizationFactor"], {"Ref": "ParallelizationFactor"})
        # Every delivery stream that exists is in DELIVERY_STREAM_NAME and in the role's PutRecordBatch.
        names = enricher["Environment"]["Variables"]["DELIVERY_STREAM_NAME"]["Fn::Join"]
        self.assertEqual(names[0], ",")
        (delivery,) = [s["Fn::If"][2] for s in self.properties("KinesisEnricherDeliveryPolicy")["PolicyDocument"]["Statement"]
                       if s["Fn::If"][2] != {"Ref": "AWS::NoValue"}]
        arns = delivery["Resource"]
        self.assertEqual(names[1][0], {"Ref": "DeliveryStream"})
        self.assertEqual(arns[0], {"Fn::GetAtt": ["DeliveryStream", "Arn"]})
        self.assertEqual(self.template["Outputs"]["DeliveryStreamNames"]["Value"]["Fn::Join"], names,
                         "make replay takes the same list")
        first = self.properties("DeliveryStream")["AmazonopensearchserviceDestinationConfiguration"]
        self.assertEqual(first["BufferingHints"]["SizeInMBs"], {"Ref": "FirehoseBufferMB"})
        for n in (2, 3, 4):
            name = f"DeliveryStream{n}"
            self.assertEqual(names[1][n - 1], {"Fn::If": [f"HasDeliveryStream{n}", {"Ref": name}, {"Ref": "AWS::NoValue"}]})
            self.assertEqual(arns[n - 1], {"Fn::If": [f"HasDeliveryStream{n}", {"Fn::GetAtt": [name, "Arn"]},
                                                      {"Ref": "AWS::NoValue"}]})
            stream = self.resources[name]
            self.assertEqual((stream["Condition"], stream["DependsOn"]), (f"HasDeliveryStream{n}", "OpenSearchSetup"))
            properties = stream["Properties"]
            self.assertEqual(properties["DeliveryStreamType"], "DirectPut")
            self.assertEqual(properties["DeliveryStreamEncryptionConfigurationInput"], {"KeyType": "AWS_OWNED_CMK"})
            destination = dict(properties["AmazonopensearchserviceDestinationConfiguration"])
            self.assertNotIn("ProcessingConfiguration", destination)
            self.assertEqual(destination, {k: v for k, v in first.items() if k != "ProcessingConfiguration"},
                             "the same index, domain, role, buffers and backup as the first stream")
        conditions = self.template["Conditions"]
        self.assertEqual(conditions["HasDeliveryStream3"], {"Fn::Or": [
            {"Fn::Equals": [{"Ref": "DeliveryStreamCount"}, "3"]}, {"Fn::Equals": [{"Ref": "DeliveryStreamCount"}, "4"]}]})

        cluster = self.properties("SearchDomain")["ClusterConfig"]
        self.assertEqual(cluster["ZoneAwarenessEnabled"], {"Fn::If": ["ZoneAware", True, False]})
        self.assertEqual(cluster["ZoneAwarenessConfig"]["Fn::If"][1],
                         {"AvailabilityZoneCount": {"Ref": "OpenSearchAvailabilityZones"}})
        self.assertEqual(cluster["DedicatedMasterCount"]["Fn::If"][1], {"Ref": "OpenSearchDedicatedMasterCount"})
        setup = self.properties("OpenSearchSetup")
        self.assertEqual((setup["IndexShards"], setup["IndexReplicas"]), ({"Ref": "IndexShards"}, {"Ref": "IndexReplicas"}))

    def test_the_dashboard_is_json_and_shows_every_streams_quota(self):
        body, values = self.properties("PipelineDashboard")["DashboardBody"]["Fn::Sub"]
        rendered = render_sub(body, {"AWS::Region": "eu-west-1", "AWS::StackName": "weblogs", "AWS::AccountId": "1",
                                     "LogStream": "s", "DeliveryStream": "d", "SearchDomain": "weblogs",
                                     **{k: "x" for k in values}})
        widgets = json.loads(rendered)["widgets"]
        quota = next(w for w in widgets if w["properties"]["title"].startswith("Firehose quota"))
        expressions = [m[0]["expression"] for m in quota["properties"]["metrics"] if isinstance(m[0], dict)]
        for metric in ("IncomingBytes", "BytesPerSecondLimit", "ThrottledRecords"):
            search = f"SEARCH('{{AWS/Firehose,DeliveryStreamName}} MetricName=\"{metric}\" weblogs', "
            self.assertTrue(any(e.startswith(search) for e in expressions), (search, expressions))
        archives = next(w for w in widgets if w["properties"]["title"].startswith("Archived logs in S3"))
        searches = [m[0]["expression"] for m in archives["properties"]["metrics"]]
        self.assertTrue(all('FunctionName=\"weblogs-s3-archive-enricher\"' in e for e in searches), searches)
        self.assertEqual(self.properties("ArchiveEnricherFunction")["FunctionName"],
                         {"Fn::Sub": "${AWS::StackName}-s3-archive-enricher"})

    def test_the_container_demo_logs_through_awslogs_into_the_stream_with_least_privilege(self):
        self.assertEqual(self.rules_refusing(CreateContainerDemo="true"), ["ContainerDemoNeedsANetwork"])
        network = {"WebServerVpcId": "vpc-0123456789abcdef0", "WebServerSubnetId": "subnet-0123456789abcdef0"}
        self.assertEqual(self.rules_refusing(CreateContainerDemo="true", **network), [])
        self.assertEqual(self.rules_refusing(CreateContainerDemo="true", Pipeline="firehose-transformer", **network),
                         ["ContainerDemoNeedsKinesisEnricher"])
        for name in ("ContainerCluster", "ContainerLogGroup", "ContainerExecutionRole", "ContainerTaskDefinition",
                     "ContainerService"):
            self.assertEqual(self.resources[name]["Condition"], "CreateContainerDemo", name)

        task = self.properties("ContainerTaskDefinition")
        self.assertEqual((task["RequiresCompatibilities"], task["NetworkMode"]), (["FARGATE"], "awsvpc"))
        self.assertEqual(task["RuntimePlatform"]["CpuArchitecture"], "ARM64")
        self.assertEqual(task["ExecutionRoleArn"], {"Fn::GetAtt": ["ContainerExecutionRole", "Arn"]})
        self.assertNotIn("TaskRoleArn", task, "the container calls no AWS API")
        (container,) = task["ContainerDefinitions"]
        self.assertTrue(container["ReadonlyRootFilesystem"])
        self.assertEqual(container["PortMappings"], [{"ContainerPort": 80, "Protocol": "tcp"}])
        self.assertEqual(container["LogConfiguration"], {"LogDriver": "awslogs", "Options": {
            "awslogs-group": {"Ref": "ContainerLogGroup"}, "awslogs-region": {"Ref": "AWS::Region"},
            "awslogs-stream-prefix": "web", "mode": "non-blocking", "max-buffer-size": "25m"}})
        # The format the captured test lines were written with (tests/data/container/capture.sh).
        self.assertEqual(container["Command"], ["httpd-foreground", "-c",
                                                'LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" '
                                                '\\"%{User-Agent}i\\"" common'])
        group = self.properties("ContainerLogGroup")
        self.assertEqual(group["LogGroupName"], {"Fn::Sub": "/ecs/${AWS::StackName}-web"})

        role = self.properties("ContainerExecutionRole")
        (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
        self.assertEqual(trust["Principal"], {"Service": "ecs-tasks.amazonaws.com"})
        self.assertNotIn("ManagedPolicyArns", role, "not AmazonECSTaskExecutionRolePolicy: no registry to pull from")
        (policy,) = role["Policies"]
        (statement,) = policy["PolicyDocument"]["Statement"]
        self.assertEqual(statement["Action"], ["logs:CreateLogStream", "logs:PutLogEvents"])
        self.assertEqual(statement["Resource"], {"Fn::GetAtt": ["ContainerLogGroup", "Arn"]})

        service = self.properties("ContainerService")
        self.assertEqual(self.resources["ContainerService"]["DependsOn"], "ContainerDemoSubscription")
        self.assertEqual((service["LaunchType"], service["DesiredCount"]), ("FARGATE", 1))
        network_config = service["NetworkConfiguration"]["AwsvpcConfiguration"]
        self.assertEqual(network_config["SecurityGroups"], [{"Ref": "WebServerSecurityGroup"}])
        self.assertEqual(network_config["Subnets"], [{"Ref": "WebServerSubnetId"}])
        self.assertEqual(self.resources["WebServerSecurityGroup"]["Condition"], "CreateAnyDemoSite")

        subscription = self.properties("ContainerDemoSubscription")
        self.assertEqual(self.resources["ContainerDemoSubscription"]["Condition"], "SubscribeContainerDemo")
        self.assertEqual(subscription, {"LogGroupName": {"Ref": "ContainerLogGroup"}, "FilterPattern": "",
                                        "DestinationArn": {"Fn::GetAtt": ["LogStream", "Arn"]},
                                        "RoleArn": {"Fn::GetAtt": ["ContainerLogsRole", "Arn"]}})
        self.assertEqual(self.resources["ContainerLogsRole"]["Condition"], "SubscribeAnyContainerLogs")
        statements = self.properties("ContainerLogsRole")["Policies"][0]["PolicyDocument"]["Statement"]
        self.assertEqual([(s["Action"], s["Resource"]) for s in statements],
                         [("kinesis:PutRecord", {"Fn::GetAtt": ["LogStream", "Arn"]})])

    def test_cloudfront_real_time_logs_go_into_the_stream_with_least_privilege(self):
        for name in ("CloudFrontRealtimeLogRole", "CloudFrontRealtimeLogConfig"):
            self.assertEqual(self.resources[name]["Condition"], "CreateCloudFrontRealtimeLogs", name)
        config = self.properties("CloudFrontRealtimeLogConfig")
        self.assertEqual(config["SamplingRate"], {"Ref": "CloudFrontSamplingRate"})
        (endpoint,) = config["EndPoints"]
        self.assertEqual(endpoint, {"StreamType": "Kinesis", "KinesisStreamConfig": {
            "RoleArn": {"Fn::GetAtt": ["CloudFrontRealtimeLogRole", "Arn"]},
            "StreamArn": {"Fn::GetAtt": ["LogStream", "Arn"]}}})
        self.assertEqual(config["Fields"][0], "timestamp", "auto recognises records by their timestamp")
        for secret in ("cs-cookie", "cs-headers", "cs-header-names"):
            self.assertNotIn(secret, config["Fields"])

        role = self.properties("CloudFrontRealtimeLogRole")
        (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
        self.assertEqual(trust["Principal"], {"Service": "cloudfront.amazonaws.com"})
        self.assertEqual(trust["Condition"]["StringEquals"], {"aws:SourceAccount": {"Ref": "AWS::AccountId"}})
        self.assertEqual(trust["Condition"]["ArnLike"]["aws:SourceArn"], {"Fn::Sub": (
            "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:realtime-log-config/${AWS::StackName}-realtime")})
        self.assertEqual(config["Name"], {"Fn::Sub": "${AWS::StackName}-realtime"})
        (policy,) = role["Policies"]
        (statement,) = policy["PolicyDocument"]["Statement"]
        self.assertEqual(statement["Action"], ["kinesis:DescribeStreamSummary", "kinesis:DescribeStream",
                                               "kinesis:PutRecord", "kinesis:PutRecords"])
        self.assertEqual(statement["Resource"], {"Fn::GetAtt": ["LogStream", "Arn"]})

    def test_the_geoip_updater_publishes_the_stacks_layer_on_a_schedule_with_least_privilege(self):
        self.assertEqual(self.template["Conditions"]["UpdateGeoIp"],
                         {"Fn::Not": [{"Fn::Equals": [{"Ref": "GeoIpUpdateSchedule"}, "none"]}]})
        self.assertEqual(self.properties("GeoIpLayer")["LayerName"], {"Fn::Sub": "${AWS::StackName}-geoip"})
        function = self.properties("GeoIpUpdaterFunction")
        self.assertEqual((function["CodeUri"], function["Handler"], function["Runtime"]),
                         ("../geoip/layer/", "update_layer.handler", "python3.12"))
        self.assertEqual(self.resources["GeoIpUpdaterFunction"]["Metadata"]["BuildMethod"], "makefile")
        with open(os.path.join(INFRA, "..", "geoip", "layer", "Makefile"), encoding="utf-8") as f:
            makefile = f.read()
        self.assertIn("cp fetch_geoip.py update_layer.py", makefile)
        self.assertIn("--platform manylinux2014_aarch64 --implementation cp --python-version 3.12", makefile)
        self.assertEqual(function["Events"]["Schedule"]["Type"], "ScheduleV2")
        self.assertEqual(function["Events"]["Schedule"]["Properties"]["ScheduleExpression"], {"Ref": "GeoIpUpdateSchedule"})
        self.assertEqual(function["ReservedConcurrentExecutions"], 1)
        self.assertEqual(function["DeadLetterQueue"], {"Type": "SQS", "TargetArn": {"Fn::GetAtt": ["LostInvocationsQueue", "Arn"]}})
        variables = function["Environment"]["Variables"]
        self.assertEqual(variables["LAYER_NAME"], {"Fn::Sub": "${AWS::StackName}-geoip"})
        self.assertEqual(variables["FUNCTION_NAMES"], {"Fn::Join": [",", [
            {"Fn::If": ["UseKinesisEnricher", {"Ref": "KinesisEnricherFunction"}, {"Ref": "FirehoseTransformerFunction"}]},
            {"Fn::If": ["ReadArchives", {"Ref": "ArchiveEnricherFunction"}, {"Ref": "AWS::NoValue"}]}]]})
        self.assertEqual(variables["LAYER_BUCKET"], {"Ref": "BackupBucket"})
        (policy,) = self.properties("GeoIpUpdaterRole")["Policies"]
        statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"] if "Sid" in s}
        self.assertEqual(statements["PublishTheLayer"]["Resource"], {"Fn::Sub":
            "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:layer:${AWS::StackName}-geoip"})
        self.assertEqual(statements["ReadTheFunctions"]["Action"], "lambda:GetFunctionConfiguration")
        move = statements["MoveTheFunctionsToTheLayer"]
        self.assertEqual(move["Action"], "lambda:UpdateFunctionConfiguration")
        self.assertEqual(move["Resource"], statements["ReadTheFunctions"]["Resource"])
        # Only onto this stack's GeoIP layer's versions, never to no layers.
        self.assertEqual(move["Condition"], {
            "ForAllValues:StringLike": {"lambda:Layer": {"Fn::Sub":
                "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:layer:${AWS::StackName}-geoip:*"}},
            "Null": {"lambda:Layer": "false"}})
        self.assertEqual(statements["StageTheArchive"]["Resource"], {"Fn::Sub": "${BackupBucket.Arn}/geoip-layer/*"})
        secret = [s for s in policy["PolicyDocument"]["Statement"] if "Fn::If" in s]
        self.assertEqual(secret, [{"Fn::If": ["HasMaxMindSecret", {
            "Sid": "ReadTheMaxMindKey", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
            "Resource": {"Ref": "MaxMindSecretArn"}}, {"Ref": "AWS::NoValue"}]}])

    def test_direct_delivery_writes_to_bulk_only_from_kinesis_enricher_and_is_set_up_for_it(self):
        self.assertEqual(self.template["Parameters"]["Delivery"]["Default"], "Firehose")
        self.assertEqual(self.template["Conditions"]["DeliverDirectly"], {"Fn::And": [
            {"Fn::Equals": [{"Ref": "Delivery"}, "OpenSearch"]}, {"Condition": "UseKinesisEnricher"}]})
        rule = self.template["Rules"]["DirectDeliveryNeedsKinesisEnricher"]
        self.assertEqual(rule["RuleCondition"], {"Fn::Equals": [{"Ref": "Delivery"}, "OpenSearch"]})
        asserted = [assertion["Assert"] for assertion in rule["Assertions"]]
        self.assertIn({"Fn::Equals": [{"Ref": "Pipeline"}, "kinesis-enricher"]}, asserted)
        self.assertIn({"Fn::Equals": [{"Ref": "IndexRotation"}, "OneDay"]}, asserted)
        # The role: PutRecordBatch in Firehose mode only; _bulk and the refused documents' prefix
        # in direct mode only.
        statements = self.properties("KinesisEnricherDeliveryPolicy")["PolicyDocument"]["Statement"]
        self.assertEqual(self.properties("KinesisEnricherDeliveryPolicy")["Roles"], [{"Ref": "KinesisEnricherRole"}])
        self.assertIn("KinesisEnricherDeliveryPolicy", self.resources["KinesisEnricherFunction"]["DependsOn"])
        role_statements = self.properties("KinesisEnricherRole")["Policies"][0]["PolicyDocument"]["Statement"]
        self.assertFalse({"DeliverDocuments", "IndexDocuments"} & {statement.get("Sid") for statement in role_statements})
        by_mode = {}
        for statement in statements:
            if "Fn::If" not in statement:
                continue
            condition, direct, firehose = statement["Fn::If"]
            self.assertEqual(condition, "DeliverDirectly")
            for mode, chosen in (("direct", direct), ("firehose", firehose)):
                if chosen != {"Ref": "AWS::NoValue"}:
                    by_mode.setdefault(mode, {})[chosen["Sid"]] = (chosen["Action"], chosen["Resource"])
        self.assertEqual(set(by_mode["firehose"]), {"DeliverDocuments"})
        self.assertEqual(by_mode["direct"], {
            "IndexDocuments": ("es:ESHttpPost", {"Fn::Sub": "arn:${AWS::Partition}:es:${AWS::Region}:${AWS::AccountId}:domain/${OpenSearchDomainName}/_bulk"}),
            "KeepRefusedDocuments": ("s3:PutObject", {"Fn::Sub": "${BackupBucket.Arn}/failed/opensearch-failed/*"}),
        })
        unconditional = {statement["Sid"] for statement in statements if "Fn::If" not in statement}
        self.assertNotIn("DeliverDocuments", unconditional)
        # The function's settings, and the setup that maps its role to <IndexName>_direct_writer.
        environment = self.properties("KinesisEnricherFunction")["Environment"]["Variables"]
        self.assertEqual(environment["DELIVERY"], {"Fn::If": ["DeliverDirectly", "opensearch", "firehose"]})
        for name, value in (("OPENSEARCH_ENDPOINT", {"Fn::Sub": "https://${SearchDomain.DomainEndpoint}"}),
                            ("OPENSEARCH_INDEX_PREFIX", {"Ref": "IndexName"}),
                            ("OPENSEARCH_MAX_BULK_BYTES", {"Ref": "BulkRequestBytes"}),
                            ("OPENSEARCH_GZIP", "true"),
                            ("FAILED_DOCUMENTS_BUCKET", {"Ref": "BackupBucket"})):
            self.assertEqual(environment[name], {"Fn::If": ["DeliverDirectly", value, {"Ref": "AWS::NoValue"}]}, name)
        roles = {"Fn::Join": [",", [{"Fn::GetAtt": ["KinesisEnricherRole", "Arn"]}, {"Fn::If": [
            "ReadArchives", {"Fn::GetAtt": ["ArchiveEnricherRole", "Arn"]}, {"Ref": "AWS::NoValue"}]}]]}
        writers = {"Fn::If": ["DeliverDirectly", roles, ""]}
        self.assertEqual(self.properties("OpenSearchSetupFunction")["Environment"]["Variables"]["DIRECT_WRITER_ROLE_ARNS"],
                         writers)
        self.assertEqual(self.properties("OpenSearchSetup")["DirectWriterRoleArns"], writers)
        output = self.template["Outputs"]["DirectWriterRoleArns"]
        self.assertEqual((output["Condition"], output["Value"]), ("DeliverDirectly", roles))
        sys.path.insert(0, os.path.join(INFRA, "opensearch"))
        try:
            import apply  # noqa: PLC0415 - the manual setup reads the same output
        finally:
            sys.path.pop(0)
        self.assertEqual(apply.DIRECT_WRITERS_OUTPUT, "DirectWriterRoleArns")
        # s3-archive-enricher delivers the same way, with its own delivery policy.
        archive = self.properties("ArchiveEnricherDeliveryPolicy")
        self.assertEqual(archive["Roles"], [{"Ref": "ArchiveEnricherRole"}])
        self.assertEqual(archive["PolicyDocument"], self.properties("KinesisEnricherDeliveryPolicy")["PolicyDocument"])
        archive_environment = self.properties("ArchiveEnricherFunction")["Environment"]["Variables"]
        for name in ("DELIVERY", "OPENSEARCH_ENDPOINT", "OPENSEARCH_INDEX_PREFIX", "OPENSEARCH_MAX_BULK_BYTES",
                     "OPENSEARCH_GZIP", "FAILED_DOCUMENTS_BUCKET"):
            self.assertEqual(archive_environment[name], environment[name], name)
        archive_role = self.properties("ArchiveEnricherRole")["Policies"][0]["PolicyDocument"]["Statement"]
        self.assertNotIn("DeliverDocuments", {statement.get("Sid") for statement in archive_role})

    def test_container_logs_with_firehose_transformer_are_refused_not_skipped(self):
        rule = self.template["Rules"]["ContainerLogsNeedKinesisEnricher"]
        self.assertEqual(rule["RuleCondition"], {"Fn::Not": [{"Fn::Equals": [{"Ref": "ContainerLogGroupName"}, ""]}]})
        (assertion,) = rule["Assertions"]
        self.assertEqual(assertion["Assert"], {"Fn::Equals": [{"Ref": "Pipeline"}, "kinesis-enricher"]})
        self.assertIn("ContainerLogGroupName needs Pipeline=kinesis-enricher", assertion["AssertDescription"])

    def test_archives_are_read_from_their_buckets_and_prefixes_with_least_privilege(self):
        conditions = self.template["Conditions"]
        buckets = {"ReadArchiveBucket": ("ArchiveBucketName", "ArchivePrefix"),
                   "ReadAlbLogs": ("AlbLogBucketName", "AlbLogPrefix"),
                   "ReadCloudFrontLogs": ("CloudFrontLogBucketName", "CloudFrontLogPrefix")}
        self.assertEqual(conditions["ReadArchives"], {"Fn::And": [
            {"Fn::Or": [{"Condition": name} for name in buckets]}, {"Condition": "UseKinesisEnricher"}]})
        for condition, (bucket, _) in buckets.items():
            self.assertEqual(conditions[condition], {"Fn::And": [
                {"Fn::Not": [{"Fn::Equals": [{"Ref": bucket}, ""]}]}, {"Condition": "UseKinesisEnricher"}]})
        rule = self.template["Rules"]["ArchivesNeedKinesisEnricher"]
        self.assertEqual(rule["RuleCondition"], {"Fn::Or": [
            {"Fn::Not": [{"Fn::Equals": [{"Ref": bucket}, ""]}]} for bucket, _ in buckets.values()]})
        self.assertEqual(rule["Assertions"][0]["Assert"], {"Fn::Equals": [{"Ref": "Pipeline"}, "kinesis-enricher"]})
        for name in ("ArchiveEnricherFunction", "ArchiveEnricherRole", "ArchiveBatchOperationsRole", "ArchiveFailedQueue"):
            self.assertEqual(self.resources[name]["Condition"], "ReadArchives", name)
        function = self.properties("ArchiveEnricherFunction")
        self.assertEqual(function["Timeout"], 900)
        self.assertEqual(function["ReservedConcurrentExecutions"], {"Ref": "ArchiveConcurrency"})
        self.assertEqual(function["EventInvokeConfig"]["DestinationConfig"]["OnFailure"],
                         {"Type": "SQS", "Destination": {"Fn::GetAtt": ["ArchiveFailedQueue", "Arn"]}})
        self.assertEqual(function["Environment"]["Variables"]["DELIVERY_STREAM_NAME"],
                         self.properties("KinesisEnricherFunction")["Environment"]["Variables"]["DELIVERY_STREAM_NAME"])
        (policy,) = self.properties("ArchiveEnricherRole")["Policies"]
        statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"] if "Sid" in s}
        # Reading: objects of each bucket given under its prefix, nothing else of S3.
        self.assertEqual(statements["ReadTheArchives"]["Action"], ["s3:GetObject", "s3:GetObjectVersion"])
        self.assertEqual(statements["ReadTheArchives"]["Resource"], [
            {"Fn::If": [condition, {"Fn::Sub": "arn:${AWS::Partition}:s3:::${%s}/${%s}*" % names}, {"Ref": "AWS::NoValue"}]}
            for condition, names in buckets.items()])
        # The log buckets are read by their formats, whatever LogFormat says; then the user's.
        self.assertEqual(function["Environment"]["Variables"]["LOG_FORMAT_BY_SOURCE"], {"Fn::Join": [" ", [
            {"Fn::If": ["ReadAlbLogs", {"Fn::Sub": '{"s3://${AlbLogBucketName}/${AlbLogPrefix}": "alb"}'}, ""]},
            {"Fn::If": ["ReadCloudFrontLogs",
                        {"Fn::Sub": '{"s3://${CloudFrontLogBucketName}/${CloudFrontLogPrefix}": "cloudfront"}'}, ""]},
            {"Ref": "LogFormatBySource"}]]})
        for stream_function in ("KinesisEnricherFunction", "FirehoseTransformerFunction"):
            self.assertEqual(self.properties(stream_function)["Environment"]["Variables"]["LOG_FORMAT_BY_SOURCE"],
                             {"Ref": "LogFormatBySource"})
        # Claiming continuations: markers under one prefix of the stack's backup bucket, which
        # expire after a day.
        self.assertEqual(statements["ClaimContinuations"]["Action"], ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"])
        self.assertEqual(statements["ClaimContinuations"]["Resource"], {"Fn::Sub": "${BackupBucket.Arn}/continuations/*"})
        self.assertEqual(function["Environment"]["Variables"]["CONTINUATION_CLAIMS"],
                         {"Fn::Sub": "s3://${BackupBucket}/continuations"})
        rules = {r["Id"]: r for r in self.properties("BackupBucket")["LifecycleConfiguration"]["Rules"]}
        self.assertEqual((rules["expire-continuation-claims"]["Prefix"], rules["expire-continuation-claims"]["ExpirationInDays"]),
                         ("continuations/", 1))
        s3_actions = [a for sid, s in statements.items() if sid != "ClaimContinuations"
                      for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]) if a.startswith("s3:")]
        self.assertEqual(s3_actions, ["s3:GetObject", "s3:GetObjectVersion"])
        # Continuing: only itself, by the name it is given.
        self.assertEqual(function["FunctionName"], {"Fn::Sub": "${AWS::StackName}-s3-archive-enricher"})
        own = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-s3-archive-enricher"
        self.assertEqual(statements["ContinueAnObject"]["Resource"], [{"Fn::Sub": own}, {"Fn::Sub": own + ":*"}])
        # EventBridge can send failed events only to a queue it may encrypt for.
        self.assertEqual(self.properties("ArchiveFailedQueue").get("SqsManagedSseEnabled"), True)
        # New objects: created under the prefix of each bucket.
        for rule_name, condition, (bucket, prefix) in (
                ("NewArchives", "TriggerOnNewArchives", buckets["ReadArchiveBucket"]),
                ("NewAlbLogs", "ReadAlbLogs", buckets["ReadAlbLogs"]),
                ("NewCloudFrontLogs", "ReadCloudFrontLogs", buckets["ReadCloudFrontLogs"])):
            pattern = self.properties(rule_name + "Rule")["EventPattern"]
            self.assertEqual(pattern["source"], ["aws.s3"])
            self.assertEqual(pattern["detail-type"], ["Object Created"])
            self.assertEqual(pattern["detail"], {"bucket": {"name": [{"Ref": bucket}]},
                                                 "object": {"key": [{"prefix": {"Ref": prefix}}]}})
            self.assertEqual(self.resources[rule_name + "Rule"]["Condition"], condition)
            (target,) = self.properties(rule_name + "Rule")["Targets"]
            self.assertEqual(target["DeadLetterConfig"], {"Arn": {"Fn::GetAtt": ["ArchiveFailedQueue", "Arn"]}})
            permission = self.properties(rule_name + "Permission")
            self.assertEqual(permission["SourceArn"], {"Fn::GetAtt": [rule_name + "Rule", "Arn"]})
            self.assertEqual(permission["Principal"], "events.amazonaws.com")
            self.assertEqual(self.resources[rule_name + "Permission"]["Condition"], condition)
        # Batch Operations: assumed by the service for this account, invokes the function only.
        trust = self.properties("ArchiveBatchOperationsRole")["AssumeRolePolicyDocument"]["Statement"][0]
        self.assertEqual(trust["Principal"], {"Service": "batchoperations.s3.amazonaws.com"})
        self.assertEqual(trust["Condition"], {
            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
            "ArnLike": {"aws:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:s3:${AWS::Region}:${AWS::AccountId}:job/*"}}})
        (policy,) = self.properties("ArchiveBatchOperationsRole")["Policies"]
        statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
        self.assertEqual(statements["InvokeTheFunction"]["Resource"][0], {"Fn::GetAtt": ["ArchiveEnricherFunction", "Arn"]})
        self.assertEqual(statements["ListTheArchives"]["Resource"], [
            {"Fn::If": [condition, {"Fn::Sub": "arn:${AWS::Partition}:s3:::${%s}" % names[0]}, {"Ref": "AWS::NoValue"}]}
            for condition, names in buckets.items()])
        self.assertEqual(statements["WriteManifestsAndReports"]["Resource"], [
            {"Fn::Sub": "${BackupBucket.Arn}/batch-manifests/*"}, {"Fn::Sub": "${BackupBucket.Arn}/batch-reports/*"}])

    def test_kinesis_retries_are_bounded_and_failures_reported_per_item(self):
        stream = self.properties("KinesisEnricherFunction")["Events"]["Stream"]["Properties"]
        self.assertEqual(stream["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        self.assertTrue(stream["BisectBatchOnFunctionError"])
        self.assertEqual(stream["MaximumRetryAttempts"], {"Ref": "MaximumRetryAttempts"})
        self.assertEqual(stream["MaximumRecordAgeInSeconds"], {"Ref": "MaximumRecordAgeSeconds"})
        self.assertEqual(stream["DestinationConfig"]["OnFailure"]["Type"], "SQS")
        for name in ("MaximumRetryAttempts", "MaximumRecordAgeSeconds"):
            self.assertIn("MaxValue", self.template["Parameters"][name], f"{name} must be bounded")
        self.assertGreaterEqual(self.properties("KinesisEnricherFunction")["Timeout"], 30)

    def test_the_processor_buffer_keeps_responses_under_6_mb(self):
        processing = self.properties("DeliveryStream")["AmazonopensearchserviceDestinationConfiguration"][
            "ProcessingConfiguration"
        ]["Fn::If"][1]
        (processor,) = processing["Processors"]
        parameters = {p["ParameterName"]: p["ParameterValue"] for p in processor["Parameters"]}
        # firehose-transformer's measured ratio: 0.5 MB of sample lines come back as 3.32 MB (6.64x).
        self.assertLessEqual(float(parameters["BufferSizeInMBs"]) * 6.7, 6.0)
        self.assertEqual(parameters["LambdaArn"], {"Fn::GetAtt": ["FirehoseTransformerFunction", "Arn"]})

    def test_every_log_group_is_encrypted_and_has_a_retention_and_every_function_a_log_group(self):
        groups = {k: r for k, r in self.resources.items() if r["Type"] == "AWS::Logs::LogGroup"}
        for name, group in groups.items():
            self.assertEqual(group["Properties"]["RetentionInDays"], {"Ref": "LogRetentionDays"}, name)
            self.assertEqual(group["Properties"]["KmsKeyId"], {"Fn::GetAtt": ["StackKey", "Arn"]}, name)
        statements = {s["Sid"]: s for s in self.properties("StackKey")["KeyPolicy"]["Statement"]}
        logs = statements["LogsEncryptThisStacksLogGroups"]
        self.assertEqual(logs["Principal"], {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}})
        self.assertEqual(logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"], {
            "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"})
        # Each function logs to its own group, and its role may write there only.
        functions = [k for k, r in self.resources.items() if r["Type"] == "AWS::Serverless::Function"]
        self.assertEqual(len(functions), 5)
        for function in functions:
            properties = self.properties(function)
            group = properties["LoggingConfig"]["LogGroup"]["Ref"]
            self.assertIn(group, groups, function)
            self.assertTrue(groups[group]["Properties"]["LogGroupName"]["Fn::Sub"].startswith("/aws/lambda/${AWS::StackName}/"))
            self.assertEqual(groups[group].get("Condition"), self.resources[function].get("Condition"), function)
            role = properties["Role"]["Fn::GetAtt"][0]
            statements = []
            for policy in self.properties(role)["Policies"]:
                for statement in policy["PolicyDocument"]["Statement"]:
                    # A conditional statement: both branches.
                    branches = statement["Fn::If"][1:] if "Fn::If" in statement else [statement]
                    statements += [branch for branch in branches if "Action" in branch]
            def actions(statement):
                return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            logs = [st for st in statements if any(str(a).startswith("logs:") for a in actions(st))]
            self.assertEqual([(st["Action"], st["Resource"]) for st in logs],
                             [(["logs:CreateLogStream", "logs:PutLogEvents"], {"Fn::GetAtt": [group, "Arn"]})], role)
        self.assertNotIn("/aws/lambda/*", self.text)

    def test_functions_are_built_with_cargo_lambda_for_arm64(self):
        self.assertEqual(self.template["Globals"]["Function"]["Architectures"], ["arm64"])
        self.assertEqual(self.template["Globals"]["Function"]["Runtime"], "provided.al2023")
        self.assertEqual(self.template["Globals"]["Function"]["LoggingConfig"]["LogFormat"], "JSON")
        for name, binary in (("KinesisEnricherFunction", "kinesis-enricher"), ("FirehoseTransformerFunction", "firehose-transformer"),
                             ("ArchiveEnricherFunction", "s3-archive-enricher")):
            metadata = self.resources[name]["Metadata"]
            self.assertEqual(metadata["BuildMethod"], "rust-cargolambda")
            self.assertEqual(metadata["BuildProperties"]["Binary"], binary)
            self.assertEqual(self.properties(name)["CodeUri"], f"../functions/{binary}")

    def test_every_skip_says_why(self):
        for name, resource in self.resources.items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                self.assertGreater(len(skip.get("comment", "")), 20, f"{name}: {skip['id']} needs its reason")
        # cfn-lint ignores carry their reason as a comment on the line above.
        lines = self.text.splitlines()
        for i, line in enumerate(lines):
            if re.fullmatch(r"\s+- [EW]S?\d{4}", line):
                self.assertTrue(lines[i - 1].strip().startswith("#"), f"line {i + 1}: {line.strip()} needs a reason")

    def test_the_data_outlives_the_stack_and_the_backup_bucket_not_a_failed_create(self):
        kept = {name: r["DeletionPolicy"] for name, r in self.resources.items() if "DeletionPolicy" in r}
        # A failed first deploy removes the empty bucket with the rest; a deleted stack keeps
        # Firehose's failed documents, the indexed documents, the audit log and its key.
        self.assertEqual(kept, {"BackupBucket": "RetainExceptOnCreate", "SearchDomain": "Retain",
                                "SearchAuditLogGroup": "Retain", "StackKey": "Retain"})
        for name in kept:
            self.assertEqual(self.resources[name]["UpdateReplacePolicy"], "Retain", name)
        self.assertEqual(self.properties("SearchAuditLogGroup")["KmsKeyId"], {"Fn::GetAtt": ["StackKey", "Arn"]})

    def test_samconfig_names_only_template_parameters(self):
        with open(os.path.join(INFRA, "samconfig.toml"), "rb") as f:
            config = tomllib.load(f)
        deploy = config["default"]["deploy"]["parameters"]
        overrides = dict(item.split("=", 1) for item in deploy["parameter_overrides"])
        self.assertTrue(set(overrides) <= set(self.template["Parameters"]), set(overrides) - set(self.template["Parameters"]))
        self.assertIn("CAPABILITY_IAM", deploy["capabilities"])

    def test_variants_change_what_they_say(self):
        for name, defaults in variants.VARIANTS.items():
            _, template = (None, decode_str(variants.with_defaults(self.text, defaults))[0])
            for parameter, value in defaults.items():
                self.assertEqual(str(template["Parameters"][parameter]["Default"]), value.strip('"'), name)


if __name__ == "__main__":
    unittest.main()
