"""``airloop.patches``: the registry and its version guard, and for each patch two tests: the fix
works, and (``test_<patch>_upstream_still_needs_it``, against the unpatched upstream code) the
upstream behaviour it works around is still there. When one of the latter fails after an
upgrade, upstream fixed it: remove the patch. The tests of ``sqlite_clock``, ``supervisor_exit``
(tests/unit/test_sqlite_clock.py, test_supervisor_exit.py) and ``scheduler_events``
(tests/dags/test_scheduler_hand_off.py: it needs a real DAG run) live next to their helpers."""

from __future__ import annotations

import logging
import pkgutil
import threading
import time
from datetime import datetime
from typing import Any
from uuid import uuid4

import pytest

from airloop import patches
from airloop.patches import (
    executor_result_wait,
    gx_vectorised_metrics,
)


def fixed(patch: str) -> str:
    """The failure message of a ``test_<patch>_upstream_still_needs_it``."""
    return f"upstream fixed this: remove patch {patch}"


# --- the registry and its guard ----------------------------------------------------------------


def test_every_patch_module_is_listed_with_its_range_and_upstream_behaviour() -> None:
    from packaging.specifiers import SpecifierSet

    modules = {m.name for m in pkgutil.iter_modules(patches.__path__) if not m.name.startswith("_")}
    assert modules == {p.name for p in patches.PATCHES}
    for patch in patches.PATCHES:
        module = getattr(patches, patch.name)
        specs = {s.operator for s in SpecifierSet(patch.verified)}
        assert {">=", "<"} <= specs, f"{patch.name}: a closed range, not {patch.verified!r}"
        assert patch.upstream.strip() and patch.install is module.install
        assert patch.process in {"scheduler", "task-supervisor", "gx"}
        assert patches.found_version(patch.distribution), f"{patch.distribution} not installed"
        assert "upstream: not reported yet; reproduction" in module.__doc__.lower()


def test_a_patch_outside_its_verified_range_is_not_installed_and_says_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []
    probe = patches.Patch("probe", "probe-process", "apache-airflow-core", ">=3.3.0,<3.4",
                          "upstream does X", lambda: calls.append(1))  # fmt: skip
    monkeypatch.setattr(patches, "PATCHES", (*patches.PATCHES, probe))
    monkeypatch.setattr(patches, "found_version", lambda dist: "3.4.0")
    with caplog.at_level(logging.WARNING, logger="airloop.patches"):
        assert patches.install_for("probe-process") == []
    assert not calls and "probe" not in patches.installed()
    assert "patch probe not installed: apache-airflow-core 3.4.0 found, verified on " \
           "apache-airflow-core>=3.3.0,<3.4" in caplog.text  # fmt: skip

    monkeypatch.setattr(patches, "found_version", lambda dist: "3.3.2")
    try:
        assert patches.install("probe") and patches.install("probe")  # idempotent
        assert calls == [1] and "probe" in patches.installed()
    finally:
        patches._installed.pop("probe", None)
    with pytest.raises(KeyError):
        patches.install("no_such_patch")


# --- executor_result_wait ----------------------------------------------------------------------


def _executor(*bases: type) -> Any:
    """A started LocalExecutor (real queues and bookkeeping) without worker processes."""
    from airflow.executors.local_executor import LocalExecutor

    class NoWorkers(*bases, LocalExecutor):  # type: ignore[misc]
        def _check_workers(self) -> None:  # the test plays the worker
            pass

    executor = NoWorkers(parallelism=2)
    executor.is_mp_using_fork = False  # start() forks no workers either
    executor.start()
    return executor


def _send_a_task(executor: Any) -> Any:
    """Queue one task workload and let the executor send it to its workers (a heartbeat)."""
    from airflow.executors import workloads
    from airflow.executors.workloads.task import TaskInstanceDTO

    ti = TaskInstanceDTO(id=uuid4(), dag_version_id=uuid4(), task_id="t", dag_id="d",
                         run_id="r", try_number=1, pool_slots=1, priority_weight=1)  # fmt: skip
    bundle = workloads.BundleInfo(name="dags-folder")
    workload = workloads.ExecuteTask(token="t", dag_rel_path="d.py", log_path=None,
                                     bundle_info=bundle, ti=ti)  # fmt: skip
    executor.queue_workload(workload, session=None)
    executor.heartbeat()
    assert not executor.queued_tasks and not executor.activity_queue.empty()
    return workload.key


