"""For tests of apps built with these constructs: a local AWS to deploy them to.

``LocalAws`` starts moto's server on 127.0.0.1 with our additions to its CloudFormation: the SES
receipt rule set and rules and the policies (``local.aws.cloudformation``'s ``models``), stack
operations in dependency order (``operations``), SES's create-time permission checks
(``ses_checks``) and Lambda-backed custom resources run by the local Lambda runtime
(``custom_resources``). ``env`` is what the pinned CDK CLI needs to bootstrap, deploy and
destroy against it::

    with LocalAws(account="123456789012", region="us-east-1") as aws:
        subprocess.run(["cdk", "bootstrap"], env={**os.environ, **aws.env}, check=True)
        subprocess.run(["cdk", "deploy", "--require-approval", "never"], env=..., check=True)
        aws.client("ses").describe_receipt_rule_set(RuleSetName=...)

``deploy_locally(assembly, aws=aws)`` bootstraps it and deploys a copy of the assembly with the
CDK CLI, then prints what SES holds. Needs the ``local`` extra (moto's server, boto3).
"""

from constructs_ses.local.aws.deploy import deploy_locally
from constructs_ses.local.aws.local_aws import DEFAULT_ACCOUNT, LocalAws, LocalAwsError

__all__ = ["DEFAULT_ACCOUNT", "LocalAws", "LocalAwsError", "deploy_locally"]
