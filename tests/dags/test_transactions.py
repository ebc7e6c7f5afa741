"""Promotion and rollback are idempotent transactions: a failure at any step, then a retry (or
the user running ``airloop rollback`` again), converges to exactly the intended champion with
exactly one ledger entry — against a real MLflow registry (SQLite), with failpoints."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from airloop.core.data.lake import Lake
from airloop.core.failpoints import FailpointHit
from airloop.core.model import ledger, promotion, registry

NAME = "txn_model"
AT = datetime(2012, 6, 1, tzinfo=UTC)
STEPS = ("between_aliases", "after_alias", "after_tags", "after_ledger")


@pytest.fixture
def lake(tmp_path: Path, isolated_mlflow: str, monkeypatch: pytest.MonkeyPatch) -> Lake:
    """Three registered versions (real registry rows; no model files are needed to flip aliases)."""
    monkeypatch.setenv("AIRLOOP_FAILPOINT_DIR", str(tmp_path / "fired"))
    client = registry.client()
    client.create_registered_model(NAME)
    for _ in range(3):
        client.create_model_version(NAME, source=(tmp_path / "model").as_uri())
    return Lake(tmp_path / "lake", NAME)


def _fail_at(monkeypatch: pytest.MonkeyPatch, point: str) -> None:
    monkeypatch.setenv("AIRLOOP_FAILPOINTS", f"{point}=raise")


def _state(lake: Lake) -> tuple[int | None, int | None, list[tuple[str, int, int]]]:
    # Sorted: the entries of one test share a timestamp, and the ledger orders those by key.
    entries = sorted(
        (e["action"], e["from_version"] or 0, e["to_version"] or 0) for e in ledger.entries(lake)
    )
    return (
        registry.alias_version(NAME, registry.CHAMPION),
        registry.alias_version(NAME, registry.PREVIOUS),
        entries,
    )


def _promote(lake: Lake, candidate: int, expected: int | None, key: str) -> dict:
    return promotion.promote(
        lake,
        NAME,
        candidate,
        expected,
        decision={},
        trigger="manual",
        reason="test",
        at=AT,
        key=key,
    )


def _bad_v2_previous_v1(lake: Lake) -> None:
    _promote(lake, 1, None, "p1")
    _promote(lake, 2, 1, "p2")
    assert _state(lake)[:2] == (2, 1)


@pytest.mark.parametrize("step", STEPS)
def test_a_retried_rollback_converges_to_the_previous_champion(lake, monkeypatch, step) -> None:
    _bad_v2_previous_v1(lake)
    _fail_at(monkeypatch, f"rollback.{step}")
    with pytest.raises(FailpointHit):
        promotion.rollback(lake, NAME, "v2 is bad", AT, "r1")
    promotion.rollback(lake, NAME, "v2 is bad", AT, "r1")  # the task's retry: same key
    promotion.rollback(lake, NAME, "v2 is bad", AT, "r1")  # and once more, for good measure
    champion, previous, entries = _state(lake)
    assert (champion, previous) == (1, 2)
    assert entries == [("promote", 0, 1), ("promote", 1, 2), ("rollback", 2, 1)]
    assert promotion.pending(lake) == []


@pytest.mark.parametrize("step", STEPS)
def test_running_airloop_rollback_again_finishes_the_first_rather_than_undoing_it(
    lake, monkeypatch, step
) -> None:
    _bad_v2_previous_v1(lake)
    _fail_at(monkeypatch, f"rollback.{step}")
    with pytest.raises(FailpointHit):
        promotion.rollback(lake, NAME, "v2 is bad", AT, "cli-1")
    result = promotion.rollback(lake, NAME, "v2 is bad", AT, "cli-2")  # a new key: a new call
    assert result["champion"] == 1
    assert _state(lake) == (1, 2, [("promote", 0, 1), ("promote", 1, 2), ("rollback", 2, 1)])


@pytest.mark.parametrize("step", STEPS)
def test_a_retried_promotion_converges_with_one_ledger_entry(lake, monkeypatch, step) -> None:
    _promote(lake, 1, None, "p1")
    _fail_at(monkeypatch, f"promote.{step}")
    with pytest.raises(FailpointHit):
        _promote(lake, 2, 1, "p2")
    assert _promote(lake, 2, 1, "p2") == {"promoted": True, "champion": 2, "previous": 1}
    assert _state(lake) == (2, 1, [("promote", 0, 1), ("promote", 1, 2)])
    tags = registry.version_info(NAME, 2)["tags"]
    assert tags["airloop.promoted_from"] == "1"


def test_a_promote_retry_after_a_completed_flip_never_undoes_a_later_rollback(lake) -> None:
    _bad_v2_previous_v1(lake)
    promotion.rollback(lake, NAME, "v2 is bad", AT, "r1")
    before = _state(lake)
    # The promote task of v2 was marked failed after it had finished; Airflow retries it.
    assert _promote(lake, 2, 1, "p2")["champion"] == 2  # the recorded outcome, replayed
    assert _state(lake) == before  # champion still 1, no second entry under p2
    assert ledger.entry(lake, "p2")["action"] == "promote"


def test_a_crashed_promotion_is_finished_before_a_new_rollback_computes_its_target(
    lake, monkeypatch
) -> None:
    _promote(lake, 1, None, "p1")
    _fail_at(monkeypatch, "promote.after_alias")
    with pytest.raises(FailpointHit):
        _promote(lake, 2, 1, "p2")
    promotion.rollback(lake, NAME, "v2 is bad", AT, "r1")
    assert _state(lake) == (1, 2, [("promote", 0, 1), ("promote", 1, 2), ("rollback", 2, 1)])


def test_a_champion_moved_outside_airloop_is_kept_and_ledgered(lake) -> None:
    _promote(lake, 1, None, "p1")
    registry.set_alias(NAME, registry.CHAMPION, 3)  # someone in the MLflow UI
    result = _promote(lake, 2, 1, "p2")
    assert result["promoted"] is False and result["champion"] == 3
    assert _state(lake)[0] == 3 and ledger.entry(lake, "p2")["action"] == "inconclusive"


def test_rollback_refuses_what_cannot_happen(lake) -> None:
    with pytest.raises(promotion.PromotionError, match="no previous champion"):
        promotion.rollback(lake, NAME, "why", AT, "r0")
    _promote(lake, 1, None, "p1")
    with pytest.raises(promotion.PromotionError, match="no version 9"):
        promotion.rollback(lake, NAME, "why", AT, "r0", to_version=9)
    with pytest.raises(promotion.PromotionError, match="already the champion"):
        promotion.rollback(lake, NAME, "why", AT, "r0", to_version=1)
    with pytest.raises(promotion.PromotionError, match="needs a reason"):
        promotion.rollback(lake, NAME, "  ", AT, "r0", to_version=2)


def test_a_retried_monitor_run_gets_back_the_request_its_first_try_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect 2: the first try dies after creating the retrain request (before the day is
    committed and the Asset event announced); the retry must return that request as created, so
    ``apply_policy`` announces it, while any other run still sees it as already requested."""
    from datetime import date, timedelta

    import pandas as pd

    from airloop.core.monitor import monitoring
    from airloop.spec import load_pipeline

    monkeypatch.setenv("AIRLOOP_FAILPOINT_DIR", str(tmp_path / "fired"))
    spec = load_pipeline("bike_demand")
    lake = Lake(tmp_path / "lake", spec.name)
    first = date(2012, 3, 1)
    days = [first + timedelta(days=i) for i in range(spec.training.window_days + 1)]
    for day in days:
        lake.publish("validated", day, pd.DataFrame({"cnt": [1]}), {"rows": 1})
    measured = {"date": days[-1].isoformat(), "drift": None, "champion": None}

    _fail_at(monkeypatch, "policy.after_request")
    with pytest.raises(FailpointHit):
        monitoring.decide_day(lake, spec, measured, "scheduled__a")
    [made] = monitoring.requests(lake)
    assert made["dag_run"] == "scheduled__a" and made["kind"] == "initial"
    assert monitoring.day_record(lake, days[-1]) is None  # the day was not committed

    record, decision, created = monitoring.decide_day(lake, spec, measured, "scheduled__a")
    assert created is not None and created["key"] == made["key"]  # announced by the retry
    assert decision.action == "retrain" and record["decision"]["action"] == "retrain"
    assert monitoring.requests(lake) == [made]  # no second request

    _, other, none = monitoring.decide_day(lake, spec, measured, "manual__b")
    assert none is None and other.action == "none"


