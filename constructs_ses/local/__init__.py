"""A local mail flow: a synthesized app's receipt rules run against real email on this machine.

Reads the cloud assembly (``cdk.out``) only; aws-cdk-lib is needed just to synthesize a stack in
tests (``MailFlow.from_stack``).
"""

from constructs_ses.local.flow.mail_flow import (
    Delivery,
    Invocation,
    MailFlow,
    Refusal,
    Step,
    Verdicts,
)

__all__ = ["Delivery", "Invocation", "MailFlow", "Refusal", "Step", "Verdicts"]
