"""Benchmark of `make test` itself: its wall time once set up (lint, type check, all tests).

Run with ``make bench``; setup is already done then, so the figure is what a developer waits for
after a change. A fresh clone adds the setup (a virtual environment, Node.js, the CDK CLI).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    started = time.perf_counter()
    result = subprocess.run(
        ["make", "--no-print-directory", "test"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"make test failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    summary = result.stdout.strip().splitlines()[-1].strip("= ")
    print(
        f"make test, {time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores, set up already\n\n"
        "| make test | result |\n| --- | --- |\n"
        f"| wall time (ruff, mypy --strict, pytest) | {elapsed:.0f} s |\n"
        f"| pytest | {summary} |"
    )


if __name__ == "__main__":
    main()
