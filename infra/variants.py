#!/usr/bin/env python3
"""Copies of infra/template.yaml with other parameter defaults, one per way the stack can be deployed.

    infra/variants.py OUT_DIR      writes OUT_DIR/<variant>.yaml for each variant below

checkov reads a template with its parameters' defaults and does not follow every condition, so CI
scans each variant: then every conditional resource (both pipelines, the web server, the container
log subscription, the S3 archive function, the further delivery streams, direct delivery, a zone-aware domain with dedicated masters) is
checked with the values that create it. Standard library only.
"""
import os
import re
import sys

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "template.yaml")

VARIANTS = {
    "defaults": {},
    "firehose-transformer": {"Pipeline": "firehose-transformer"},
    "direct-delivery": {"Delivery": "OpenSearch", "ArchiveBucketName": "weblogs-archive-example"},
    "all-sources": {
        "CreateWebServer": '"true"',
        "WebServerVpcId": "vpc-0123456789abcdef0",
        "WebServerSubnetId": "subnet-0123456789abcdef0",
        "ContainerLogGroupName": "/ecs/web",
        "CreateContainerDemo": '"true"',
        "AlarmEmail": "ops@example.com",
        "ArchiveBucketName": "weblogs-archive-example",
        "ArchivePrefix": "apache/",
        "ArchiveBucketKmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-6789-abcd-ef0123456789",
        "CloudFrontRealtimeLogs": '"true"',
        "AlbLogBucketName": "weblogs-alb-logs-example",
        "AlbLogPrefix": "shop-alb/",
        "CloudFrontLogBucketName": "weblogs-cdn-logs-example",
        "CloudFrontLogPrefix": "cdn/",
    },
    "scaled": {
        "DeliveryStreamCount": '"4"',
        "ParallelizationFactor": "4",
        "OpenSearchInstanceType": "r7g.large.search",
        "OpenSearchInstanceCount": "6",
        "OpenSearchAvailabilityZones": '"3"',
        "OpenSearchDedicatedMasterType": "m7g.large.search",
        "IndexReplicas": '"1"',
    },
}


def with_defaults(template, defaults):
    """The template text with each named parameter's `Default:` line replaced (or added, for a
    parameter without a default: `AlarmEmail`, which a deployment must answer)."""
    for name, value in defaults.items():
        template = re.sub(r"(\n  %s:\n    Type: [^\n]+)(\n    (?!Default:))" % re.escape(name),
                          lambda m: m.group(1) + "\n    Default: " + value + m.group(2), template, count=1)
        pattern = re.compile(r"(\n  %s:\n    Type: [^\n]+\n    Default: )[^\n]+" % re.escape(name))
        if not pattern.search(template):
            raise ValueError(f"parameter {name} has no Default line to replace")
        template = pattern.sub(lambda m: m.group(1) + value, template, count=1)
    return template


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    os.makedirs(argv[1], exist_ok=True)
    with open(TEMPLATE, encoding="utf-8") as f:
        template = f.read()
    for name, defaults in VARIANTS.items():
        with open(os.path.join(argv[1], f"{name}.yaml"), "w", encoding="utf-8") as f:
            f.write(with_defaults(template, defaults))


if __name__ == "__main__":
    main(sys.argv)
