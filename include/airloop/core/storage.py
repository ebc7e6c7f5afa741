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


def create_exclusive(path: Any, data: bytes) -> bool:
    """Create ``path`` holding ``data`` unless it exists; True when this call created it.

    The primitive behind "at most one": local files are written aside and hard-linked into
    place (``link`` fails if the name exists, and readers never see a partial file); object
    stores get a conditional PUT (``If-None-Match: *``, s3fs's ``x`` mode).
    """
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    local = getattr(path, "protocol", "file") in ("file", "local", "")
    if not local:
        try:
            with path.open("xb") as fh:
                fh.write(data)
            return True
        except FileExistsError:
            return False
        except OSError as exc:  # s3fs reports a failed precondition as an OSError (412)
            if "PreconditionFailed" in str(exc) or "412" in str(exc):
                return False
            raise
    target = str(getattr(path, "path", path))
    tmp = f"{target}.{uuid.uuid4().hex}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
    try:
        os.link(tmp, target)
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)


class StorageUnavailable(OSError):
    """The object store did not answer; the message names the store and what was being done."""


# Connection failures of the S3 clients under fsspec (aiohttp for s3fs, botocore), by class name
# so this module imports neither.
_UNREACHABLE = {
    "ClientConnectorError",
    "ServerDisconnectedError",
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ConnectionClosedError",
    "ConnectionRefusedError",
}


def unreachable(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ in _UNREACHABLE:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def translating_unreachable(cls: type) -> type:
    """Wrap ``cls``'s public methods so an unreachable object store raises StorageUnavailable
    naming the root and the operation, instead of a bare socket error from deep in fsspec."""
    import functools

    def wrap(name: str, method: Any) -> Any:
        @functools.wraps(method)
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except Exception as exc:
                if not unreachable(exc):
                    raise
                what = " ".join(str(a) for a in args if not isinstance(a, bytes | bytearray))
                raise StorageUnavailable(
                    f"object storage unreachable at {getattr(self, 'root', '?')} during "
                    f"{name}({what}): {exc}. A partition is visible only once its manifest is "
                    "written, so nothing partial was published; rerun once the store answers."
                ) from exc

        return call

    for name, member in list(vars(cls).items()):
        if callable(member) and not name.startswith("_"):
            setattr(cls, name, wrap(name, member))
    return cls
