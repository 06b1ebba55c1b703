"""moto's Step Functions, extended: state machines run.

moto 5.2 records executions without running them unless its ``execute_state_machine`` option
is on; then its own ASL interpreter runs them, calling Lambda and the other services through
this server (``MOTO_PORT``), where ``Invoke`` runs functions in the local Lambda runtime
(``lambda_service``). Its CloudFormation makes state machines in the backend that does not run
them: ``install()`` has it make them in the one that does, so a stack's state machines run,
as aws-cdk-lib's Provider framework needs for its waiter ("Provider framework",
aws-cdk-lib ``custom_resources``).
"""

from __future__ import annotations

import os

__all__ = ["install"]


def install(port: int) -> None:
    """Run state machines, calling back this server on ``port``."""
    from moto.core.config import default_user_config  # noqa: PLC0415
    from moto.stepfunctions import models  # noqa: PLC0415
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends  # noqa: PLC0415

    os.environ["MOTO_PORT"] = str(port)
    default_user_config["stepfunctions"]["execute_state_machine"] = True
    models.stepfunctions_backends = stepfunctions_parser_backends  # type: ignore[assignment]
