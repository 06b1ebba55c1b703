"""The documented place of ``Arrival`` and ``Verdicts``: how a message reached SES and what its
checks found (``constructs_ses.local.flow.message``)."""

from constructs_ses.local.flow.message import Arrival, Verdicts

__all__ = ["Arrival", "Verdicts"]
