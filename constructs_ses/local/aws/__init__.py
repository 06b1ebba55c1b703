"""The local AWS: moto's server in a process of its own on 127.0.0.1, extended.

``local_aws`` starts and stops it (``LocalAws``) and ``clients`` makes boto3 clients that read
none of the host's AWS settings; ``server`` is the process; ``cloudformation`` holds what moto's
CloudFormation lacks (the SES resource types, stack operations in dependency order, custom
resources, SES's create-time checks), each from the CloudFormation User Guide or the SES Developer
Guide; ``deploy`` runs the CDK CLI against it.

May import: ``constructs_ses.local.lambda_runtime`` (custom resources run there); never the flow.
"""

from constructs_ses.local.aws.deploy import deploy_locally
from constructs_ses.local.aws.local_aws import (
    DEFAULT_ACCOUNT,
    LocalAws,
    LocalAwsError,
    without_host_aws_settings,
)
from constructs_ses.local.lambda_runtime.function import LOCAL_CREDENTIALS

__all__ = [
    "DEFAULT_ACCOUNT",
    "LOCAL_CREDENTIALS",
    "LocalAws",
    "LocalAwsError",
    "deploy_locally",
    "without_host_aws_settings",
]
