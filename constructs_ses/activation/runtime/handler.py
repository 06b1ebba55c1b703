"""CloudFormation custom resource: make an SES receipt rule set the active one, safely.

CloudFormation cannot activate a rule set, and only one can be active per account and region:
activating ours silently would turn off whatever receives mail there now. So:

- Create: activate the rule set, unless another one is active and ``ReplaceActive`` is not
  "true"; then fail the deployment, naming the active rule set.
- Update: activate the (possibly renamed) rule set; replacing our own previous name is allowed.
- Delete: deactivate only if our rule set is still the active one, so that a rule set someone
  activated since is left alone (and ours can then be deleted).

Runs in Lambda with the standard library and boto3 (which the runtime provides).
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

LOGGER = logging.getLogger("ses_activation")
LOGGER.setLevel(logging.INFO)

FAILED_PHYSICAL_ID_PREFIX = "not-activated:"
"""Physical id of a failed Create; ':' cannot occur in a rule set name, so Delete ignores it."""


class ActivationRefusedError(Exception):
    """Another rule set is active and the resource may not replace it."""


def active_rule_set(ses: Any) -> str | None:
    """The name of the active rule set of the client's account and region, or None."""
    metadata = ses.describe_active_receipt_rule_set().get("Metadata") or {}
    name = metadata.get("Name")
    return name if isinstance(name, str) and name else None


def activate(
    ses: Any, name: str, *, replace_active: bool, previous_name: str | None = None
) -> str | None:
    """Make ``name`` the active rule set; return the rule set that was active before.

    Refuses (ActivationRefusedError) when another rule set than ``name`` or ``previous_name`` (ours,
    before a rename) is active, unless ``replace_active``.
    """
    current = active_rule_set(ses)
    if current not in (None, name, previous_name) and not replace_active:
        raise ActivationRefusedError(
            f"rule set {current!r} is the active receipt rule set of this account and region; "
            f"activating {name!r} would stop it from receiving mail. Deactivate it first "
            "(aws ses set-active-receipt-rule-set) or pass replace_active_rule_set=True."
        )
    if current != name:
        ses.set_active_receipt_rule_set(RuleSetName=name)
        LOGGER.info("activated %s (was %s)", name, current)
    return current


def deactivate(ses: Any, name: str) -> bool:
    """Deactivate ``name`` if it is the active rule set; True when it was."""
    if active_rule_set(ses) != name:
        LOGGER.info("%s is not the active rule set; left as it is", name)
        return False
    ses.set_active_receipt_rule_set()  # no name: no rule set is active
    LOGGER.info("deactivated %s", name)
    return True


def handle(event: dict[str, Any], ses: Any) -> tuple[str, dict[str, str]]:
    """Carry out one custom resource request; return the physical id and the response data."""
    request = event["RequestType"]
    if request == "Delete":
        physical_id = str(event["PhysicalResourceId"])
        if not physical_id.startswith(FAILED_PHYSICAL_ID_PREFIX):
            deactivate(ses, physical_id)
        return physical_id, {}
    properties = event["ResourceProperties"]
    name = str(properties["RuleSetName"])
    replace_active = str(properties.get("ReplaceActive", "false")).lower() == "true"
    previous_name = None
    if request == "Update":
        previous_name = str(event.get("OldResourceProperties", {}).get("RuleSetName", ""))
    previous = activate(ses, name, replace_active=replace_active, previous_name=previous_name)
    return name, {"PreviouslyActive": previous or ""}


def send_response(
    event: dict[str, Any],
    *,
    status: str,
    reason: str,
    physical_id: str,
    data: dict[str, str],
) -> None:
    """PUT the result to CloudFormation's pre-signed response URL."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:3000],
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "NoEcho": False,
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"],
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def ses_client() -> Any:
    """An SES client that retries throttled calls (rule-set calls allow about one a second)."""
    import boto3  # noqa: PLC0415 (provided by the Lambda runtime)
    from botocore.config import Config  # noqa: PLC0415

    return boto3.client("ses", config=Config(retries={"mode": "standard", "max_attempts": 8}))


def on_event(event: dict[str, Any], context: Any = None, ses: Any = None) -> None:
    """Lambda entry point: always answers CloudFormation, so a stack never waits an hour."""
    LOGGER.info("%s %s", event.get("RequestType"), event.get("ResourceProperties"))
    status, reason = "SUCCESS", ""
    data: dict[str, str] = {}
    physical_id = str(
        event.get("PhysicalResourceId")
        or FAILED_PHYSICAL_ID_PREFIX + str(event.get("LogicalResourceId"))
    )
    try:
        physical_id, data = handle(event, ses or ses_client())
    except Exception as error:  # any failure must reach CloudFormation as FAILED
        LOGGER.exception("request failed")
        status = "FAILED"
        reason = f"{type(error).__name__}: {error}"
        if context is not None:
            reason += f" (log stream {getattr(context, 'log_stream_name', '?')})"
    send_response(event, status=status, reason=reason, physical_id=physical_id, data=data)
