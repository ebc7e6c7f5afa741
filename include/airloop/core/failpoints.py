"""Named fault-injection points for the reliability suite (off unless configured).

``AIRLOOP_FAILPOINTS="lake.before_manifest=kill,train.after_register=kill"`` makes the process
that reaches a named point act: ``kill`` sends itself SIGKILL (a real ``kill -9``: no cleanup, no
``finally``), ``raise`` raises :class:`FailpointHit`, ``sleep:N`` sleeps N seconds (so a test can
kill it from outside at a known moment). With ``AIRLOOP_FAILPOINT_DIR`` set, each point fires
once: a marker file is written there first, so the retry that follows runs clean — which is how a
real crash behaves. Unset, :func:`failpoint` is a dictionary lookup and costs nothing measurable.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


class FailpointHit(RuntimeError):
    """Raised by a failpoint configured with ``raise``."""


def _configured() -> dict[str, str]:
    raw = os.environ.get("AIRLOOP_FAILPOINTS", "")
    pairs = (item.split("=", 1) for item in raw.split(",") if "=" in item)
    return {name.strip(): action.strip() for name, action in pairs}


def _first_time(name: str) -> bool:
    folder = os.environ.get("AIRLOOP_FAILPOINT_DIR")
    if not folder:
        return True
    marker = Path(folder) / f"{name}.fired"
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        with marker.open("x") as out:  # exclusive create: exactly one process fires it
            out.write(str(os.getpid()))
        return True
    except FileExistsError:
        return False


def failpoint(name: str) -> None:
    """Act as configured for ``name`` (see the module docstring); no-op when not configured."""
    action = _configured().get(name)
    if action is None or not _first_time(name):
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "raise":
        raise FailpointHit(f"failpoint {name} fired")
    elif action.startswith("sleep:"):
        time.sleep(float(action.split(":", 1)[1]))
    else:
        raise ValueError(f"AIRLOOP_FAILPOINTS: unknown action {action!r} for {name!r} "
                         "(use kill, raise or sleep:SECONDS)")  # fmt: skip