def test_a_training_run_left_running_by_a_killed_try_is_ended_by_the_retry(
    isolated_mlflow: str,
) -> None:
    """A try killed before registration leaves its MLflow run RUNNING for ever; the retry of the
    same Airflow run marks it KILLED and points at the run that replaced it."""
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    name = "killed_try"
    tags = {"dag_id": f"{name}__train", "airflow_run_id": "scheduled__2012-03-01"}
    c = registry.client()
    experiment_id = registry.ensure_experiment(name)
    left = c.create_run(experiment_id, tags=tags).info.run_id  # what a kill -9 leaves behind
    other = c.create_run(experiment_id, tags={**tags, "airflow_run_id": "manual__x"}).info.run_id
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    model = LinearRegression().fit(x, [0.0, 1.0, 2.0, 3.0])
    done = registry.log_and_register(name, model, {}, {"rmse": 0.0}, tags, [], {}, x.head(2))
    old = c.get_run(left)
    assert old.info.status == "KILLED" and old.data.tags["airloop.superseded_by"] == done["run_id"]
    assert c.get_run(done["run_id"]).info.status == "FINISHED"
    assert c.get_run(other).info.status == "RUNNING"  # another Airflow run's is not touched


def test_only_a_real_failed_precondition_means_already_created() -> None:
    """#19 defect 6: any error whose text held "412" (a port, a byte count) read as "already
    claimed", so the caller stood down instead of retrying."""
    from botocore.exceptions import ClientError

    from airloop.core.data.storage import _precondition_failed

    def client_error(code: str, status: int) -> ClientError:
        body = {"Error": {"Code": code, "Message": "m"},
                "ResponseMetadata": {"HTTPStatusCode": status}}  # fmt: skip
        return ClientError(body, "PutObject")

    assert _precondition_failed(client_error("PreconditionFailed", 412))
    wrapped = OSError(22, "Invalid argument")  # what s3fs raises, the 412 as its cause
    wrapped.__cause__ = client_error("PreconditionFailed", 412)
    assert _precondition_failed(wrapped)
    assert not _precondition_failed(OSError("cannot connect to 127.0.0.1:4120 (412 bytes)"))
    assert not _precondition_failed(client_error("ConditionalRequestConflict", 409))
    assert not _precondition_failed(client_error("InternalError", 500))
