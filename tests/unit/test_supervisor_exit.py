"""Airflow's task supervisor sees its task process exit at once, even when the process closed
its sockets a moment before it exited (as a big process being torn down does), with
``airloop.patches.supervisor_exit``; without it, the supervisor still sleeps."""

from __future__ import annotations

import os
import time
from typing import Any
from uuid import uuid4

import structlog

from airloop import patches
from airloop.patches import supervisor_exit

# Longer than the test can take with the fix, and what the supervisor slept without it.
SOCKET_WAIT_S = 60.0


def _close_sockets_then_exit_later() -> None:  # the task process, forked by the supervisor
    time.sleep(0.2)
    os.closerange(0, 65536)  # its ends of the supervisor's sockets among them: EOF on each
    time.sleep(0.5)  # still being torn down
    os._exit(0)


def _supervise(service: Any, wait_s: float = SOCKET_WAIT_S) -> tuple[int | None, float]:
    """Airflow's supervisor on that process, serviced (by ``service``) as its monitor loop does."""
    from airflow.sdk.execution_time.supervisor import WatchedSubprocess

    proc = WatchedSubprocess.start(target=_close_sockets_then_exit_later, id=uuid4(),
                                   logger=structlog.get_logger())  # fmt: skip
    started = time.monotonic()
    while proc._exit_code is None or proc._open_sockets:
        service(proc, max_wait_time=wait_s)
        assert time.monotonic() - started < wait_s + 30, "the supervisor never finished"
    return proc._exit_code, time.monotonic() - started


def test_the_supervisor_sees_the_exit_after_the_last_socket_closed_at_once() -> None:
    from airflow.sdk.execution_time.supervisor import WatchedSubprocess

    assert patches.install("supervisor_exit")
    supervisor_exit.install()  # idempotent: the executor and Celery's hook may both install it
    code, took = _supervise(WatchedSubprocess._service_subprocess)
    assert code == 0
    # ~0.7 s: the process's own sleeps. Without the fix, the supervisor slept SOCKET_WAIT_S on
    # an empty selector after the last EOF.
    assert took < SOCKET_WAIT_S / 2, f"took {took:.1f}s"


def test_supervisor_exit_upstream_still_needs_it() -> None:
    code, took = _supervise(supervisor_exit.upstream(), wait_s=2.0)
    assert code == 0
    # The last round selects on no sockets: it sleeps the whole wait, not until the exit (~0.7 s).
    assert took >= 2.0, "upstream fixed this: remove patch supervisor_exit"
