"""The drift policy (pure): persistence, episodes and dedupe, cooldown, budget, observe mode."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from airloop.core.monitor.drift_policy import Observation, PriorRequest, decide
from airloop.spec import DriftPolicySpec

D0 = date(2012, 6, 1)
POLICY = DriftPolicySpec(drift_share=0.5, persistence_k=3, persistence_n=4, cooldown_days=7,
                         max_retrains=2, budget_days=30, initial_min_days=14)  # fmt: skip


def simulate(shares, policy=POLICY, champion_of=lambda i: 1, promotions=()):
    """Run the policy day by day as the monitor DAG does, recording what it requests."""
    history, requests, decisions = [], [], []
    for i, share in enumerate(shares):
        day = D0 + timedelta(days=i)
        if share is not None:
            history.append(Observation(day, share, champion_of(i)))
        last = max((p for p in promotions if p <= day), default=None)
        found = decide(policy, day, history, champion_of(i), 100, requests, last, 42)
        if found.action != "none":
            requests.append(PriorRequest(found.key, day))
        decisions.append(found)
    return decisions, requests


def test_first_model_is_requested_once_enough_days_are_validated() -> None:
    few = decide(POLICY, D0, [], None, 13, [], None, 42)
    assert few.action == "none" and "13 of 14 days" in few.reason
    first = decide(POLICY, D0, [], None, 14, [], None, 42)
    assert (first.action, first.kind, first.key) == ("retrain", "initial", "initial|1")
    assert first.window == (D0 - timedelta(days=41), D0)
    again = decide(POLICY, D0, [], None, 20, [PriorRequest("initial|1", D0)], None, 42)
    assert again.action == "none" and "already requested" in again.reason
    later = decide(POLICY, D0, [], None, 28, [PriorRequest("initial|1", D0)], None, 42)
    assert later.action == "retrain" and later.key == "initial|2"


def test_no_trigger_before_the_persistence_window_then_exactly_one_per_episode() -> None:
    decisions, requests = simulate([0.1, 0.6, 0.7, 0.8, 0.9, 0.9, 0.9])
    actions = [d.action for d in decisions]
    assert actions == ["none", "none", "none", "retrain", "none", "none", "none"]
    assert [d.confirmed for d in decisions] == [False, False, False, True, True, True, True]
    assert requests == [PriorRequest(f"drift|v1|{D0 + timedelta(days=3)}|0", D0 + timedelta(3))]
    assert "already requested" in decisions[-1].reason
    assert "confirmation needs 3" in decisions[2].reason


def test_a_persisting_drift_asks_again_once_per_new_window_of_data() -> None:
    """A rejected challenger never re-triggers the same window; a week of new drift may."""
    decisions, requests = simulate([0.9] * 17)
    start = D0 + timedelta(2)
    assert [(r.key, r.day) for r in requests] == [
        (f"drift|v1|{start}|0", start),
        (f"drift|v1|{start}|1", start + timedelta(7)),
    ]
    assert "budget spent" in decisions[16].reason  # the third window is over budget


def test_unmonitored_days_never_confirm_drift() -> None:
    decisions, requests = simulate([0.9, None, None, 0.9, None, None, 0.9])
    assert requests == [] and not any(d.confirmed for d in decisions)


def test_a_new_episode_after_drift_subsides_may_request_again() -> None:
    shares = [0.9, 0.9, 0.9] + [0.1] * 4 + [0.9, 0.9, 0.9]
    _, requests = simulate(shares)
    assert [r.key for r in requests] == [
        f"drift|v1|{D0 + timedelta(2)}|0",
        f"drift|v1|{D0 + timedelta(9)}|0",
    ]


def test_no_drift_retrain_during_cooldown_after_a_promotion() -> None:
    decisions, requests = simulate([0.9] * 6, promotions=[D0])
    assert requests == []
    assert "cooldown until 2012-06-08" in decisions[-1].reason


def test_drift_observed_against_an_older_champion_does_not_count() -> None:
    decisions, requests = simulate([0.9] * 5, champion_of=lambda i: 1 if i < 3 else 2)
    assert requests == [PriorRequest(f"drift|v1|{D0 + timedelta(2)}|0", D0 + timedelta(2))]
    assert decisions[4].drifted_days == 2 and not decisions[4].confirmed


def test_the_budget_caps_retrains() -> None:
    episode = [0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1]
    decisions, requests = simulate(episode * 4)
    assert len(requests) == 2
    assert any("budget spent (2 per 30 days)" in d.reason for d in decisions)


def test_observe_mode_records_what_it_would_do_and_triggers_nothing() -> None:
    observe = POLICY.model_copy(update={"mode": "observe"})
    decisions, requests = simulate([0.9] * 5, policy=observe)
    assert [d.action for d in decisions].count("retrain") == 0
    assert [d.action for d in decisions].count("observe") == 1
    assert "observe mode" in decisions[2].reason and len(requests) == 1


@settings(max_examples=200, deadline=None)
@given(
    shares=st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=1, max_size=80),
    k=st.integers(1, 4),
    extra=st.integers(0, 3),
    budget=st.integers(0, 3),
)
def test_invariants(shares, k, extra, budget) -> None:
    policy = POLICY.model_copy(
        update={"persistence_k": k, "persistence_n": k + extra, "max_retrains": budget}
    )
    decisions, requests = simulate(shares, policy=policy)
    keys = [r.key for r in requests]
    assert len(keys) == len(set(keys)), "one request per episode key"
    for r in requests:  # the budget holds in every window
        recent = [q for q in requests if r.day - timedelta(days=30) < q.day <= r.day]
        assert len(recent) <= budget
    for i, d in enumerate(decisions):
        if d.action == "retrain":  # at least k drifted days among the last n
            last_n = shares[max(0, i - policy.persistence_n + 1) : i + 1]
            assert sum(1 for s in last_n if s is not None and s >= 0.5) >= k
