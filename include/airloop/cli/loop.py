"""Closed-loop commands: ``run`` (the daily cycle over dates) and ``demo`` (the story, headless)."""

from __future__ import annotations

import argparse
import os
import time
from datetime import date, timedelta
from typing import Any

from airloop.cli.common import (
    FAILED,
    OK,
    UsageError,
    load_spec_or_usage_error,
    parse_date,
    print_error,
)
from airloop.settings import Settings

# The demo's story on the shipped bike_demand pipeline: its simulator switches to a new regime
# (warmer, more humid, more leisure riding, weaker commute peaks) on 2012-06-01.
DEMO_PIPELINE = "bike_demand"
DEMO_START = date(2012, 5, 1)
DEMO_END = date(2012, 6, 12)
# `airloop run` on the platform waits on the scheduler: it yields the CPU to the tasks.
FOLLOWER_NICENESS = 10


def _progress(outcome: Any) -> None:
    """One day's line while the loop runs."""
    share = "-" if outcome.drift_share is None else f"{outcome.drift_share:.2f}"
    line = (
        f"  {outcome.date}  {outcome.validation:<11} champion v{outcome.champion}  "
        f"drift {share:<5} {outcome.decision[:90]}"
    )
    print(line + (f"\n      trained: {outcome.training}" if outcome.training else ""), flush=True)
    for failure in outcome.failures:
        print(f"      FAILED: {failure.dag_id} run {failure.run_id} ({failure.state}): "
              f"{', '.join(failure.tasks) or 'no task failed'}", flush=True)  # fmt: skip


def print_table(days: list[Any]) -> None:
    """The days as a table: validation, champion, drift share and the decision in a word."""
    print(f"\n{'date':<11} {'validation':<12} {'champion':<9} {'drift':<6} decision")
    for d in days:
        share = "-" if d.drift_share is None else f"{d.drift_share:.2f}"
        decision = d.decision.split(":")[0]
        if decision == "none" and d.drift_share is not None:
            reason = d.decision.lower()
            decision = next(
                (w for w in ("cooldown", "budget", "already requested") if w in reason),
                "drift confirmed" if "confirmed" in reason else "not confirmed",
            )
        if d.training:
            decision += f" → {d.training.split(':')[0]}"
        champion = f"v{d.champion}" if d.champion else "-"
        print(f"{d.date:<11} {d.validation:<12} {champion:<9} {share:<6} {decision}")


def print_failures(days: list[Any]) -> int:
    """The failed DAG runs of ``days``, one block each (nothing when none failed); their count."""
    failures = [f for d in days for f in d.failures]
    if failures:
        print(f"\nFailures ({len(failures)} DAG run{'s' if len(failures) > 1 else ''}; the days "
              "after each still ran):")  # fmt: skip
    for f in failures:
        print(f"  {f.day}  {f.dag_id}  run {f.run_id}  {f.state}")
        tasks = ", ".join(f"{task} {state}" for task, state in f.tasks.items())
        print(f"    failed tasks: {tasks or '-'}")
        for error in f.errors or ["no failure notification: see the task logs"]:
            print(f"    error: {error}")
        if f.log:
            print(f"    log: {f.log}")
    return len(failures)


def _loop(settings: Settings, pipeline: str, in_process: bool) -> Any:
    """The pipeline's :class:`~airloop.loop.Loop`: on the platform when it runs, else here."""
    from airloop.loop import Loop
    from airloop.platform.runner import platform_running

    load_spec_or_usage_error(pipeline)
    on_platform = not in_process and platform_running(settings)
    if on_platform:
        # This process only follows the scheduler, yet its imports (Airflow's SDK for the
        # lake, pandas, MLflow: ~4.5 s of CPU) competed with the first day's tasks on a small
        # machine. At a lower priority it uses the CPU the platform leaves idle. Before the
        # Loop starts its import thread: a thread keeps the niceness it started with.
        os.nice(FOLLOWER_NICENESS)
    loop = Loop(settings, pipeline, on_platform=on_platform)
    if not loop.platform:
        from airloop.platform.runner import use_local_airflow

        use_local_airflow(settings)
    return loop


