"""A small client for Airflow's REST API v2 (standard library only).

Used by the CLI to trigger real DAG runs on a running platform and by the lifecycle tests.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

TERMINAL_STATES = {"success", "failed"}
WAIT_CHECK_S = 0.05


class AirflowApiError(RuntimeError):
    """Airflow answered with an error; the message carries the method, path and body."""


class AirflowClient:
    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._credentials = {"username": username, "password": password}
        self._token: str | None = None

    def _open(self, method: str, path: str, body: Any = None, auth: bool = True) -> Any:
        """The open HTTP response; an error answer raises :class:`AirflowApiError`."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.base_url}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if auth:
            req.add_header("Authorization", f"Bearer {self.token()}")
        try:
            return urllib.request.urlopen(req, timeout=30)
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise AirflowApiError(f"{method} {path} → HTTP {exc.code}: {detail}") from None

    def _send(self, method: str, path: str, body: Any = None, auth: bool = True) -> Any:
        with self._open(method, path, body, auth) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def token(self) -> str:
        if self._token is None:
            self._token = self._send("POST", "/auth/token", self._credentials, auth=False)[
                "access_token"
            ]
        return self._token

    def get(self, path: str) -> Any:
        return self._send("GET", path)

    def patch(self, path: str, body: Any) -> Any:
        return self._send("PATCH", path, body)

    def answer_approval(
        self,
        dag_id: str,
        run_id: str,
        approve: bool,
        reason: str = "",
        task_id: str = "approve_promotion",
    ) -> Any:
        """Answer a human-in-the-loop ApprovalOperator, as a person would in the UI."""
        path = (
            f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/"
            f"{task_id}/-1/hitlDetails"
        )
        body = {
            "chosen_options": ["Approve" if approve else "Reject"],
            "params_input": {"reason": reason},
        }
        return self.patch(path, body)

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        states = {t["task_id"]: t["state"] for t in self.task_instances(dag_id, run_id)}
        return states.get(task_id)

    def wait_for_dag(self, dag_id: str, timeout_s: float = 120.0) -> dict[str, Any]:
        """Wait until the dag-processor has parsed ``dag_id``; fail with its import errors."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self.get(f"/api/v2/dags/{dag_id}")
            except AirflowApiError as exc:
                if "404" not in str(exc) or time.monotonic() > deadline:
                    errors = self.get("/api/v2/importErrors").get("import_errors", [])
                    raise AirflowApiError(
                        f"DAG {dag_id} not available: {exc}; import errors: {errors}"
                    ) from None
            time.sleep(1.0)

    def trigger(
        self,
        dag_id: str,
        conf: dict[str, Any] | None = None,
        logical_date: str | None = None,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        """Unpause ``dag_id`` and create a run; returns the DAG run."""
        self._send("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        body: dict[str, Any] = {"logical_date": logical_date, "conf": conf or {}}
        if run_id:
            body["dag_run_id"] = run_id
        return self._send("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)

    def wait_for_run(self, dag_id: str, run_id: str, timeout_s: float = 600.0) -> dict[str, Any]:
        """Block until the run succeeds or fails; raise TimeoutError otherwise.

        Uses the API's own wait endpoint: the server checks the run's state every
        ``WAIT_CHECK_S`` with one small query and streams it, where polling the run cost a full
        request (~15 ms of the server's CPU) each time and so could not be frequent. The loop's
        next day starts when this returns.
        """
        run_path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with self._open("GET", f"{run_path}/wait?interval={WAIT_CHECK_S}") as resp:
                    for line in resp:
                        if line.strip() and json.loads(line)["state"] in TERMINAL_STATES:
                            return self.get(run_path)
                        if time.monotonic() > deadline:
                            break
            except (ConnectionResetError, TimeoutError, http.client.IncompleteRead):
                time.sleep(0.25)  # the stream dropped or stalled: wait again (refused: raised)
        raise TimeoutError(f"{dag_id} run {run_id} not finished after {timeout_s:.0f}s")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances"
        return self.get(path)["task_instances"]
