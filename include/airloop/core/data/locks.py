"""Leased locks in the lake, on ``file://`` and ``s3://`` alike.

A lock is one object created exclusively (:func:`~airloop.core.data.storage.create_exclusive`:
a hard link locally, ``If-None-Match: *`` on S3) holding its owner and lease expiry. The owner is
the Airflow run id, so the retry of a run that was killed holding the lock takes it straight back;
anyone else waits, and breaks the lock once its holder is known dead (same host, its process
gone: a ``kill -9`` followed by a manual re-run) or once its lease has expired (another host).
Leases are wall-clock time (the lock is infrastructure, not task logic), far longer than any
publish, so a live holder is never broken in practice; a broken lock is logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

from airloop.core.data.storage import atomic_write_bytes, create_exclusive

log = logging.getLogger(__name__)
LEASE_S = float(os.environ.get("AIRLOOP_LOCK_LEASE_S", "600"))


class LockBusy(TimeoutError):
    """Another owner holds the lock past the wait; the message names it."""


def _read(path: Any) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_bytes())
    except (FileNotFoundError, json.JSONDecodeError):  # released (or being written) meanwhile
        return None


def _holder_dead(held: dict[str, Any]) -> bool:
    """True when the holder ran on this host and its process no longer exists."""
    if held.get("host") != socket.gethostname() or not isinstance(held.get("pid"), int):
        return False
    try:
        os.kill(held["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another user
        return False
    return False


def acquire(path: Any, owner: str, lease_s: float = LEASE_S, wait_s: float | None = None) -> None:
    """Hold ``path`` for ``owner``; wait up to ``wait_s`` (default: one lease plus a minute)."""
    wait = lease_s + 60 if wait_s is None else wait_s
    deadline = time.monotonic() + wait
    pause = 0.05
    while True:
        body = json.dumps({"owner": owner, "expires": time.time() + lease_s,
                           "host": socket.gethostname(), "pid": os.getpid()}).encode()  # fmt: skip
        if create_exclusive(path, body):
            return
        held = _read(path)
        if held is None:
            continue
        if held["owner"] == owner:  # our own earlier try, killed while holding it
            atomic_write_bytes(path, body)
            return
        if held["expires"] < time.time() or _holder_dead(held):
            log.warning("Breaking %s: %s is gone or its lease expired", path, held["owner"])
            if _read(path) == held:  # still the stale holder's, not a new one's
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            continue
        if time.monotonic() > deadline:
            until = time.strftime("%H:%M:%S", time.gmtime(held["expires"]))
            raise LockBusy(
                f"{path} is held by {held['owner']} (lease until {until} UTC); waited {wait:.0f} s"
            )
        time.sleep(pause)
        pause = min(pause * 2, 1.0)


def release(path: Any, owner: str) -> None:
    """Drop the lock if ``owner`` still holds it (a broken lease is not ours to delete)."""
    held = _read(path)
    if held is not None and held["owner"] == owner:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def held(path: Any, owner: str, lease_s: float = LEASE_S) -> Iterator[None]:
    """``with held(path, owner):`` — acquire, run, release (not released on a kill: leased)."""
    acquire(path, owner, lease_s)
    try:
        yield
    finally:
        release(path, owner)
