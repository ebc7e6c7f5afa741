"""The ``champion_history`` task: the champion against every version it replaced, recently."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from airflow.sdk import get_current_context, task

log = logging.getLogger(__name__)


def report_end(context: dict[str, Any]) -> date:
    """The last day a report covers: the ``date`` param, else the day before the run's date
    (a weekly run on Monday reports the week that ended on Sunday)."""
    from airloop.airflow.runtime import run_date

    chosen = run_date(context)
    return chosen if (context.get("params") or {}).get("date") else chosen - timedelta(days=1)


@task(multiple_outputs=False)
def champion_history(pipeline: str, days: int | None = None) -> dict[str, Any]:
    """Score every version the ledger ever promoted on the last ``days`` validated days (default:
    the ``days`` param, else 7); publish the ranking to the lake; notify when the champion is
    not the best of them."""
    from airloop.airflow.links import push_links
    from airloop.airflow.notify import notify
    from airloop.core.model import history, registry
    from airloop.project import open_pipeline

    context = get_current_context()
    opened = open_pipeline(pipeline)
    spec, lake = opened.spec, opened.lake
    days = int(days or (context.get("params") or {}).get("days") or 7)
    end = report_end(context)
    champion = registry.alias_version(spec.name, registry.CHAMPION)
    record = history.evaluate(
        lake, spec, end, days, champion, lambda v: registry.load_model(spec.name, v)
    )
    uris = history.publish(lake, record)
    push_links(context, {"Champion vs history": uris["history.html"]})
    ranked = sorted(record["versions"], key=lambda v: v["rank"])
    log.info("%s %s: %s", spec.name, end, [(f"v{v['version']}", v["metrics"]) for v in ranked])
    if record["champion_rank"] and record["champion_rank"] > 1:
        best = ranked[0]
        notify(
            pipeline, "history",
            f"v{best['version']} beats champion v{champion} on {record['metric']} over the "
            f"{len(record['window'])} days to {end} ({record['rows']} rows): consider "
            f"`airloop rollback {pipeline} --to {best['version']}` or a retrain",
            {"Report": uris["history.html"]}, context,
        )  # fmt: skip
    return {k: record[k] for k in ("date", "rows", "metric", "champion", "best", "champion_rank")}
