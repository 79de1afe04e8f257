#!/usr/bin/env python3
"""Prints a Dashboards administrator's temporary AWS credentials as shell `export` lines.

    eval "$(infra/opensearch/credentials.py --stack-name weblogs)"     # or: make admin-credentials

The stack's domain admits SigV4-signed requests only from the stack's own roles (its access
policy), so the credentials of a person's IAM user are refused (403). This signs in to the stack's
Cognito user pool as a member of the `admins` group (the AdminEmail by default; password from
DASHBOARDS_PASSWORD or a prompt, MFA code when set up) and takes the role the identity pool gives
that group, as apply.py does. The credentials last an hour. Prompts go to the terminal, so the
output can be evaluated. A member of `viewers` gets the viewers' role, which may read but not write.
"""
import argparse
import getpass
import os
import shlex
import sys

import boto3
from botocore.exceptions import BotoCoreError, ClientError

import apply


def ask_on_stderr(prompt):
    """input(), with the prompt on stderr: stdout is for the `export` lines."""
    print(prompt, end="", file=sys.stderr, flush=True)
    return sys.stdin.readline()


def main(argv, environ, ask_secret=getpass.getpass, ask=ask_on_stderr):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack-name", default="weblogs", help="the deployed infra/template.yaml stack")
    parser.add_argument("--region", help="the stack's region (default: the AWS CLI's)")
    parser.add_argument("--username", help="Dashboards administrator (default: asked for)")
    args = parser.parse_args(argv)
    try:
        session = boto3.session.Session(region_name=args.region)
        if not session.region_name:
            raise apply.SetupError("no region: pass --region or set AWS_DEFAULT_REGION")
        outputs, _ = apply.stack_outputs(session, args.stack_name)
        username = args.username or ask("Dashboards administrator (e-mail): ").strip()
        password = environ.get("DASHBOARDS_PASSWORD") or ask_secret(f"password of {username}: ")
        id_token = apply.sign_in(session, outputs, username, password, ask_secret)
        found = apply.identity_pool_credentials(session, outputs, id_token)
    except (apply.SetupError, ClientError, BotoCoreError) as error:
        print(f"credentials.py: {error}", file=sys.stderr)
        return 1
    print(f"# {username}'s role from the identity pool of {args.stack_name}, until {found['Expiration']}")
    for name, key in (("AWS_ACCESS_KEY_ID", "AccessKeyId"), ("AWS_SECRET_ACCESS_KEY", "SecretKey"),
                      ("AWS_SESSION_TOKEN", "SessionToken")):
        print(f"export {name}={shlex.quote(found[key])}")
    print(f"export AWS_REGION={shlex.quote(session.region_name)}")
    print(f"export DOMAIN_ENDPOINT={shlex.quote(outputs['OpenSearchDomainEndpoint'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
