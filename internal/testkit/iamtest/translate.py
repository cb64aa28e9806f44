"""Translate a SAM template into plain CloudFormation, offline.

Usage: python3 translate.py TEMPLATE. Prints the translated template as JSON
on stdout. internal/testkit/iamtest runs it (embedded) to read the IAM policies SAM
generates for each function. It needs the aws-sam-translator and cfn-lint
packages (`make lint-deps`).
"""

import json
import os
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

try:
    from cfnlint.decode import decode
    from samtranslator.translator.transform import transform
except ImportError as e:
    sys.exit(f"{e}: install cfn-lint, which brings aws-sam-translator (make lint-deps)")


class NoManagedPolicies:
    """The policy loader SAM asks for AWS managed policy ARNs: none, offline."""

    def load(self):
        return {}


def main():
    template, matches = decode(sys.argv[1])
    if matches:
        sys.exit("\n".join(str(m) for m in matches))
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            # The translator wants an uploaded artifact; any S3 URI will do.
            resource.setdefault("Properties", {})["CodeUri"] = "s3://iamtest/bootstrap.zip"
    json.dump(transform(template, {}, NoManagedPolicies()), sys.stdout, default=str)


main()
