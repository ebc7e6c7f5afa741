"""Notifications per pipeline: quarantine, confirmed drift, promotion, rejection, failed task.

Every notification is logged and kept in the lake's outbox (``<pipeline>/notifications/``,
one object per event and run, so a retried task rewrites rather than repeats it). When the spec
says ``smtp`` or ``slack``, it is also sent through that Airflow provider's notifier, using an
Airflow connection; a delivery problem is logged and never fails the pipeline.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from airflow.sdk import BaseNotifier

log = logging.getLogger(__name__)


def _deliver(spec: Any, subject: str, body: str, context: dict[str, Any]) -> None:
    cfg = spec.notify
    if cfg.kind == "smtp":
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        SmtpNotifier(
            to=cfg.to, subject=subject, html_content=body.replace("\n", "<br>"),
            smtp_conn_id=cfg.conn_id or "smtp_default",
        ).notify(context)  # fmt: skip
    elif cfg.kind == "slack":
        try:
            from airflow.providers.slack.notifications.slack import SlackNotifier
        except ImportError:
            raise RuntimeError(
                "notify.kind is slack but apache-airflow-providers-slack is not installed"
            ) from None
        SlackNotifier(
            slack_conn_id=cfg.conn_id or "slack_api_default", text=f"*{subject}*\n{body}",
            channel=cfg.channel,
        ).notify(context)  # fmt: skip


def notify(
    pipeline: str,
    event: str,
    message: str,
    links: dict[str, str | None] | None = None,
    context: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Tell people about ``event`` of ``pipeline`` with links to the evidence."""
    from airloop.core.data.storage import atomic_write_bytes
    from airloop.project import lake_root
    from airloop.spec import load_pipeline

    spec = load_pipeline(pipeline)
    if event not in spec.notify.events:
        return None
    context = context or {}
    ti = context.get("ti")
    where = f"{getattr(ti, 'dag_id', '?')}.{getattr(ti, 'task_id', '?')}" if ti else "airloop"
    shown = {k: v for k, v in (links or {}).items() if v}
    record = {
        "pipeline": pipeline,
        "event": event,
        "message": message,
        "links": shown,
        "source": where,
        "run_id": context.get("run_id"),
        "channel": spec.notify.kind,
    }
    log.warning("NOTIFY %s [%s] %s %s", pipeline, event, message, shown or "")
    key = hashlib.sha256(f"{event}|{where}|{context.get('run_id')}".encode()).hexdigest()[:20]
    path = lake_root() / pipeline / "notifications" / f"{event}-{key}.json"
    atomic_write_bytes(path, json.dumps(record, indent=2, default=str).encode())
    body = message + "".join(f"\n{label}: {url}" for label, url in shown.items())
    try:
        _deliver(spec, f"[airloop] {pipeline}: {event}", body, context)
    except Exception as exc:  # delivery is best effort: the decision itself already happened
        log.error("could not deliver the %s notification via %s: %s", event, spec.notify.kind, exc)
    return record


class FailureNotifier(BaseNotifier):
    """``on_failure_callback`` for every Airloop task: a ``failure`` notification."""

    def __init__(self, pipeline: str) -> None:
        super().__init__()
        self.pipeline = pipeline

    def notify(self, context: Any) -> None:
        ti = context.get("ti")
        error = context.get("exception")
        message = (
            f"task {getattr(ti, 'task_id', '?')} of {getattr(ti, 'dag_id', '?')} failed "
            f"(run {context.get('run_id')}, try {getattr(ti, 'try_number', '?')}): {error}"
        )
        notify(self.pipeline, "failure", message, {"Log": getattr(ti, "log_url", None)}, context)