def test_executor_result_wait_wakes_sync_when_a_result_arrives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow.utils.state import TaskInstanceState

    assert patches.install("executor_result_wait")
    executor = _executor(executor_result_wait.WaitsForResults)
    key = _send_a_task(executor)
    assert executor._in_flight == {key}
    executor.change_state(key, TaskInstanceState.RUNNING, remove_running=False)
    assert executor._in_flight == {key}  # running is not a final state

    finish = threading.Timer(0.1, executor.result_queue.put, ((key, "success", None),))
    started = time.monotonic()
    finish.start()
    executor.sync()  # the worker reports within the wait: sync reads it at once
    took = time.monotonic() - started
    assert 0.09 < took < executor_result_wait.RESULT_WAIT_S, f"took {took:.2f}s"
    assert executor.event_buffer[key][0] == TaskInstanceState.SUCCESS
    assert executor._in_flight == set()

    key = _send_a_task(executor)
    monkeypatch.setattr(executor_result_wait, "_enabled", False)  # as outside the range
    started = time.monotonic()
    executor.sync()  # plain LocalExecutor.sync: no wait
    assert time.monotonic() - started < 0.05


def test_executor_result_wait_upstream_still_needs_it() -> None:
    executor = _executor()
    _send_a_task(executor)  # sent to the workers, no result yet: it is running
    assert executor.running == set(), fixed("executor_result_wait")


# --- gx_vectorised_metrics ---------------------------------------------------------------------


def _strptime_calls(module: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count ``datetime.strptime`` calls made through ``module``'s ``datetime`` name."""
    calls: list[str] = []

    class Counting(datetime):
        @classmethod
        def strptime(cls, value: str, fmt: str) -> datetime:  # type: ignore[override]
            calls.append(value)
            return datetime.strptime(value, fmt)

    monkeypatch.setattr(module, "datetime", Counting)
    return calls


def _pandas_fn(provider: type) -> Any:
    import inspect

    return inspect.unwrap(provider.__dict__["_pandas"])


DATES = ["2012-06-01", "2012-06-02", "x"] * 100


def test_gx_vectorised_metrics_are_what_gx_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd
    from great_expectations.execution_engine import PandasExecutionEngine
    from great_expectations.expectations.registry import get_metric_provider

    from airloop.core.data import vectorised_checks

    assert patches.install("gx_vectorised_metrics")
    engine = PandasExecutionEngine()
    pairs, _ = get_metric_provider("column_pair_values.in_set.condition", engine)
    strftime, _ = get_metric_provider("column_values.match_strftime_format.condition", engine)
    assert (pairs.__name__, strftime.__name__) == (
        "VectorisedColumnPairValuesInSet", "VectorisedMatchStrftimeFormat")  # fmt: skip
    calls = _strptime_calls(vectorised_checks, monkeypatch)
    parsed = _pandas_fn(strftime)(strftime, pd.Series(DATES), "%Y-%m-%d")
    assert parsed.tolist() == [True, True, False] * 100 and len(calls) == 3  # one per value


def test_gx_vectorised_metrics_upstream_still_needs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd
    from great_expectations.expectations.metrics.column_map_metrics import (
        column_values_match_strftime_format as gx_strftime,
    )

    pairs, strftime = gx_vectorised_metrics.upstream_providers()
    calls = _strptime_calls(gx_strftime, monkeypatch)
    parsed = _pandas_fn(strftime)(strftime, pd.Series(DATES), "%Y-%m-%d")
    assert parsed.tolist() == [True, True, False] * 100
    assert len(calls) == len(DATES), fixed("gx_vectorised_metrics")  # strptime per row

    rows: list[Any] = []
    iterrows = pd.DataFrame.iterrows

    def counted(frame: pd.DataFrame) -> Any:
        for row in iterrows(frame):
            rows.append(row[0])
            yield row

    monkeypatch.setattr(pd.DataFrame, "iterrows", counted)
    column = pd.Series([1, 2] * 50)
    _pandas_fn(pairs)(pairs, column, column, value_pairs_set=[(1, 1)])
    assert len(rows) == len(column), fixed("gx_vectorised_metrics")  # a Python loop per row
