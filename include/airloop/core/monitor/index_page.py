"""The monitor zone's index page: every monitored day, newest first, and the drift trend."""

from __future__ import annotations

import html

from airloop.core.data.lake import Lake
from airloop.core.data.storage import atomic_write_bytes
from airloop.core.monitor.monitoring import ZONE
from airloop.spec import PipelineSpec


def _trend_svg(points: list[tuple[str, float | None]], threshold: float) -> str:
    width, height = 640, 120
    values = [(i, v) for i, (_, v) in enumerate(points) if v is not None]
    if not values:
        return "<p>No drift measured yet.</p>"
    step = width / max(len(points) - 1, 1)
    line = " ".join(f"{i * step:.1f},{height - v * height:.1f}" for i, v in values)
    y = height - threshold * height
    return (
        f'<svg width="{width}" height="{height}" style="border:1px solid #ccc">'
        f'<line x1="0" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" stroke="#d33" '
        f'stroke-dasharray="4"/><polyline fill="none" stroke="#36c" stroke-width="2" '
        f'points="{line}"/></svg><p>Drift share per day (red: threshold {threshold}).</p>'
    )


def _columns(drift: dict) -> str:
    """Each compared column's statistic next to its threshold, and where the threshold came
    from (hover); drifted columns in bold."""
    cells = []
    for name, col in (drift.get("columns") or {}).items():
        text = f"{html.escape(name)} {col.get('score')} / {col.get('threshold')}"
        source = html.escape(str(col.get("threshold_source", "")), quote=True)
        text = f"<b>{text}</b>" if col.get("drifted") else text
        cells.append(f'<span title="{col.get("stattest")}; threshold: {source}">{text}</span>')
    quality = drift.get("quality_check") or {}
    if quality.get("reason"):
        cells.append(f"quality: {html.escape(quality['reason'])}")
    return "<br>".join(cells)


def write_index(lake: Lake, spec: PipelineSpec) -> str:
    """Rebuild ``monitor/index.html``: every monitored day, newest first, and the trend."""
    rows, points = [], []
    for d in lake.dates(ZONE):
        record = lake.manifest(ZONE, d) or {}
        drift = record.get("drift") or {}
        share = drift.get("drift_share")
        points.append((d.isoformat(), share))
        files = record.get("reports") or {}
        links = " ".join(
            f'<a href="date={d.isoformat()}/{html.escape(n)}">{html.escape(n)}</a>'
            for n in sorted(files)
        )
        decision = record.get("decision") or {}
        rows.append(
            f"<tr><td>{d}</td><td>v{record.get('champion')}</td>"
            f"<td>{'' if share is None else f'{share:.2f}'}</td><td>{_columns(drift)}</td>"
            f"<td>{decision.get('action', '')}</td>"
            f"<td>{html.escape(decision.get('reason', ''))}</td><td>{links}</td></tr>"
        )
    page = (
        f"<html><head><meta charset='utf-8'><title>{spec.name} monitoring</title></head><body>"
        f"<h1>{spec.name}: drift reports</h1>"
        f"{_trend_svg(points, spec.monitoring.policy.drift_share)}"
        "<table border='1' cellpadding='4'><tr><th>date</th><th>champion</th>"
        "<th>drift share</th><th>statistic / threshold (hover: source)</th><th>decision</th>"
        "<th>reason</th><th>reports</th></tr>" + "".join(reversed(rows)) + "</table></body></html>"
    )
    path = lake.base / ZONE / "index.html"
    atomic_write_bytes(path, page.encode())
    return str(path)
