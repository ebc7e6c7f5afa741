"""The lake: atomic, manifest-committed partitions; one code path for local disk and S3
(the S3 cases, on a real S3 server, are in platform/test_lake_s3.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from airloop.core.data.lake import Lake

DAY = date(2012, 6, 5)


def test_raw_is_content_addressed_and_never_duplicated(tmp_path: Path) -> None:
    lake = Lake(tmp_path, "p")
    a = lake.land_raw(DAY, b"one", ".csv")
    assert lake.land_raw(DAY, b"one", ".csv") == a
    b = lake.land_raw(DAY, b"two", ".csv")
    assert a["uri"] != b["uri"]
    assert sorted(p.read_bytes() for p in lake.partition("raw", DAY).iterdir()) == [b"one", b"two"]


def test_a_partition_without_its_manifest_is_invisible(tmp_path: Path) -> None:
    """A crash between writing data and committing the manifest exposes nothing."""
    lake = Lake(tmp_path, "p")
    folder = lake.partition("validated", DAY)
    folder.mkdir(parents=True)
    pd.DataFrame({"x": [1, 2]}).to_parquet(folder / "part-0123.parquet")
    assert lake.read("validated", DAY) is None
    assert lake.dates("validated") == []


def test_republishing_replaces_the_partition_and_drops_stale_parts(tmp_path: Path) -> None:
    lake = Lake(tmp_path, "p")
    lake.publish("validated", DAY, pd.DataFrame({"x": [1, 2]}), {})
    lake.publish("validated", DAY, pd.DataFrame({"x": [3]}), {})
    lake.drop_unreferenced_parts("validated", DAY)
    assert lake.read("validated", DAY)["x"].tolist() == [3]
    assert len(list(lake.partition("validated", DAY).glob("part-*.parquet"))) == 1
    assert lake.dates("validated") == [DAY]


def test_no_temporary_files_remain_after_writes(tmp_path: Path) -> None:
    lake = Lake(tmp_path, "p")
    lake.land_raw(DAY, b"data", ".csv")
    lake.publish("validated", DAY, pd.DataFrame({"x": [1]}), {})
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_an_unreachable_store_fails_with_a_message_naming_it(monkeypatch) -> None:
    """No S3 endpoint listens on port 9: the error says which store and which operation."""
    import json

    from airflow.sdk import ObjectStoragePath

    from airloop.core.data.storage import StorageUnavailable

    extra = {"endpoint_url": "http://127.0.0.1:9", "region_name": "us-east-1",
             "config_kwargs": {"connect_timeout": 2, "retries": {"max_attempts": 1}}}  # fmt: skip
    conn = {"conn_type": "aws", "login": "key", "password": "secret", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_NOWHERE_S3", json.dumps(conn))  # own id: fs are cached per id
    lake = Lake(ObjectStoragePath("s3://nowhere_s3@nowhere/lake"), "bike_demand")
    pattern = r"unreachable at s3://nowhere_s3@nowhere/lake during land_raw\(2012-05-01 .csv\)"
    with pytest.raises(StorageUnavailable, match=pattern) as info:
        lake.land_raw(date(2012, 5, 1), b"a,b\n1,2\n", ".csv")
    assert "127.0.0.1:9" in str(info.value) and "nothing partial was published" in str(info.value)


def test_two_publishes_of_one_date_never_commit_a_manifest_without_its_part(
    tmp_path, monkeypatch
) -> None:
    """Run A pauses before its manifest while run B publishes and cleans up: with the partition
    lock, B waits for A, so the committed manifest always names a part that exists."""
    import threading

    monkeypatch.setenv("AIRLOOP_FAILPOINTS", "lake.before_manifest=sleep:1.5")
    monkeypatch.setenv("AIRLOOP_FAILPOINT_DIR", str(tmp_path / "fired"))  # A sleeps, B does not
    lake = Lake(tmp_path / "lake", "p")
    a = threading.Thread(target=lake.publish, args=("validated", DAY, pd.DataFrame({"x": [1]}),
                         {}), kwargs={"owner": "run-a", "replace": True})  # fmt: skip
    a.start()
    import time

    time.sleep(0.5)  # A holds the lock and sleeps at its failpoint
    lake.publish("validated", DAY, pd.DataFrame({"x": [2, 3]}), {}, owner="run-b", replace=True)
    a.join()
    manifest = lake.manifest("validated", DAY)
    folder = lake.partition("validated", DAY)
    assert all((folder / f).exists() for f in manifest["files"])
    assert lake.read("validated", DAY)["x"].tolist() == [2, 3]  # B committed last
    assert not (folder / "_publish.lock").exists()


def test_a_killed_publishers_lock_is_taken_back_by_its_retry_and_broken_after_its_lease(
    tmp_path,
) -> None:
    import json
    import socket
    import subprocess
    import sys
    import time

    from airloop.core.data import locks

    path = tmp_path / "p.lock"
    path.write_text(json.dumps({"owner": "run-a", "expires": time.time() + 60}))
    locks.acquire(path, "run-a")  # the same run's retry: immediately
    with pytest.raises(locks.LockBusy, match="held by run-a"):
        locks.acquire(path, "run-b", wait_s=0.3)
    path.write_text(json.dumps({"owner": "run-a", "expires": time.time() - 1}))
    locks.acquire(path, "run-b", wait_s=0.3)  # lease expired: broken
    assert json.loads(path.read_text())["owner"] == "run-b"
    # A holder on this host whose process is gone (kill -9, then a manual re-run): broken now.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    held = {"owner": "run-c", "expires": time.time() + 600, "host": socket.gethostname(),
            "pid": int(dead.stdout)}  # fmt: skip
    path.write_text(json.dumps(held))
    locks.acquire(path, "run-d", wait_s=0.3)
    assert json.loads(path.read_text())["owner"] == "run-d"
