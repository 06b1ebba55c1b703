"""The process behind ``LocalAws``: moto's server on 127.0.0.1, until its standard input closes.

Run as ``python -m constructs_ses.local.aws.server <directory>``, the directory its parent made
for it and removes (so that nothing is left behind when this process is killed). It prints
``LISTENING <port>`` once it accepts requests, then serves until the parent closes the pipe (or
exits, which closes it), so it never outlives the program that started it. Every request is
answered for the one account of ``MOTO_ACCOUNT_ID``, whatever the credentials. moto's backends
live in this process only: a caller's own in-process moto (``mock_aws``) never shares state with
it. Its CloudFormation has the models of ``cloudformation.models`` besides moto's own, runs stack
operations as ``cloudformation.operations`` describes, and runs
Lambda-backed custom resources in the local Lambda runtime
(``constructs_ses.local.aws.cloudformation.custom_resources``), whose functions reach this server;
its Lambda's ``Invoke`` runs functions there too (``lambda_service``), and its Step Functions
runs state machines (``step_functions``).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

# moto's server logs every request through werkzeug; only errors are worth a line here.
logging.getLogger("werkzeug").setLevel(logging.ERROR)


def main() -> None:
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer  # noqa: PLC0415

    from constructs_ses.local.aws import lambda_service, step_functions  # noqa: PLC0415
    from constructs_ses.local.aws.cloudformation import (  # noqa: PLC0415
        custom_resources,
        models,
        operations,
    )
    from constructs_ses.local.lambda_runtime.runtime import LambdaRuntime  # noqa: PLC0415

    models.install()
    operations.install()
    scratch = Path(sys.argv[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    runtime = LambdaRuntime(
        scratch / "runtime",
        aws_environment=lambda: {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{server.get_host_and_port()[1]}"
        },
    )
    custom_resources.install(lambda_service.install(runtime, scratch / "code"))
    server.start()
    _, port = server.get_host_and_port()
    step_functions.install(port)
    sys.stdout.write(f"LISTENING {port}\n")
    sys.stdout.flush()
    try:
        sys.stdin.buffer.read()  # until the parent closes the pipe
    finally:
        server.stop()
        runtime.close()


if __name__ == "__main__":
    main()
