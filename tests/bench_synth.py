"""Benchmark of synthesis: an app using InboundEmail against a hand-written aws-cdk-lib app.

Both apps have one stack (account 111111111111, us-east-1, cdk.json's feature flags), one
Python function and N rules, rule i for ``user{i}@example.com`` with a Lambda action (Event)
invoking that function, in order. Each run is a fresh process, as ``cdk synth`` runs app.py: a
new interpreter and a new jsii Node.js child. The kinds alternate within each repetition, and
which goes first alternates between repetitions. Run with ``make bench``.
"""

# ruff: noqa: PLC0415  (aws-cdk-lib is imported inside the timed child, never by the parent)
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()
REPO = Path(__file__).resolve().parent.parent
KINDS = ("plain", "ours")
CODE = "def handler(event, context):\n    return None\n"
TARGET_RATIO = 1.10


def build_app(kind: str, rules: int, outdir: str) -> Any:
    """The app of ``kind`` with ``rules`` rules; returns it unsynthesized."""
    import aws_cdk as cdk
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_ses as ses
    from aws_cdk import aws_ses_actions as actions

    from constructs_ses import InboundEmail, InvocationType

    context = json.loads((REPO / "cdk.json").read_text())["context"]
    app = cdk.App(context=context, outdir=outdir)
    stack = cdk.Stack(app, "Mail", env=cdk.Environment(account="111111111111", region="us-east-1"))
    function = lambda_.Function(
        stack,
        "Handler",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(CODE),
    )
    if kind == "ours":
        mail = InboundEmail(stack, "Inbound")
        for index in range(rules):
            mail.add_lambda_rule(
                f"Rule{index}",
                recipients=[f"user{index}@example.com"],
                function=function,
                invocation_type=InvocationType.EVENT,
            )
    else:
        rule_set = ses.ReceiptRuleSet(stack, "RuleSet")
        for index in range(rules):
            rule_set.add_rule(
                f"Rule{index}",
                recipients=[f"user{index}@example.com"],
                actions=[
                    actions.Lambda(
                        function=function, invocation_type=actions.LambdaInvocationType.EVENT
                    )
                ],
            )
    return app


def child(kind: str, rules: int, outdir: str) -> None:
    """One measured synthesis; prints its in-process phases as one JSON line."""
    imported = time.perf_counter()
    import aws_cdk  # noqa: F401

    import constructs_ses.inbound_email  # noqa: F401

    built = time.perf_counter()
    app = build_app(kind, rules, outdir)
    synthesized = time.perf_counter()
    app.synth()
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "start": imported - STARTED,
                "import": built - imported,
                "build": synthesized - built,
                "synth": done - synthesized,
            }
        )
    )


def tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants, in kB (0 once it is gone)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def measure(kind: str, rules: int, *, sample_memory: bool = False) -> dict[str, float]:
    """Run one child: its phases and wall time, or (``sample_memory``) the peak memory of its
    process tree, sampled every 10 ms, which would disturb the timing."""
    with tempfile.TemporaryDirectory() as outdir:
        command = [sys.executable, __file__, "--child", kind, "--rules", str(rules)]
        started = time.perf_counter()
        process = subprocess.Popen(
            [*command, "--outdir", outdir], stdout=subprocess.PIPE, text=True, cwd=REPO
        )
        peak, cpu = 0, 0.0
        if sample_memory:
            while process.poll() is None:
                peak = max(peak, tree_rss_kb(process.pid))
                time.sleep(0.01)
            output, _ = process.communicate()
            status = process.returncode
        else:
            output = process.stdout.read() if process.stdout else ""
            _, status, usage = os.wait4(process.pid, 0)  # its Node.js child's usage included
            wall = time.perf_counter() - started
            process.returncode = status  # reaped here, so Popen need not
            cpu = usage.ru_utime + usage.ru_stime
    if status != 0:
        sys.exit(f"{kind} with {rules} rules failed")
    phases: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    if sample_memory:
        return {**phases, "peak_mb": peak / 1024}
    return {**phases, "wall": wall, "cpu": cpu}


def median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def paired_ratio(plain: list[dict[str, float]], ours: list[dict[str, float]]) -> float:
    """The median over repetitions of InboundEmail's wall time over the hand-written app's, each
    pair run back to back, so that the machine's drift cancels out."""
    return statistics.median(o["wall"] / p["wall"] for p, o in zip(plain, ours, strict=True))


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    from importlib.metadata import version

    return (
        f"{time.strftime('%Y-%m-%d')}, {cpu}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, Node.js {node.stdout.strip()}, aws-cdk-lib "
        f"{version('aws-cdk-lib')}"
    )


def report(
    results: dict[tuple[str, int], list[dict[str, float]]],
    memory: dict[tuple[str, int], float],
    counts: list[int],
) -> None:
    print(f"Synthesis, InboundEmail against hand-written aws_ses, {machine()}")
    print(f"medians of {len(results[('ours', counts[0])])} runs each, kinds alternating\n")
    print(
        "| rules | hand-written `python app.py` | InboundEmail | ratio | paired ratio "
        "| CPU time (Python + Node.js), hand-written / InboundEmail (ratio) "
        "| build + synth, hand-written / InboundEmail "
        "| construct building per rule, hand-written / InboundEmail "
        "| peak memory (Python + Node.js, one more run each), hand-written / InboundEmail |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for count in counts:
        plain, ours = results[("plain", count)], results[("ours", count)]
        inner = [
            median([{"x": r["build"] + r["synth"]} for r in runs], "x") for runs in (plain, ours)
        ]
        print(
            f"| {count} | {median(plain, 'wall'):.2f} s | {median(ours, 'wall'):.2f} s "
            f"| {median(ours, 'wall') / median(plain, 'wall'):.2f} "
            f"| {paired_ratio(plain, ours):.2f} "
            f"| {median(plain, 'cpu'):.2f} s / {median(ours, 'cpu'):.2f} s "
            f"({median(ours, 'cpu') / median(plain, 'cpu'):.2f}) "
            f"| {inner[0]:.2f} s / {inner[1]:.2f} s "
            f"| {median(plain, 'build') / count * 1000:.1f} ms "
            f"/ {median(ours, 'build') / count * 1000:.1f} ms "
            f"| {memory[('plain', count)]:.0f} MB / {memory[('ours', count)]:.0f} MB |"
        )
    print(
        f"\nTarget: InboundEmail within {TARGET_RATIO:.2f} of the hand-written app (ratio: of the "
        "medians; paired ratio: the median of each repetition's InboundEmail / hand-written, "
        "measured one after the other)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", choices=KINDS)
    parser.add_argument("--rules", default="1,50,200")
    parser.add_argument("--outdir")
    parser.add_argument("--repeat", type=int, default=9)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child, int(arguments.rules), arguments.outdir)
        return
    counts = [int(n) for n in arguments.rules.split(",")]
    for kind in KINDS:  # warm-up: file caches, bytecode
        measure(kind, counts[0])
    results: dict[tuple[str, int], list[dict[str, float]]] = {
        (kind, count): [] for kind in KINDS for count in counts
    }
    for repetition in range(arguments.repeat):
        order = KINDS if repetition % 2 == 0 else KINDS[::-1]
        for count in counts:
            for kind in order:
                results[(kind, count)].append(measure(kind, count))
    memory = {
        (kind, count): measure(kind, count, sample_memory=True)["peak_mb"]
        for count in counts
        for kind in KINDS
    }
    report(results, memory, counts)


if __name__ == "__main__":
    main()
