"""Let Airflow's task supervisor see its task process exit at once.

The supervisor (Task SDK 1.3) loops: wait on the task process's sockets, then check whether the
process has exited. A task process closes its sockets and then calls ``os._exit``; a process that
has preloaded the ML libraries takes a moment more to be torn down by the kernel. When the last
socket's EOF arrives inside that moment, the check finds the process alive, and the next wait is
a ``select`` on no sockets at all: a plain sleep of ``[workers] min_heartbeat_interval`` (5 s).
Measured on the bench loop: 3 of 41 tasks ended 5.0 s after their last log line. Their task
instance had succeeded already, but the executor's slot and result waited, and so did the
scheduler loop waiting for that result (``executor_result_wait``).

:func:`install` replaces only that sleep with a wait on the process itself, which returns as soon
as it exits. Anything with a socket still open goes through Airflow's own code unchanged. It is
installed where task supervisors run: before the LocalExecutor forks its workers (they inherit
it) and in each Celery worker's preload.

Upstream: not reported yet; reproduction (apache-airflow-task-sdk 1.3.2):
    def target():  # the task process: close every socket, then exit a moment later
        time.sleep(0.2); os.closerange(0, 65536); time.sleep(0.5); os._exit(0)
    proc = WatchedSubprocess.start(target=target, id=uuid4(), logger=structlog.get_logger())
    while proc._exit_code is None or proc._open_sockets:
        proc._service_subprocess(max_wait_time=60)  # the last round: select() on no sockets
    # returns after ~60 s (the whole max_wait_time), not ~0.7 s when the process exited
"""

from __future__ import annotations

import contextlib
from typing import Any

from airloop.patches._methods import original_method, replace_method


def install() -> None:
    """Patch ``WatchedSubprocess._service_subprocess`` once per process (idempotent)."""
    from airflow.sdk.execution_time.supervisor import WatchedSubprocess

    def make(original: Any) -> Any:
        def service_subprocess(
            self: Any, max_wait_time: float, raise_on_timeout: bool = False,
            expect_signal: int | None = None,
        ) -> int | None:  # fmt: skip
            if self._exit_code is not None or self.selector.get_map():
                return original(self, max_wait_time, raise_on_timeout, expect_signal)
            # Every socket has closed: the process is exiting. Wait for that, not for a socket.
            with contextlib.suppress(self._process.TimeoutExpired):
                self._process.wait(timeout=max(0.01, max_wait_time))
            return self._check_subprocess_exit(raise_on_timeout=raise_on_timeout,
                                               expect_signal=expect_signal)  # fmt: skip

        return service_subprocess

    replace_method(WatchedSubprocess, "_service_subprocess", make)


def upstream() -> Any:
    """The Task SDK's own ``WatchedSubprocess._service_subprocess``, patched or not."""
    from airflow.sdk.execution_time.supervisor import WatchedSubprocess

    return original_method(WatchedSubprocess, "_service_subprocess")
