"""The receipt rule actions the local flow runs, keyed by SES action type ("Action options",
Amazon SES Developer Guide): one module an action, each ``run(services, action, raw, rule_run)``
returning the outcome (``CONTINUE``, ``STOP_RULE`` or ``STOP_RULE_SET``) and the message as later
actions see it. An action type missing here (WorkMail) is skipped, saying so."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from constructs_ses.local.flow.actions import add_header, bounce, lambda_, s3, sns, stop
from constructs_ses.local.flow.actions.services import ActionServices, Outcome
from constructs_ses.local.flow.assembly import Action
from constructs_ses.local.flow.events import RuleRun

__all__ = ["ACTIONS", "ActionServices", "Outcome", "RunAction"]

RunAction = Callable[[ActionServices, Action, bytes, RuleRun], Outcome]
"""One action's ``run``."""

ACTIONS: Mapping[str, RunAction] = MappingProxyType(
    {
        "AddHeader": add_header.run,
        "Bounce": bounce.run,
        "Lambda": lambda_.run,
        "S3": s3.run,
        "SNS": sns.run,
        "Stop": stop.run,
    }
)
"""Each action type the flow runs, by the name SES gives it."""
