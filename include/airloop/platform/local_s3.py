"""``python -m airloop.platform.local_s3``: the stack profile's development S3 endpoint.

A moto server whose objects survive restarts: no S3-compatible server with on-disk storage is
installable here from the package registries (MinIO ships as a binary, not a wheel), so the
in-memory moto backend is snapshotted to ``--state`` (pickle, written atomically) every
``--snapshot-every`` seconds when it changed and on SIGTERM/SIGINT, and reloaded at start. A
``kill -9`` loses at most the last interval. Production points ``AIRLOOP_S3_ENDPOINT`` at real S3.
"""

from __future__ import annotations

import argparse
import logging
import pickle
import signal
import sys
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger("airloop.local_s3")


def _backends() -> Any:
    from moto.s3.models import s3_backends

    return s3_backends


def restore(state: Path) -> int:
    """Load a snapshot into moto's S3 backend; returns the number of buckets restored."""
    if not state.exists():
        return 0
    loaded = pickle.loads(state.read_bytes())
    backends = _backends()
    backends.update(loaded)
    return sum(len(region.buckets) for account in loaded.values() for region in account.values())


def snapshot(state: Path) -> bool:
    """Write the backend atomically; False when a request mutated it mid-pickle (try later)."""
    try:
        data = pickle.dumps(_backends())
    except RuntimeError:  # "dictionary changed size during iteration"
        return False
    tmp = state.with_name(f".{state.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(state)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="airloop-local-s3", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", type=Path, required=True, help="snapshot file")
    parser.add_argument("--snapshot-every", type=float, default=30.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    args.state.parent.mkdir(parents=True, exist_ok=True)
    log.info("restored %d bucket(s) from %s", restore(args.state), args.state)

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log.info("serving S3 on http://%s:%d", args.host, args.port)
    last = None
    while not stop.wait(args.snapshot_every):
        current = _fingerprint()
        if current != last and snapshot(args.state):
            last = current
    server.stop()  # no request can change the backend after this point
    snapshot(args.state)
    log.info("stopped; state saved to %s", args.state)
    return 0


def _fingerprint() -> tuple:
    """Cheap change detector: (bucket, key count, newest modification) per bucket."""
    marks = []
    for account in list(_backends().values()):
        for region in list(account.values()):
            for name, bucket in list(region.buckets.items()):
                keys = list(bucket.keys.values())
                newest = max((getattr(k, "last_modified", None) for k in keys), default=None)
                marks.append((name, len(keys), str(newest)))
    return tuple(sorted(marks))


if __name__ == "__main__":
    sys.exit(main())