def _range(args: argparse.Namespace, spec: Any) -> tuple[date, date]:
    """First and last date from ``--start``/``--end`` or ``--days``."""
    if args.days is not None:
        if args.days < 1:
            raise UsageError("--days must be at least 1")
        start = args.start or spec.start_date
        return start, start + timedelta(days=args.days - 1)
    if args.start is None or args.end is None:
        raise UsageError("give --start and --end (YYYY-MM-DD), or --days N")
    if args.end < args.start:
        raise UsageError(f"--end {args.end} is before --start {args.start}")
    return args.start, args.end


def _where(settings: Settings, pipeline: str) -> None:
    """Where the demo's results are: the UIs, the drift reports, the status command."""
    from airloop.project import lake_root

    print("\nWhere to look:")
    print(f"  Airflow UI      {settings.airflow_url}  (DAGs tagged pipeline:{pipeline}; `make up`)")
    print(f"  MLflow UI       {settings.mlflow_url}  (model {pipeline}, {pipeline}-monitoring)")
    print(f"  Drift reports   {lake_root() / pipeline / 'monitor' / 'index.html'}")
    print(f"  Status          airloop status {pipeline} --json")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """The daily cycle for each date, through real DAG runs."""
    spec = load_spec_or_usage_error(args.pipeline)
    start, end = _range(args, spec)
    loop = _loop(settings, args.pipeline, args.in_process)
    print(f"{spec.name}: daily cycle {start} .. {end} ({loop.mode})", flush=True)
    return _run_and_print("run", loop, start, end)


def _run_and_print(command: str, loop: Any, start: date, end: date) -> int:
    """Run the days, one progress line each, then the table and the failed DAG runs; any failed
    run fails the command, after every day ran."""
    days = loop.run(start, end, _progress)
    print_table(days)
    failed = print_failures(days)
    if failed:
        print_error(command, f"{failed} DAG run{'s' if failed > 1 else ''} failed (see Failures)")
        return FAILED
    return OK


def demo(args: argparse.Namespace, settings: Settings) -> int:
    """The closed loop on simulated days: a first champion, drift, a retrain, a decision."""
    began = time.monotonic()
    # In-process by default, also when `make up` runs: the scheduler's per-task overhead would
    # stretch 43 days past ten minutes. --platform follows the Asset chain on the scheduler.
    loop = _loop(settings, DEMO_PIPELINE, not args.platform)
    policy = loop.spec.monitoring.policy
    print(
        f"Airloop demo — {DEMO_PIPELINE}, {DEMO_START} .. {DEMO_END}, {loop.mode}.\n"
        f"The simulator's regime changes on 2012-06-01; the policy confirms drift when "
        f"{policy.persistence_k} of {policy.persistence_n} days drift (share ≥ "
        f"{policy.drift_share}), then asks for one retrain.",
        flush=True,
    )
    if _run_and_print("demo", loop, DEMO_START, DEMO_END) != OK:
        return FAILED
    print(f"\nDemo finished in {time.monotonic() - began:.0f} s.")
    _where(settings, DEMO_PIPELINE)
    return OK


def add_commands(sub: Any) -> None:
    """Add ``run`` and ``demo`` to ``sub``."""
    p = sub.add_parser("run", help="run the daily cycle (ingest → score → monitor → train)")
    p.add_argument("pipeline")
    p.add_argument("--start", type=parse_date, help="first date (YYYY-MM-DD)")
    p.add_argument("--end", type=parse_date, help="last date (YYYY-MM-DD)")
    p.add_argument("--days", type=int, help="N days from --start (default: the spec's start)")
    p.add_argument("--in-process", action="store_true", help="run DAGs here even if `make up` runs")
    p.set_defaults(func=run)
    p = sub.add_parser("demo", help="the closed loop on simulated days, headless")
    p.add_argument(
        "--platform", action="store_true", help="run on the scheduler of `make up` (slower)"
    )
    p.set_defaults(func=demo)
