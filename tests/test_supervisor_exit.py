"""Airflow's task supervisor sees its task process exit at once, even when the process closed
its sockets a moment before it exited (as a big process being torn down does)."""

from __future__ import annotations

import os
import time
from uuid import uuid4

import structlog

from airloop.platform import supervisor_exit

# Longer than the test can take with the fix, and what the supervisor slept without it.
SOCKET_WAIT_S = 60.0


def _close_sockets_then_exit_later() -> None:  # the task process, forked by the supervisor
    time.sleep(0.2)
    os.closerange(0, 65536)  # its ends of the supervisor's sockets among them: EOF on each
    time.sleep(0.5)  # still being torn down
    os._exit(0)


def _supervise() -> tuple[int | None, float]:
    """Airflow's supervisor on that process, serviced as its monitor loop does."""
    from airflow.sdk.execution_time.supervisor import WatchedSubprocess

    proc = WatchedSubprocess.start(target=_close_sockets_then_exit_later, id=uuid4(),
                                   logger=structlog.get_logger())  # fmt: skip
    started = time.monotonic()
    while proc._exit_code is None or proc._open_sockets:
        proc._service_subprocess(max_wait_time=SOCKET_WAIT_S)
        assert time.monotonic() - started < SOCKET_WAIT_S + 30, "the supervisor never finished"
    return proc._exit_code, time.monotonic() - started


def test_the_supervisor_sees_the_exit_after_the_last_socket_closed_at_once() -> None:
    supervisor_exit.install()
    supervisor_exit.install()  # idempotent: the executor and Celery's hook may both install it
    code, took = _supervise()
    assert code == 0
    # ~0.7 s: the process's own sleeps. Without the fix, the supervisor slept SOCKET_WAIT_S on
    # an empty selector after the last EOF.
    assert took < SOCKET_WAIT_S / 2, f"took {took:.1f}s"
