"""The REST model server: every pipeline's ``@champion``, hot-swapped without a restart.

Each pipeline's holder re-resolves the alias every ``refresh_s`` seconds; a new version is
loaded fully *before* the swap, and a request takes one reference to the model it uses, so a
promotion or rollback never fails a request in flight. Payloads are checked against the
model's MLflow signature; every answer names the version that produced it.
"""

# No "from __future__ import annotations": FastAPI resolves the route signatures (Request)
# at definition time, and they are imported inside create_app.
import logging
import math
import threading
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)
MAX_ROWS = 10_000
NUMERIC = {"long", "integer", "double", "float"}


@dataclass(frozen=True)
class Served:
    version: int
    run_id: str
    model: Any
    columns: dict[str, str]  # signature input name → MLflow type


class PayloadError(ValueError):
    """The request body does not fit the model's signature; the message says where."""


class Holder:
    """The current champion of one pipeline."""

    def __init__(self, pipeline: str) -> None:
        self.pipeline = pipeline
        self.current: Served | None = None
        self._lock = threading.Lock()  # one load at a time; readers never wait on it

    def refresh(self) -> bool:
        """Load the champion if it changed; True when a new version is now served."""
        from airloop.core.model import registry

        version = registry.alias_version(self.pipeline, registry.CHAMPION)
        if version is None or (self.current and self.current.version == version):
            return False
        with self._lock:
            info = registry.version_info(self.pipeline, version) or {}
            loaded = Served(
                version, info.get("run_id", ""), registry.load_model(self.pipeline, version),
                registry.signature_columns(self.pipeline, version),
            )  # fmt: skip
            previous, self.current = self.current, loaded  # one reference swap: atomic
        log.info("%s: serving v%s (was %s)", self.pipeline, version,
                 previous.version if previous else None)  # fmt: skip
        return True


def check_rows(body: Any, columns: dict[str, str]) -> list[dict[str, Any]]:
    """The rows of a request, or :class:`PayloadError` naming the row and column at fault."""
    if not isinstance(body, dict):
        raise PayloadError('the body must be a JSON object like {"rows": [{...}]}')
    rows = body.get("rows", body.get("dataframe_records"))
    if not isinstance(rows, list) or not rows:
        raise PayloadError('"rows" must be a non-empty list of objects')
    if len(rows) > MAX_ROWS:
        raise PayloadError(f"at most {MAX_ROWS} rows per request, got {len(rows)}")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise PayloadError(f"rows[{i}] must be an object")
        missing = [c for c in columns if c not in row]
        unknown = [c for c in row if c not in columns]
        if missing or unknown:
            raise PayloadError(f"rows[{i}]: missing columns {missing}, unknown columns {unknown}")
        for name, kind in columns.items():
            value = row[name]
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if kind in NUMERIC and not (numeric and math.isfinite(value)):
                raise PayloadError(f"rows[{i}].{name}: expected a finite number ({kind}), "
                                   f"got {value!r}")  # fmt: skip
            if kind in ("long", "integer") and numeric and value != int(value):
                raise PayloadError(f"rows[{i}].{name}: expected an integer, got {value!r}")
            if kind == "string" and not isinstance(value, str):
                raise PayloadError(f"rows[{i}].{name}: expected a string, got {value!r}")
    return rows


def predict(served: Served, spec: Any, rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """``predictions``: one number a row (binary: the positive-class probability); multi-class:
    the most probable label a row, and ``probabilities`` (label → probability) a row."""
    import pandas as pd

    from airloop.core.model import classes, training

    frame = pd.DataFrame(rows, columns=list(served.columns))
    for name, kind in served.columns.items():  # JSON numbers → the trained dtypes
        if kind in ("long", "integer"):
            frame[name] = frame[name].astype("int64")
        elif kind in ("double", "float"):
            frame[name] = frame[name].astype("float64")
    found = training.predict(served.model, spec, frame)
    if not spec.multiclass:
        return {"predictions": [float(p) for p in found]}
    names = [str(c) for c in spec.classes]
    probabilities = [dict(zip(names, map(float, row), strict=True)) for row in found]
    return {
        "predictions": list(classes.predicted_labels(spec, found)),
        "probabilities": probabilities,
    }


def create_app(pipelines: list[str], refresh_s: float = 2.0, token: str | None = None) -> Any:
    """The FastAPI app; a daemon thread re-resolves the aliases every ``refresh_s``."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    from airloop.spec import load_pipeline

    specs = {p: load_pipeline(p) for p in pipelines}
    holders = {p: Holder(p) for p in pipelines}
    stop = threading.Event()

    def refresh_all() -> None:
        for holder in holders.values():
            try:
                holder.refresh()
            except Exception as exc:  # keep serving the loaded version; try again later
                log.warning("%s: cannot refresh the champion: %s", holder.pipeline, exc)

    def loop() -> None:
        while not stop.wait(refresh_s):
            refresh_all()

    refresh_all()
    threading.Thread(target=loop, name="champion-refresh", daemon=True).start()
    app = FastAPI(title="Airloop model server", version="1")
    app.state.stop, app.state.holders = stop, holders

    def error(status: int, message: str) -> Any:
        return JSONResponse({"error": message}, status_code=status)

    @app.middleware("http")
    async def authenticate(request: Request, call_next: Any) -> Any:
        wrong = request.headers.get("authorization") != f"Bearer {token}"
        if token and request.url.path != "/health" and wrong:
            return error(401, "missing or wrong bearer token")
        return await call_next(request)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "models": {p: h.current and h.current.version
                                           for p, h in holders.items()}}  # fmt: skip

    @app.get("/v1/models")
    def models() -> list[dict[str, Any]]:
        return [
            {"pipeline": p, "model_version": h.current.version if h.current else None,
             "inputs": h.current.columns if h.current else None}
            for p, h in holders.items()
        ]  # fmt: skip

    @app.post("/v1/models/{pipeline}/predict")
    async def predict_route(pipeline: str, request: Request) -> Any:
        if pipeline not in holders:
            return error(404, f"unknown pipeline {pipeline!r}; serving {sorted(holders)}")
        served = holders[pipeline].current  # the model this request uses, whatever happens next
        if served is None:
            return error(503, f"{pipeline} has no champion yet")
        try:
            body = await request.json()
        except ValueError:
            return error(400, "the body is not valid JSON")
        try:
            rows = check_rows(body, served.columns)
        except PayloadError as exc:
            return error(422, str(exc))
        found = predict(served, specs[pipeline], rows)
        return JSONResponse(
            {"pipeline": pipeline, "model_version": served.version,
             "model_run_id": served.run_id, **found},
            headers={"X-Airloop-Model-Version": str(served.version)},
        )  # fmt: skip

    return app
