"""``python -m constructs_ses.local deploy``: bootstrap and deploy an assembly to a local AWS.

Runs the CDK CLI (``cdk`` on the PATH, or ``--cdk``) against a ``LocalAws`` of its own, then
prints what SES holds (rule sets, their rules in order, each rule's actions, identities) and the
permissions of the functions those actions invoke, and stops the local AWS.

The assembly is left as it was synthesized: the CLI deploys a copy of it (the CLI keeps the zips
it uploads in the assembly's ``.cache``) and runs in a directory of its own, so a ``cdk.json``
where the deploy was started is not read (``cdk bootstrap`` would synthesize its app, into its
``cdk.out``, for the local account).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from constructs_ses.local.aws.cloud_assembly import stack_environments
from constructs_ses.local.aws.local_aws import DEFAULT_ACCOUNT, LocalAws, without_host_aws_settings

__all__ = ["deploy_locally", "deployed_identities", "deployed_rule_sets"]


def _cdk(cdk: str, arguments: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
    """Run the CDK CLI in ``cwd``; its output passes through; SystemExit with its status when
    it fails."""
    host = without_host_aws_settings()
    command = [cdk, *arguments, "--no-notices"]
    print("$ " + " ".join(command), flush=True)
    completed = subprocess.run(
        command, env={**host, **env, "CDK_DISABLE_CLI_TELEMETRY": "true"}, cwd=cwd, check=False
    )
    if completed.returncode != 0:
        raise SystemExit(f"error: {' '.join(command[:2])} failed (exit {completed.returncode})")


def _action_line(action: Mapping[str, Any]) -> str:
    ((kind, settings),) = action.items()
    shown = ", ".join(f"{key}={value}" for key, value in settings.items())
    return f"{kind.removesuffix('Action')}: {shown}"


def deployed_rule_sets(aws: LocalAws) -> Iterator[str]:
    """Lines describing each receipt rule set in ``aws``, its rules and their functions'
    permissions."""
    ses = aws.client("ses")
    active = (ses.describe_active_receipt_rule_set().get("Metadata") or {}).get("Name")
    functions = aws.client("lambda")
    for rule_set in ses.list_receipt_rule_sets()["RuleSets"]:
        name = rule_set["Name"]
        yield f"rule set {name}{' (active)' if name == active else ''}"
        for rule in ses.describe_receipt_rule_set(RuleSetName=name)["Rules"]:
            recipients = ", ".join(rule.get("Recipients", [])) or "every recipient"
            state = "enabled" if rule.get("Enabled") else "disabled"
            yield f"  rule {rule['Name']} ({state}) for {recipients}"
            for action in rule.get("Actions", []):
                yield f"    {_action_line(action)}"
                arn = action.get("LambdaAction", {}).get("FunctionArn")
                if arn:
                    policy = json.loads(functions.get_policy(FunctionName=arn)["Policy"])
                    for statement in policy.get("Statement", []):
                        yield f"      permission: {json.dumps(statement, sort_keys=True)}"


def deployed_identities(aws: LocalAws) -> Iterator[str]:
    """Lines describing each SES identity in ``aws``: its kind, verification and DKIM tokens."""
    sesv2 = aws.client("sesv2")
    for listed in sesv2.list_email_identities()["EmailIdentities"]:
        name = listed["IdentityName"]
        identity = sesv2.get_email_identity(EmailIdentity=name)
        tokens = identity.get("DkimAttributes", {}).get("Tokens") or []
        dkim = f", DKIM tokens {' '.join(tokens)}" if tokens else ""
        yield (
            f"identity {name} ({identity['IdentityType'].lower()}, verification "
            f"{identity['VerificationStatus']}{dkim})"
        )


def deploy_locally(
    assembly: str,
    *,
    cdk: str = "cdk",
    account: str | None = None,
    region: str | None = None,
    aws: LocalAws | None = None,
) -> int:
    """Bootstrap a local AWS, deploy every stack of ``assembly`` to it (a copy: the assembly
    stays as it was), print what was made.

    :param account: the local AWS's account. Default: the one the assembly's stacks name, or
        ``DEFAULT_ACCOUNT`` when they name none.
    :param region: Default: the one the stacks name, or us-east-1.
    :param aws: a running local AWS to deploy to, left running (its account and region are
        used). Default: a new one, stopped at the end.
    """
    environments = stack_environments(assembly)
    if len(environments) > 1:
        named = ", ".join(
            sorted(f"{a or 'any account'}/{r or 'any region'}" for a, r in environments)
        )
        raise SystemExit(f"error: the assembly's stacks are in several environments ({named})")
    stated_account, stated_region = next(iter(environments), (None, None))
    account = (aws.account if aws else account) or stated_account or DEFAULT_ACCOUNT
    region = (aws.region if aws else region) or stated_region or "us-east-1"
    with (
        nullcontext(aws) if aws else LocalAws(account=account, region=region) as local,
        tempfile.TemporaryDirectory(prefix="constructs-ses-deploy-") as scratch,
    ):
        print(f"local AWS at {local.endpoint_url} (account {account}, region {region})")
        copy = shutil.copytree(assembly, Path(scratch) / "cdk.out", symlinks=True)
        deploying = ["deploy", "--app", str(copy), "--all", "--require-approval", "never"]
        _cdk(cdk, ["bootstrap", f"aws://{account}/{region}"], local.env, Path(scratch))
        _cdk(cdk, deploying, local.env, Path(scratch))
        for line in [*deployed_rule_sets(local), *deployed_identities(local)]:
            print(line)
    return 0
