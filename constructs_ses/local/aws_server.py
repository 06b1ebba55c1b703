"""The process behind ``LocalAws``: moto's server on 127.0.0.1, until its standard input closes.

Run as ``python -m constructs_ses.local.aws_server``. It prints ``LISTENING <port>`` once it
accepts requests, then serves until the parent closes the pipe (or exits, which closes it), so it
never outlives the program that started it. Every request is answered for the one account of
``MOTO_ACCOUNT_ID``, whatever the credentials. moto's backends live in this process only: a
caller's own in-process moto (``mock_aws``) never shares state with it. Its CloudFormation has
the models of ``constructs_ses.local.cfn_models`` besides moto's own.
"""

from __future__ import annotations

import logging
import sys

# moto's server logs every request through werkzeug; only errors are worth a line here.
logging.getLogger("werkzeug").setLevel(logging.ERROR)


def main() -> None:
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer  # noqa: PLC0415

    from constructs_ses.local import cfn_models  # noqa: PLC0415 (registers the models)

    cfn_models.install()

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    sys.stdout.write(f"LISTENING {port}\n")
    sys.stdout.flush()
    sys.stdin.buffer.read()  # until the parent closes the pipe
    server.stop()


if __name__ == "__main__":
    main()
