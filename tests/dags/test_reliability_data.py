"""Reliability, data plane: bad input never reaches training, a crash mid-publish never exposes
a partial partition, one retrain request trains at most once. Real DAG runs (``dag.test()`` via
``loop_env``), real GX, real MLflow (SQLite in tmp), the real lake; crashes are real SIGKILLs of
subprocesses at a named failpoint (``airloop.core.failpoints``)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import mlflow
import pandas as pd
import pytest

import corpus
from _support import REPO, seed_validated
from airloop.core.data.lake import Lake
from airloop.core.model import ledger, registry
from airloop.core.monitor import monitoring

pytestmark = pytest.mark.reliability

PIPELINE = "bike_demand"
GOOD_START, GOOD_END = date(2012, 4, 1), date(2012, 5, 12)  # 42 seeded days: the spec's window
# Corpus days come before the good days, so a retrain over both keeps good days as its holdout.
CASE_START = date(2012, 3, 10)
# The spec's features and target: what a model sees of a row.
COLUMNS = "season yr mnth hr holiday weekday workingday weathersit temp atemp hum windspeed cnt"
COLUMNS = COLUMNS.split()
GOOD_CSV = corpus.good_frame().to_csv(index=False).encode()  # the day the corpus breaks


def _csv_frame(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data))


def _seeded_loop(loop_env) -> tuple[Lake, object]:
    """The shipped spec, 42 good validated days, and the loop running its DAGs with dag.test()."""
    lake, write_spec, make_loop, _ = loop_env
    write_spec({})
    seed_validated(lake.root, PIPELINE, GOOD_START, (GOOD_END - GOOD_START).days + 1)
    return lake, make_loop()


def _changed_rows(frame: pd.DataFrame, good: pd.DataFrame) -> list[int]:
    """Rows of ``frame`` that differ from the good day: the bad rows a partial case injected."""
    same = (frame == good) | (frame.isna() & good.isna())
    return [int(i) for i in frame.index[~same.all(axis=1)]]


def _ingest_case(lake: Lake, loop, name: str, day: date, folder: Path) -> pd.DataFrame | None:
    """One corpus case through the real ingest DAG; asserts the day's outcome in the lake and
    returns the bad rows of a partial batch (a rejected batch has no row in the lake at all)."""
    case, where = corpus.build()[name], f"corpus case {name!r} ingested as {day}"
    path = folder / f"{name}{case.suffix}"
    path.write_bytes(case.data)
    result = loop._run("ingest", {"date": day.isoformat(), "file": str(path)}, ("validate_batch",))
    summary = result.xcom["validate_batch"]
    assert summary["status"] == case.status, (where, summary)
    messages = summary["batch_failures"] + [c["description"] for c in summary["failed_checks"]]
    assert any(case.message in m for m in messages), (where, case.message, messages)
    # A whole-batch rejection fails the run (someone must look); a partial day succeeds.
    assert result.state == ("success" if case.status == "partial" else "failed"), (where, result)
    assert [p.read_bytes() for p in lake.partition("raw", day).iterdir()] == [case.data], where
    [(_, record)] = lake.quarantine_entries(day)
    if case.status == "quarantined":
        assert record["scope"] == "batch", (where, record)
        assert any(case.message in r for r in record["reasons"]), (where, record["reasons"])
        assert lake.manifest("validated", day) is None, where
        assert not lake.partition("validated", day).exists(), where  # not even a data file
        return None
    frame = _csv_frame(case.data)
    bad = _changed_rows(frame, _csv_frame(GOOD_CSV))
    assert bad and record["scope"] == "rows" and record["rows"] == len(bad), (where, record)
    expected = frame.drop(index=bad).reset_index(drop=True)
    pd.testing.assert_frame_equal(lake.read("validated", day), expected, check_dtype=False)
    return frame.loc[bad, COLUMNS]


def test_bad_input_corpus_is_kept_out_of_validated_data_and_training(loop_env, tmp_path) -> None:
    lake, loop = _seeded_loop(loop_env)
    champion = loop._run("train", {"end_date": GOOD_END.isoformat()})
    assert champion.state == "success", champion.tasks
    assert registry.alias_version(PIPELINE, registry.CHAMPION) == 1
    cases = corpus.build()
    days = {name: CASE_START + timedelta(days=i) for i, name in enumerate(sorted(cases))}
    assert max(days.values()) < GOOD_START
    injected = {n: _ingest_case(lake, loop, n, d, tmp_path) for n, d in days.items()}

    window = (GOOD_END - CASE_START).days + 1  # every corpus day and every good day
    conf = {"end_date": GOOD_END.isoformat(), "window_days": window, "reason": "after corpus"}
    result = loop._run("train", conf, ("train_challenger", "evaluate_challenger"))
    assert result.state == "success", result.tasks
    trained, evaluation = result.xcom["train_challenger"], result.xcom["evaluate_challenger"]
    assert trained["version"] == 2 and not trained["reused"]

    # Lineage: exactly the committed validated partitions, none from a quarantined day.
    lineage = mlflow.artifacts.load_dict(f"runs:/{trained['run_id']}/partitions.json")
    partial = {d for n, d in days.items() if cases[n].status == "partial"}
    listed = {date.fromisoformat(p["date"]): p for p in lineage["partitions"]}
    assert set(listed) == {d for d in lake.dates("validated") if d >= CASE_START}
    assert partial <= set(listed) and not (set(days.values()) - partial) & set(listed)
    for day, part in listed.items():
        assert part["sha256"] == lake.manifest("validated", day)["sha256"], day

    # Content: the rows trained on (the reference sample holds every training row here) and the
    # holdout are exactly the validated rows of those partitions — no bad row among them.
    params = registry.client().get_run(trained["run_id"]).data.params
    reference = registry.load_artifact_frame(trained["run_id"], "reference.parquet")
    holdout = registry.load_artifact_frame(trained["run_id"], "holdout.parquet")
    assert int(params["train_rows"]) == len(reference)
    used = pd.concat([reference[COLUMNS], holdout[COLUMNS]], ignore_index=True)
    validated = pd.concat([lake.read("validated", d)[COLUMNS] for d in listed], ignore_index=True)
    ordered = [f.sort_values(COLUMNS, ignore_index=True) for f in (used, validated)]
    pd.testing.assert_frame_equal(*ordered, check_dtype=False)
    for name, rows in injected.items():
        assert rows is None or used.merge(rows).empty, f"{name}: a bad row reached training"

    # Nothing about the corpus moved the champion.
    assert evaluation["outcome"] != "promote", evaluation
    assert registry.alias_version(PIPELINE, registry.CHAMPION) == 1
    assert ledger.entries(lake)[-1]["action"] == evaluation["outcome"]


# -- a crash between writing a partition's data and committing its manifest ------------------
_PUBLISH = """\
import sys
from datetime import date
from pathlib import Path
from airloop.core.data.lake import Lake
from airloop.core.simulators.simulator import simulate_day
day = date.fromisoformat(sys.argv[2])
Lake(Path(sys.argv[1]), "bike_demand").publish(
    "validated", day, simulate_day(day, seed=int(sys.argv[3])), {"seed": sys.argv[3]})
