"""Atomic object writes over any pathlib-like path (``pathlib.Path``, fsspec ``UPath``).

Callers pass local paths or Airflow's ``ObjectStoragePath`` (a ``UPath``): one code path for
``file://`` and ``s3://``.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from typing import Any

TEMP_SUFFIX = ".tmp"


def _local_path(path: Any) -> str | None:
    """The filesystem path behind a local ``Path``/``UPath``; None for an object store."""
    if getattr(path, "protocol", "file") in ("file", "local", ""):
        return str(getattr(path, "path", path))
    return None


def _fsync_dir(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(target: str, data: bytes) -> str:
    """``data`` in a durable temporary sibling of ``target`` (fsynced before any rename)."""
    tmp = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.{uuid.uuid4().hex}"
                       f"{TEMP_SUFFIX}")  # fmt: skip
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return tmp


def atomic_write_bytes(path: Any, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old object or the new one, never a part.

    Local files: an fsynced temporary sibling ``os.replace``d over the name (atomic on POSIX,
    and there is never a moment without the object), then the folder is fsynced so the rename
    survives a power cut. Object stores: one PUT, which S3 already makes atomic — a temporary
    object and a rename would be a copy plus a delete, and leave debris on a crash.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    target = _local_path(path)
    if target is None:
        path.write_bytes(data)
        return
    tmp = _write_temp(target, data)
    try:
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(os.path.dirname(target))


def _precondition_failed(exc: BaseException) -> bool:
    """True when an S3 error (anywhere in the cause chain) is a failed ``If-None-Match``."""
    seen: BaseException | None = exc
    while seen is not None:
        response = getattr(seen, "response", None)
        if isinstance(response, dict):
            code = (response.get("Error") or {}).get("Code")
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            if code == "PreconditionFailed" or status == 412:
                return True
        seen = seen.__cause__ or seen.__context__
    return False


def create_exclusive(path: Any, data: bytes) -> bool:
    """Create ``path`` holding ``data`` unless it exists; True when this call created it.

    The primitive behind "at most one": local files are written aside and hard-linked into
    place (``link`` fails if the name exists, and readers never see a partial file); object
    stores get a conditional PUT (``If-None-Match: *``, s3fs's ``x`` mode). Only a real failed
    precondition means "exists": any other error (including a 409 conflict with a concurrent
    conditional write) is raised, so the caller retries instead of wrongly standing down.
    """
    if not data:
        raise ValueError(f"create_exclusive({path}): refusing an empty object (s3fs would "
                         "create it without the If-None-Match condition)")  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    target = _local_path(path)
    if target is None:
        try:
            with path.open("xb") as fh:
                fh.write(data)
            return True
        except FileExistsError:
            return False
        except OSError as exc:  # s3fs maps a 412 without its Condition header to EINVAL
            if _precondition_failed(exc):
                return False
            raise
    tmp = _write_temp(target, data)
    try:
        os.link(tmp, target)
        _fsync_dir(os.path.dirname(target))
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)


def sweep_temp(folder: Any, older_than_s: float, now: float) -> list[str]:
    """Remove temporary files a killed writer left under a local ``folder``; returns them.

    Only files older than ``older_than_s`` go, so a write in flight keeps its temporary file.
    Object stores get no temporary objects (see :func:`atomic_write_bytes`).
    """
    root = _local_path(folder)
    removed: list[str] = []
    if root is None or not os.path.isdir(root):
        return removed
    for base, _, names in os.walk(root):
        for name in names:
            if not name.endswith(TEMP_SUFFIX):
                continue
            full = os.path.join(base, name)
            with contextlib.suppress(FileNotFoundError):
                if now - os.stat(full).st_mtime > older_than_s:
                    os.unlink(full)
                    removed.append(full)
    return removed


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
