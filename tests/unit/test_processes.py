"""Stopping a tree that ignores SIGTERM and escapes its process group (like the scheduler)."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

from airloop.platform import processes

STUBBORN = textwrap.dedent(
    """
    import os, signal, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for leave_group in (False, True):
        if os.fork() == 0:
            if leave_group:
                os.setsid()  # a child that leaves the process group, like a detached worker
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            while True:
                time.sleep(1)
    print("ready", flush=True)
    while True:
        time.sleep(1)
    """
)


def _wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


def test_stop_all_kills_a_tree_that_ignores_term_and_leaves_its_group(tmp_path: Path) -> None:
    marker = f"test-{tmp_path}"
    env = dict(os.environ, **{processes.MARKER_VAR: marker})
    log = tmp_path / "stubborn.log"
    record = processes.spawn("stubborn", [sys.executable, "-c", STUBBORN], env, log, tmp_path)
    _wait_for(lambda: "ready" in log.read_text() and len(processes.marked_pids(marker)) == 3)
    assert processes.record_alive(record)
    assert processes.read_records(tmp_path) == [record]

    report = processes.stop_all([record], marker, grace_s=1.0)

    assert report.left == []
    assert report.killed == 3, report  # all three ignored TERM
    assert processes.marked_pids(marker) == []
    assert not processes.record_alive(record)


def test_stop_all_uses_term_when_it_is_honoured(tmp_path: Path) -> None:
    marker = f"test-{tmp_path}"
    env = dict(os.environ, **{processes.MARKER_VAR: marker})
    argv = [sys.executable, "-c", "import time; time.sleep(600)"]
    record = processes.spawn("sleeper", argv, env, tmp_path / "s.log", tmp_path)
    _wait_for(lambda: processes.marked_pids(marker) != [])
    report = processes.stop_all([record], marker, grace_s=10.0)
    assert (report.stopped_by_term, report.killed, report.left) == (1, 0, [])


def test_a_reused_pid_is_not_mistaken_for_our_service(tmp_path: Path) -> None:
    me = processes.ProcessRecord("x", os.getpid(), os.getpid(), 1, "log")  # wrong start time
    assert processes.is_running(os.getpid())
    assert not processes.record_alive(me)