"""
_INGEST = """\
import sys
from airflow.dag_processing.dagbag import DagBag
dag = (bag := DagBag(dag_folder=sys.argv[1])).get_dag("bike_demand__ingest")
assert dag is not None, bag.import_errors
dag.test(run_conf={"date": sys.argv[2], "file": sys.argv[3]})
"""


def _killed(script: str, *args: str) -> None:
    """Run ``script`` in a subprocess that SIGKILLs itself at ``lake.before_manifest``."""
    env = {**os.environ, "AIRLOOP_FAILPOINTS": "lake.before_manifest=kill"}
    done = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True,
                          text=True, timeout=600, check=False)  # fmt: skip
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stderr[-3000:])


def _parts(lake: Lake, day: date) -> set[str]:
    return {p.name for p in lake.partition("validated", day).glob("part-*.parquet")}


def test_a_publish_killed_before_its_manifest_exposes_nothing_partial(tmp_path) -> None:
    from airloop.core.simulators.simulator import simulate_day

    lake, day = Lake(tmp_path / "lake", PIPELINE), date(2012, 5, 1)
    first, second = simulate_day(day, seed=1), simulate_day(day, seed=2)

    _killed(_PUBLISH, str(lake.root), day.isoformat(), "1")  # over an empty partition
    assert len(_parts(lake, day)) == 1  # the data was written: the kill hit the window
    assert lake.manifest("validated", day) is None and lake.read("validated", day) is None
    assert lake.dates("validated") == []

    lake.publish("validated", day, first, {"seed": "1"})  # the clean rerun
    pd.testing.assert_frame_equal(lake.read("validated", day), first, check_dtype=False)
    committed = lake.manifest("validated", day)

    _killed(_PUBLISH, str(lake.root), day.isoformat(), "2")  # over a committed version
    assert len(_parts(lake, day)) == 2
    assert lake.manifest("validated", day) == committed  # exactly the previous version
    pd.testing.assert_frame_equal(lake.read("validated", day), first, check_dtype=False)

    # A clean rerun commits the whole new version; the superseded data file goes.
    lake.publish("validated", day, second, {"seed": "2"})
    lake.drop_unreferenced_parts("validated", day)
    pd.testing.assert_frame_equal(lake.read("validated", day), second, check_dtype=False)
    assert _parts(lake, day) == set(lake.manifest("validated", day)["files"])
    assert lake.dates("validated") == [day]


def test_an_ingest_run_killed_before_its_manifest_reruns_cleanly(loop_env, tmp_path) -> None:
    lake, write_spec, make_loop, _ = loop_env
    write_spec({})
    day, good = corpus.GOOD_DAY, tmp_path / "good.csv"
    good.write_bytes(GOOD_CSV)
    # What an earlier ingest of the day committed: 23 of the 24 rows (one was quarantined).
    lake.publish("validated", day, _csv_frame(good.read_bytes()).iloc[1:], {"run_id": "earlier"})
    previous = lake.manifest("validated", day)

    # The whole ingest run (dag.test runs its tasks in-process) dies in publish_validated.
    _killed(_INGEST, str(REPO / "dags" / "bike_demand.py"), day.isoformat(), str(good))
    assert len(_parts(lake, day)) == 2  # the new data file is there, uncommitted
    assert lake.manifest("validated", day) == previous
    assert len(lake.read("validated", day)) == previous["rows"] == 23

    rerun = make_loop()._run("ingest", {"date": day.isoformat(), "file": str(good)})
    assert rerun.state == "success", rerun.tasks
    expected = _csv_frame(good.read_bytes())
    pd.testing.assert_frame_equal(lake.read("validated", day), expected, check_dtype=False)
    manifest = lake.manifest("validated", day)
    assert _parts(lake, day) == set(manifest["files"]) and len(manifest["files"]) == 1
    assert manifest["rows"] == 24 and lake.dates("validated") == [day]


# -- 100 concurrent retrain requests for one window → at most one training -------------------
_STORM = """\
import json, sys, threading, time
from pathlib import Path
from airloop.core.monitor import monitoring
from airloop.core.data.lake import Lake
from airloop.spec import load_pipeline
worker, threads, folder, ops = sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]), sys.argv[5]
lake, spec = Lake(Path(sys.argv[1]), "bike_demand"), load_pipeline("bike_demand")
barrier, out = threading.Barrier(threads), []
def contend(i):
    run_id = f"storm__{worker}.{i}"
    barrier.wait()  # every thread of every process starts together
    for op, arg in json.loads(ops):
        if op == "claim":
            holder = monitoring.claim(lake, arg, "bike_demand__train", run_id)["run_id"]
            out.append({"op": op, "run_id": run_id, "holder": holder})
        else:  # the monitor DAG's decision for a measured day: policy, request, day record
            created = monitoring.decide_day(lake, spec, arg, run_id)[2]
            out.append({"op": op, "run_id": run_id, "created": created is not None})
