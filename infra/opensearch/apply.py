#!/usr/bin/env python3
"""Loads the index template and the Dashboards saved objects into the stack's OpenSearch domain.

    infra/opensearch/apply.py --stack-name weblogs [--region eu-west-1] [--username you@example.com]

The domain admits only two roles: Firehose's and the one Cognito gives signed-in Dashboards users.
So this signs in as a Dashboards user (the AdminEmail of the stack by default; the password comes
from DASHBOARDS_PASSWORD or a prompt, and an MFA code is asked for when the user has MFA), takes
that user's role from the identity pool, and sends two SigV4-signed requests:

    PUT  /_index_template/weblogs                          infra/opensearch/index-template.json
    POST /_dashboards/api/saved_objects/_import?overwrite=true   infra/opensearch/dashboards.ndjson

Both are idempotent, so running it again after a change updates what is there. The template applies
to indices created after it; run it before the first documents arrive, or roll over (the index
rotates daily). Needs boto3 (`make infra-tools` puts it in .venv-sam).
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
TEMPLATE_NAME = "weblogs"


class SetupError(Exception):
    """A problem the user can act on; the message says what to do."""


def stack_outputs(session, stack_name):
    stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    wanted = ("OpenSearchDomainEndpoint", "UserPoolId", "SetupClientId", "IdentityPoolId")
    missing = [k for k in wanted if k not in outputs]
    if missing:
        raise SetupError(f"stack {stack_name} has no output {', '.join(missing)}: is it infra/template.yaml?")
    return outputs


def sign_in(session, outputs, username, password, ask):
    """The Cognito ID token of a Dashboards user (answering an MFA challenge with `ask`)."""
    idp = session.client("cognito-idp")
    answer = idp.initiate_auth(
        ClientId=outputs["SetupClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    challenge = answer.get("ChallengeName")
    if challenge == "NEW_PASSWORD_REQUIRED":
        raise SetupError(
            f"{username} still has the temporary password: sign in to Dashboards once to choose one, then run this again"
        )
    if challenge == "SOFTWARE_TOKEN_MFA":
        answer = idp.respond_to_auth_challenge(
            ClientId=outputs["SetupClientId"],
            ChallengeName=challenge,
            Session=answer["Session"],
            ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": ask("MFA code: ")},
        )
    elif challenge:
        raise SetupError(f"Cognito asks for {challenge}, which this script does not answer; use Dashboards")
    return answer["AuthenticationResult"]["IdToken"]


def dashboards_user_credentials(session, outputs, id_token):
    """Temporary AWS credentials of the role the identity pool gives signed-in users."""
    identity = session.client("cognito-identity")
    provider = f"cognito-idp.{session.region_name}.amazonaws.com/{outputs['UserPoolId']}"
    logins = {provider: id_token}
    identity_id = identity.get_id(IdentityPoolId=outputs["IdentityPoolId"], Logins=logins)["IdentityId"]
    found = identity.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)["Credentials"]
    return Credentials(found["AccessKeyId"], found["SecretKey"], found["SessionToken"])


def signed_request(credentials, region, method, url, body, headers):
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(credentials, "es", region).add_auth(request)
    prepared = urllib.request.Request(url, data=body, method=method, headers=dict(request.headers.items()))
    try:
        with urllib.request.urlopen(prepared, timeout=60) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace")[:500]
        raise SetupError(f"{method} {url}: HTTP {error.code}: {detail}") from None


def multipart_file(field, filename, content):
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        f"Content-Type: application/ndjson\r\n\r\n"
    ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def apply(base_url, credentials, region):
    """Sends the index template and the saved objects; returns what the domain answered."""
    with open(os.path.join(HERE, "index-template.json"), "rb") as f:
        template = f.read()
    template_answer = signed_request(
        credentials, region, "PUT", f"{base_url}/_index_template/{TEMPLATE_NAME}", template,
        {"Content-Type": "application/json"},
    )
    with open(os.path.join(HERE, "dashboards.ndjson"), "rb") as f:
        body, content_type = multipart_file("file", "dashboards.ndjson", f.read())
    import_answer = signed_request(
        credentials, region, "POST", f"{base_url}/_dashboards/api/saved_objects/_import?overwrite=true", body,
        {"Content-Type": content_type, "osd-xsrf": "true"},
    )
    if not import_answer.get("success"):
        raise SetupError(f"the saved objects were not imported: {json.dumps(import_answer)[:500]}")
    return template_answer, import_answer


def main(argv, environ, ask_secret=getpass.getpass):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack-name", default="weblogs", help="the deployed infra/template.yaml stack")
    parser.add_argument("--region", help="the stack's region (default: the AWS CLI's)")
    parser.add_argument("--username", help="Dashboards user (default: asked for)")
    parser.add_argument("--endpoint-url", help=argparse.SUPPRESS)  # tests: a local stand-in domain
    args = parser.parse_args(argv)
    try:
        session = boto3.session.Session(region_name=args.region)
        if not session.region_name:
            raise SetupError("no region: pass --region or set AWS_DEFAULT_REGION")
        outputs = stack_outputs(session, args.stack_name)
        username = args.username or input("Dashboards user (e-mail): ").strip()
        password = environ.get("DASHBOARDS_PASSWORD") or ask_secret(f"password of {username}: ")
        id_token = sign_in(session, outputs, username, password, ask_secret)
        credentials = dashboards_user_credentials(session, outputs, id_token)
        base_url = args.endpoint_url or f"https://{outputs['OpenSearchDomainEndpoint']}"
        _, imported = apply(base_url, credentials, session.region_name)
    except (SetupError, ClientError, BotoCoreError) as error:
        print(f"apply.py: {error}", file=sys.stderr)
        return 1
    print(f"index template {TEMPLATE_NAME} applied; {imported['successCount']} saved objects imported")
    print(f"open https://{outputs['OpenSearchDomainEndpoint']}/_dashboards/ and choose the dashboard 'Web traffic'")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
