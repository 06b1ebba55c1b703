"""Benchmark of the handler template: cold import time and per-event decision time.

Run with ``make bench``; prints a Markdown table for the README. Not part of the test suite.
"""

from __future__ import annotations

import io
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from constructs_ses import handler_template_directory
from constructs_ses.lambda_src.handler import Policy, SesEvent, decide_by_policy, make_handler

sys.path.insert(0, str(Path(__file__).parent))
from events import ses_event

IMPORT_RUNS = 40
DECISIONS = 20_000

IMPORT_PROBE = (
    "import time; t = time.perf_counter(); import {modules}; print(time.perf_counter() - t)"
)
STDLIB_FLOOR = "enum, json, logging"
"""What the template imports at a cold start: its import can be no faster than these."""


def cold_import_seconds(runs: int, modules: str = "handler") -> list[float]:
    """Import time of ``modules`` in fresh interpreters without site-packages or bytecode."""
    with tempfile.TemporaryDirectory() as directory:
        shutil.copyfile(handler_template_directory() / "handler.py", Path(directory, "handler.py"))
        samples = []
        for _ in range(runs):
            result = subprocess.run(
                [sys.executable, "-S", "-E", "-B", "-c", IMPORT_PROBE.format(modules=modules)],
                cwd=directory,
                capture_output=True,
                text=True,
                check=True,
            )
            samples.append(float(result.stdout))
        return samples


def per_call_seconds(call: object, count: int) -> list[float]:
    assert callable(call)
    samples = []
    for _ in range(count):
        start = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - start) / 1e9)
    return samples


def main() -> None:
    logger = logging.getLogger("ses_handler")
    logger.handlers[:] = [logging.StreamHandler(io.StringIO())]  # format lines, print nowhere
    logger.propagate = False
    events = {
        "clean": ses_event(),
        "spam": ses_event(spam="FAIL"),
        "dmarc reject": ses_event(dmarc="FAIL", dmarc_policy="reject"),
    }
    policy = Policy(allow_senders=("example.org",), deny_senders=("spam.example",))
    handle = make_handler(policy=policy)
    imports = cold_import_seconds(IMPORT_RUNS)
    floor = cold_import_seconds(IMPORT_RUNS, STDLIB_FLOOR)
    rows = [
        (
            "cold import of handler.py (no bytecode, as shipped)",
            f"{statistics.median(imports) * 1e3:.2f} ms",
            f"median of {IMPORT_RUNS} fresh interpreters",
        ),
        (
            f"cold import of its standard-library modules alone ({STDLIB_FLOOR})",
            f"{statistics.median(floor) * 1e3:.2f} ms",
            f"median of {IMPORT_RUNS} fresh interpreters",
        ),
    ]
    for name, event in events.items():
        record = SesEvent(event).record
        assert record is not None
        decide = per_call_seconds(lambda r=record: decide_by_policy(r, policy), DECISIONS)
        full = per_call_seconds(lambda e=event: handle(e, None), DECISIONS)
        rows.append(
            (
                f"decision, {name} event",
                f"{statistics.median(decide) * 1e6:.1f} µs",
                f"median of {DECISIONS}",
            )
        )
        rows.append(
            (
                f"handler call with log line, {name} event",
                f"{statistics.median(full) * 1e6:.1f} µs",
                f"median of {DECISIONS}",
            )
        )
    print(
        f"Handler template, {time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores"
    )
    print()
    print("| measure | result | over |")
    print("| --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