(folder / f"ready-{worker}").touch()
while not (folder / "go").exists():
    time.sleep(0.001)
pool = [threading.Thread(target=contend, args=(i,)) for i in range(threads)]
for t in pool:
    t.start()
for t in pool:
    t.join()
print(json.dumps(out))
"""


def _storm(lake: Lake, folder: Path, ops: list, processes: int = 2, threads: int = 50) -> list:
    """``processes`` × ``threads`` contenders run ``ops`` at once; returns what each saw."""
    folder.mkdir()
    argv = [sys.executable, "-c", _STORM, str(lake.root)]
    procs = [subprocess.Popen([*argv, str(w), str(threads), str(folder), json.dumps(ops)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for w in range(processes)]  # fmt: skip
    while len(list(folder.glob("ready-*"))) < processes:  # go once every process has imported
        assert all(p.poll() is None for p in procs), [p.communicate()[1][-2000:] for p in procs]
        time.sleep(0.05)
    (folder / "go").touch()
    seen = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
        seen += json.loads(out.strip().splitlines()[-1])
    return seen


def test_a_hundred_concurrent_requests_for_one_window_train_once(loop_env, tmp_path) -> None:
    lake, loop = _seeded_loop(loop_env)
    race_key = "drift|v1|2012-05-12|0"  # a request nobody has claimed yet
    day = {"date": GOOD_END.isoformat(), "drift": None, "champion": None}

    # At once: 100 claims of an unclaimed request, 100 monitor decisions asking for a first model.
    seen = _storm(lake, tmp_path / "storm1", [["claim", race_key], ["request", day]])
    claims = [s for s in seen if s["op"] == "claim"]
    [winner] = [s["run_id"] for s in claims if s["holder"] == s["run_id"]]
    assert {s["holder"] for s in claims} == {winner, monitoring.claim_of(lake, race_key)["run_id"]}
    created = [s for s in seen if s["op"] == "request" and s["created"]]
    assert len(created) == 1 and len(claims) == len(seen) - len(claims) == 100, created
    [request] = monitoring.requests(lake)
    assert request["dag_run"] == created[0]["run_id"] and request["kind"] == "initial"

    # The request served by real train DAG runs: the first trains, later ones stop at the claim,
    # even with 100 more claims fired between them.
    conf = {"request_key": request["key"], "end_date": request["window"][1]}
    first = loop._run("train", conf)
    assert first.state == "success" and first.tasks["train_challenger"] == "success", first
    seen = _storm(lake, tmp_path / "storm2", [["claim", request["key"]]])
    assert {s["holder"] for s in seen} == {first.run_id}
    for _ in range(2):
        again = loop._run("train", conf)
        assert again.state == "success" and again.tasks["claim_request"] == "success", again
        assert again.tasks["train_challenger"] == "skipped", again

    # One training: one version, one MLflow training run, one ledger entry for the request.
    assert registry.count_versions(PIPELINE) == 1
    assert registry.alias_version(PIPELINE, registry.CHAMPION) == 1
    experiment = registry.ensure_experiment(PIPELINE)
    assert len(registry.client().search_runs([experiment])) == 1
    assert [e["request_keys"] for e in ledger.entries(lake)] == [[request["key"]]]
    assert monitoring.claim_of(lake, request["key"])["run_id"] == first.run_id
