"""Atomic object writes over any pathlib-like path (``pathlib.Path``, fsspec ``UPath``).

Callers pass local paths or Airflow's ``ObjectStoragePath`` (a ``UPath``): one code path for
``file://`` and ``s3://``.
"""

from __future__ import annotations

import uuid
from typing import Any


def atomic_write_bytes(path: Any, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old object or the new one, never a part.

    Local files: a temporary sibling renamed into place (atomic on POSIX). Object stores: a
    single PUT is already atomic, and the rename becomes a server-side copy.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    tmp.write_bytes(data)
    try:
        tmp.rename(path)
    except FileExistsError:  # some fsspec backends refuse to rename over an existing object
        path.unlink()
        tmp.rename(path)
