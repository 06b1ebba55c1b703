"""Command line: ``python -m constructs_ses new-handler DIR [--force]`` and
``python -m constructs_ses run APP [ARGUMENTS...]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from constructs_ses.node import run_app
from constructs_ses.scaffold import new_handler


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m constructs_ses")
    commands = parser.add_subparsers(dest="command", required=True)
    scaffold = commands.add_parser(
        "new-handler", help="copy the SES Lambda handler template into DIR/handler.py"
    )
    scaffold.add_argument("directory", metavar="DIR")
    scaffold.add_argument("--force", action="store_true", help="overwrite DIR/handler.py")
    runner = commands.add_parser(
        "run",
        help="run a CDK app (python APP ARGUMENTS...) with the Node.js of constructs-ses[node] "
        "first on its PATH, for jsii",
    )
    runner.add_argument("app", metavar="APP")
    runner.add_argument("arguments", metavar="ARGUMENTS", nargs=argparse.REMAINDER)
    arguments = parser.parse_args(argv)
    if arguments.command == "run":
        return run_app(arguments.app, arguments.arguments)
    try:
        target = new_handler(arguments.directory, force=arguments.force)
    except FileExistsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        f"Created {target}. Edit it, then run it from a rule:\n"
        f"    mail.add_lambda_rule(..., handler_directory={arguments.directory!r})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
