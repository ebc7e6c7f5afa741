"""Start and stop background services as whole process trees (Linux).

Airflow's scheduler has been seen to ignore SIGTERM and leave LocalExecutor workers behind, so
stopping a service signals its whole process group, waits, then kills whatever is left. Every
process we start also carries a marker environment variable, inherited by all descendants, so a
child that left the group (``setsid``) or was orphaned is still found and stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

MARKER_VAR = "AIRLOOP_SERVICE_OF"


@dataclass(frozen=True)
class ProcessRecord:
    """A started service: enough to find it again and to tell a reused pid from ours."""

    name: str
    pid: int
    pgid: int
    start_ticks: int
    log: str


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces; fields after the last ')' are fixed.
    return raw[raw.rindex(")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    """Process start time in clock ticks since boot, or None if the pid does not exist."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def is_running(pid: int) -> bool:
    """True for a live, non-zombie process."""
    fields = _stat_fields(pid)
    return bool(fields) and fields[0] not in ("Z", "X")


def record_alive(record: ProcessRecord) -> bool:
    return is_running(record.pid) and start_ticks(record.pid) == record.start_ticks


def spawn(
    name: str, argv: Sequence[str], env: Mapping[str, str], log_path: Path, run_dir: Path
) -> ProcessRecord:
    """Start ``argv`` as the leader of a new session, logging to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab", buffering=0) as log:
        log.write(f"\n==== starting {name}: {' '.join(argv)}\n".encode())
        proc = subprocess.Popen(
            list(argv),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    record = ProcessRecord(name, proc.pid, proc.pid, start_ticks(proc.pid) or 0, str(log_path))
    tmp = run_dir / f".{name}.json.tmp"
    tmp.write_text(json.dumps(asdict(record)))
    tmp.replace(run_dir / f"{name}.json")
    return record


def read_records(run_dir: Path) -> list[ProcessRecord]:
    """Records of services started from this state folder (alive or not)."""
    records = []
    for path in sorted(run_dir.glob("*.json")):
        try:
            records.append(ProcessRecord(**json.loads(path.read_text())))
        except (ValueError, TypeError):
            path.unlink(missing_ok=True)  # a corrupt record is useless; the marker scan remains
    return records


def forget(run_dir: Path, name: str) -> None:
    (run_dir / f"{name}.json").unlink(missing_ok=True)


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        fields = _stat_fields(pid)
        if not fields:
            break
        pid = int(fields[1])
    return pids


def marked_pids(marker_value: str) -> list[int]:
    """Live processes whose environment carries ``AIRLOOP_SERVICE_OF=<marker_value>``."""
    needle = f"{MARKER_VAR}={marker_value}".encode()
    skip = _ancestors()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in skip:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0") and is_running(int(entry.name)):
            found.append(int(entry.name))
    return found


def _proc_table() -> dict[int, tuple[int, int, int]]:
    """pid → (ppid, pgid, sid) of every live process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields and fields[0] not in ("Z", "X"):
                table[int(entry.name)] = (int(fields[1]), int(fields[2]), int(fields[3]))
    return table


def platform_pids(records: Sequence[ProcessRecord], marker_value: str) -> list[int]:
    """Every live process of the platform.

    Found three ways, because each alone misses some: the marker variable (Airflow retitles
    processes with setproctitle, which can overwrite /proc/<pid>/environ), the sessions and
    process groups our services lead, and the descendants of all of those.
    """
    table = _proc_table()
    leaders = {r.pid for r in records if r.start_ticks and record_alive(r)} | {
        r.pgid for r in records if record_alive(r)
    }
    found = set(marked_pids(marker_value)) | {
        pid for pid, (_, pgid, sid) in table.items() if pgid in leaders or sid in leaders
    }
    found |= {r.pid for r in records if record_alive(r)}
    return sorted(_with_descendants(found, table) - _ancestors())


def _with_descendants(pids: set[int], table: dict[int, tuple[int, int, int]]) -> set[int]:
    found, changed = set(pids), True
    while changed:
        extra = {pid for pid, (ppid, _, _) in table.items() if ppid in found} - found
        found |= extra
        changed = bool(extra)
    return found


def tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (what a lost machine would take down)."""
    return sorted(_with_descendants({pid}, _proc_table()))


def _signal_all(records: Iterable[ProcessRecord], pids: Iterable[int], sig: int) -> None:
    for record in records:
        if record_alive(record):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(record.pgid, sig)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


@dataclass(frozen=True)
class StopReport:
    stopped_by_term: int
    killed: int
    left: list[int]


def stop_all(
    records: Sequence[ProcessRecord], marker_value: str, grace_s: float = 20.0
) -> StopReport:
    """TERM every service group and marked process, wait ``grace_s``, then KILL what is left."""
    targets = set(platform_pids(records, marker_value))
    _signal_all(records, targets, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    remaining = _wait_gone(targets, records, marker_value, deadline)
    killed = 0
    if remaining:
        killed = len(remaining)
        _signal_all(records, remaining, signal.SIGKILL)
        remaining = _wait_gone(remaining, records, marker_value, time.monotonic() + 10)
    return StopReport(len(targets) - killed, killed, sorted(remaining))


def _wait_gone(
    pids: set[int], records: Sequence[ProcessRecord], marker_value: str, deadline: float
) -> set[int]:
    while True:
        # Re-scan: a dying parent may have forked one more child.
        alive = {p for p in pids if is_running(p)} | set(platform_pids(records, marker_value))
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.2)


def rss_bytes(pids: Iterable[int]) -> int:
    """Sum of resident set sizes of ``pids`` (those still alive)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def log_tail(path: Path, lines: int = 25) -> str:
    """The last ``lines`` of a service log, for an error message."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
