"""The lake: ``<root>/<pipeline>/<zone>/date=YYYY-MM-DD/…`` over any pathlib-like root.

Pass ``pathlib.Path`` or an fsspec/Airflow ``ObjectStoragePath`` (``file://`` or ``s3://``): one
code path. A partition becomes visible only when its ``_manifest.json`` is written (a single
atomic write) after its data files, so a crash mid-publish never exposes a partial partition.
Raw batches are content-addressed and never overwritten or deleted.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from datetime import date
from typing import Any

import pandas as pd

from airloop.core.data import locks
from airloop.core.data.storage import atomic_write_bytes, translating_unreachable
from airloop.core.failpoints import failpoint

MANIFEST = "_manifest.json"
LOCK = "_publish.lock"  # held while a partition is written, committed and cleaned


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@translating_unreachable
class Lake:
    """One pipeline's corner of the lake."""

    def __init__(self, root: Any, pipeline: str) -> None:
        self.root = root
        self.base = root / pipeline

    def partition(self, zone: str, day: date) -> Any:
        return self.base / zone / f"date={day.isoformat()}"

    # -- raw: immutable, content-addressed ---------------------------------------------------
    def land_raw(self, day: date, data: bytes, suffix: str) -> dict[str, Any]:
        """Keep ``data`` as the raw batch of ``day``; landing the same bytes again is a no-op."""
        digest = sha256(data)
        path = self.partition("raw", day) / f"{digest[:16]}{suffix}"
        if not path.exists():
            atomic_write_bytes(path, data)
        return {"uri": str(path), "digest": digest, "bytes": len(data), "name": path.name}

    def raw_path(self, day: date, name: str) -> Any:
        return self.partition("raw", day) / name

    # -- published partitions: manifest-committed ---------------------------------------------
    def publish(
        self,
        zone: str,
        day: date,
        frame: pd.DataFrame,
        meta: dict[str, Any],
        sub: str = "",
        owner: str | None = None,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Write ``frame`` as the partition's data, then commit it with a manifest.

        Under the partition's lock (held by ``owner``, the run id): two publishes of the same
        date — a scheduled run and ``airloop ingest --date`` — take turns, so one's clean-up never
        deletes a part the other is about to commit. With ``replace``, parts of earlier runs go.
        """
        folder = self.partition(zone, day) / sub if sub else self.partition(zone, day)
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        data = buf.getvalue()
        digest = sha256(data)
        part = folder / f"part-{digest[:16]}.parquet"
        with locks.held(folder / LOCK, owner or f"anonymous-{uuid.uuid4().hex}"):
            if not part.exists():
                atomic_write_bytes(part, data)
            # The crash window this design closes: data written, not yet committed (tested).
            failpoint("lake.before_manifest")
            manifest = {
                **meta,
                "date": day.isoformat(),
                "rows": len(frame),
                "files": [part.name],
                "sha256": digest,
                "uri": str(folder),
            }
            body = json.dumps(manifest, indent=2, default=str).encode()
            atomic_write_bytes(folder / MANIFEST, body)
            if replace:
                self._drop_parts_except(folder, manifest["files"])
        return manifest

    @staticmethod
    def _drop_parts_except(folder: Any, keep: list[str]) -> None:
        for path in folder.glob("part-*.parquet"):
            if path.name not in keep:
                path.unlink()

    def drop_unreferenced_parts(self, zone: str, day: date) -> None:
        """Remove data files an earlier run of the same partition left behind (derived data)."""
        folder = self.partition(zone, day)
        with locks.held(folder / LOCK, f"cleanup-{uuid.uuid4().hex}"):
            manifest = self.manifest(zone, day)
            if manifest is not None:
                self._drop_parts_except(folder, manifest["files"])

    def manifest(self, zone: str, day: date, sub: str = "") -> dict[str, Any] | None:
        folder = self.partition(zone, day) / sub if sub else self.partition(zone, day)
        path = folder / MANIFEST
        return json.loads(path.read_bytes()) if path.exists() else None

    def write_manifest(self, zone: str, day: date, manifest: dict[str, Any], sub: str = "") -> None:
        folder = self.partition(zone, day) / sub if sub else self.partition(zone, day)
        atomic_write_bytes(folder / MANIFEST, json.dumps(manifest, indent=2, default=str).encode())

    def read(self, zone: str, day: date, sub: str = "") -> pd.DataFrame | None:
        """The committed partition, or None when none is published."""
        manifest = self.manifest(zone, day, sub)
        if manifest is None:
            return None
        folder = self.partition(zone, day) / sub if sub else self.partition(zone, day)
        frames = [pd.read_parquet(io.BytesIO((folder / f).read_bytes())) for f in manifest["files"]]
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def dates(self, zone: str) -> list[date]:
        """Dates with a committed partition in ``zone``, oldest first."""
        folder = self.base / zone
        if not folder.exists():
            return []
        found = []
        for child in folder.iterdir():
            name = child.name
            if name.startswith("date=") and (child / MANIFEST).exists():
                found.append(date.fromisoformat(name[5:]))
        return sorted(found)

    def quarantine_entries(self, day: date) -> list[tuple[str, dict[str, Any]]]:
        """``(sub, manifest)`` for every quarantine record of ``day`` (they are never deleted)."""
        folder = self.partition("quarantine", day)
        if not folder.exists():
            return []
        return [
            (child.name, json.loads((child / MANIFEST).read_bytes()))
            for child in sorted(folder.iterdir(), key=lambda p: p.name)
            if (child / MANIFEST).exists()
        ]

    def write_json(self, zone: str, day: date, name: str, payload: dict[str, Any]) -> str:
        path = self.partition(zone, day) / name
        atomic_write_bytes(path, json.dumps(payload, indent=2, default=str).encode())
        return str(path)

    def read_json(self, uri_path: Any) -> dict[str, Any]:
        return json.loads(uri_path.read_bytes())
