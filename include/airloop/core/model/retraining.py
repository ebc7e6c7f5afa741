"""The train DAG's steps, one function per task: claim → train → evaluate → promote | record.

Each step takes the opened :class:`~airloop.core.pipeline.Pipeline`, the run doing the work
(:class:`RunRef`) and the previous step's typed result, and returns its own. The Airflow tasks
and the bench's direct loop call these same functions; results cross XCom as plain dicts
(``to_xcom``/``from_xcom``) so the DAG's XCom values, templates and ledger keep their shape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from airloop.core.model import challenger, ledger, promotion
from airloop.core.monitor import monitoring
from airloop.core.pipeline import Pipeline

# Keys an evaluation's XCom value carries besides the decision record (see Evaluation).
_CONTEXT_KEYS = ("trigger", "run_id", "end", "request_keys")


@dataclass(frozen=True)
class RunRef:
    """Who does the work: an Airflow DAG run (or the bench's stand-in for one)."""

    dag_id: str
    run_id: str

    @property
    def ledger_key(self) -> str:
        """One ledger entry per run: a retried task rewrites it instead of adding another."""
        return ledger.entry_key(self.dag_id, self.run_id)


@dataclass(frozen=True)
class TrainRequest:
    """What to train on and why (for MLflow's tags and the ledger)."""

    end: date
    trigger: str
    reason: str
    request_keys: list[str] = field(default_factory=list)
    window_days: int | None = None
    estimator_params: dict[str, Any] | None = None
    code_version: str = "unknown"


@dataclass(frozen=True)
class Trained:
    """A registered challenger version (``reused`` when an earlier try registered it)."""

    version: int
    run_id: str
    reused: bool
    end: str
    trigger: str
    request_keys: list[str]
    window: str | None = None
    metrics: dict[str, float] | None = None

    def to_xcom(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_xcom(cls, value: dict[str, Any]) -> Trained:
        return cls(int(value["version"]), value["run_id"], bool(value.get("reused")),
                   value["end"], value["trigger"], list(value.get("request_keys") or []),
                   value.get("window"), value.get("metrics"))  # fmt: skip


@dataclass(frozen=True)
class Evaluation:
    """The offline decision: challenger vs champion on one holdout, with its evidence.

    ``record`` is the full decision record (outcome, reason, metrics, interval, slices, policy,
    versions), as logged to MLflow and kept in the ledger.
    """

    record: dict[str, Any]
    trigger: str
    run_id: str
    end: str
    request_keys: list[str]

    @property
    def outcome(self) -> str:
        return self.record["outcome"]

    @property
    def reason(self) -> str:
        return self.record["reason"]

    @property
    def challenger_version(self) -> int:
        return int(self.record["challenger_version"])

    @property
    def champion_version(self) -> int | None:
        return self.record["champion_version"]

    def to_xcom(self) -> dict[str, Any]:
        return {**self.record, "trigger": self.trigger, "run_id": self.run_id, "end": self.end,
                "request_keys": self.request_keys}  # fmt: skip

    @classmethod
    def from_xcom(cls, value: dict[str, Any]) -> Evaluation:
        record = {k: v for k, v in value.items() if k not in _CONTEXT_KEYS}
        return cls(record, value["trigger"], value["run_id"], value["end"],
                   list(value.get("request_keys") or []))  # fmt: skip


@dataclass(frozen=True)
class Promotion:
    """What the flip did: ``promoted`` false when @champion moved since the evaluation."""

    promoted: bool
    champion: int | None
    previous: int | None
    reason: str | None = None

    def to_xcom(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "reason" or v is not None}


def claim_requests(pipeline: Pipeline, keys: list[str], run: RunRef) -> dict[str, dict]:
    """Claim each request for this run; returns the requests another run holds (key → claim)."""
    held = {key: monitoring.claim(pipeline.lake, key, run.dag_id, run.run_id) for key in keys}
    return {key: claim for key, claim in held.items() if claim["run_id"] != run.run_id}


def train_challenger(pipeline: Pipeline, request: TrainRequest, run: RunRef) -> Trained:
    """Fit on the window ending ``request.end``; register as ``@challenger`` (once per run)."""
    tags = {"dag_id": run.dag_id, "airflow_run_id": run.run_id,
            "code_version": request.code_version, "trigger": request.trigger,
            "reason": request.reason, "request_keys": ",".join(request.request_keys)}  # fmt: skip
    found = challenger.train(pipeline.lake, pipeline.spec, request.end, tags,
                             request.window_days, request.estimator_params)  # fmt: skip
    return Trained(found["version"], found["run_id"], found["reused"], request.end.isoformat(),
                   request.trigger, list(request.request_keys), found.get("window"),
                   found.get("metrics"))  # fmt: skip


def evaluate_challenger(pipeline: Pipeline, trained: Trained, force: bool = False) -> Evaluation:
    """Both models on the same holdout → promote / reject / inconclusive, with the evidence."""
    record = challenger.evaluate(pipeline.spec, trained.to_xcom(), force=force)
    trigger = "initial" if record["champion_version"] is None else trained.trigger
    return Evaluation(record, trigger, trained.run_id, trained.end, trained.request_keys)


def promote_challenger(
    pipeline: Pipeline, evaluation: Evaluation, run: RunRef, at: datetime
) -> Promotion:
    """Flip @champion if it is still the version the evaluation was made against; ledger it."""
    done = promotion.promote(
        pipeline.lake, pipeline.name, evaluation.challenger_version,
        evaluation.champion_version, decision=evaluation.to_xcom(), trigger=evaluation.trigger,
        reason=evaluation.reason, at=at, key=run.ledger_key, data_date=evaluation.end,
        request_keys=evaluation.request_keys,
    )  # fmt: skip
    return Promotion(done["promoted"], done["champion"], done["previous"], done.get("reason"))


def record_outcome(
    pipeline: Pipeline, evaluation: Evaluation, run: RunRef, at: datetime,
    rejected_by_approver: str | None = None,
) -> dict[str, Any] | None:  # fmt: skip
    """Ledger a decision that did not promote; None when the run's entry exists already.

    ``rejected_by_approver`` (the approver's reason) turns a ``promote`` into a ``reject``.
    """
    if ledger.has_entry(pipeline.lake, run.ledger_key):  # promoted (or refused) and ledgered
        return None
    action, reason = evaluation.outcome, evaluation.reason
    if action == "promote":
        if rejected_by_approver is None:
            raise promotion.PromotionError("promotion did not happen; see promote_champion's log")
        action, reason = "reject", f"rejected by approver: {rejected_by_approver}"
    return ledger.record(
        pipeline.lake, run.ledger_key, at=at, action=action,
        from_version=evaluation.champion_version, to_version=evaluation.challenger_version,
        trigger=evaluation.trigger, reason=reason, decision=evaluation.to_xcom(),
        data_date=evaluation.end, request_keys=evaluation.request_keys,
    )  # fmt: skip


def serve_request(
    pipeline: Pipeline, request: TrainRequest, run: RunRef, at: datetime
) -> Evaluation | None:
    """The whole train DAG for one request without approval: None when another run holds it."""
    if claim_requests(pipeline, request.request_keys, run):
        return None
    evaluation = evaluate_challenger(pipeline, train_challenger(pipeline, request, run))
    if evaluation.outcome == "promote":
        promote_challenger(pipeline, evaluation, run, at)
    record_outcome(pipeline, evaluation, run, at)
    return evaluation
