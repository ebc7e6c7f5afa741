"""The stack profile's local S3 (SeaweedFS via ``airloop.platform.seaweed``), for real.

Each server runs as the stack runs it: ``python -m airloop.platform.seaweed`` in its own
session, with the S3 key it accepts in its environment, on free loopback ports.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from _seaweed import KEYS, Server, seaweed_server
from airloop.platform import seaweed, stack


@pytest.fixture(scope="module")
def running(tmp_path_factory) -> Iterator[Server]:
    for server in seaweed_server(tmp_path_factory.mktemp("s3")):
        server.start()
        yield server


def test_the_weed_binary_comes_from_the_environment_and_ports_are_one_block() -> None:
    weed = seaweed.weed_binary()
    assert weed.is_file() and os.access(weed, os.X_OK)
    done = subprocess.run([str(weed), "version"], capture_output=True, text=True, check=True)
    assert "4.48" in done.stdout
    assert sorted(seaweed.ports(5002).values()) == list(range(5002, 5010))
    with pytest.raises(ValueError, match="AIRLOOP_S3_PORT"):
        stack.load_stack({"AIRLOOP_S3_PORT": "65530"})
    argv = seaweed.command(weed, Path("/s"), "127.0.0.1", 5002)
    assert "-s3.port.grpc=5003" in argv and "-filer.port.grpc=5009" in argv
    assert "-s3.config=/s/config/identities.json" in argv and "-disableHttp" in argv


@pytest.mark.stack
def test_an_acknowledged_object_survives_kill_9_and_a_restart(tmp_path: Path) -> None:
    for server in seaweed_server(tmp_path):
        first = server.start()
        server.client().put_object(Bucket=server.config.bucket, Key="lake/a.bin", Body=b"kept")
        server.signal_group(signal.SIGKILL)  # no chance to flush or shut down cleanly
        again = server.start()
        body = server.client().get_object(Bucket=server.config.bucket, Key="lake/a.bin")
        assert body["Body"].read() == b"kept"
        print(f"ready after {first:.1f} s, after kill -9 {again:.1f} s")
        # A TERM stops it within the launcher's grace (weed alone takes ~18 s).
        assert server.signal_group(signal.SIGTERM) < seaweed.STOP_GRACE_S + 5


@pytest.mark.stack
def test_a_conditional_create_of_an_existing_key_is_refused(running: Server) -> None:
    from botocore.exceptions import ClientError

    client, bucket = running.client(), running.config.bucket
    client.put_object(Bucket=bucket, Key="once", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as refused:
        client.put_object(Bucket=bucket, Key="once", Body=b"second", IfNoneMatch="*")
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    assert client.get_object(Bucket=bucket, Key="once")["Body"].read() == b"first"


@pytest.mark.stack
def test_wrong_or_missing_credentials_are_refused_and_internal_apis_are_closed(
    running: Server,
) -> None:
    from botocore.exceptions import ClientError

    bucket = running.config.bucket
    running.client().put_object(Bucket=bucket, Key="guarded", Body=b"data")
    wrong, anonymous = running.client(secret="not-the-secret"), running.client(signed=False)
    for client, code in ((wrong, "SignatureDoesNotMatch"), (anonymous, "AccessDenied")):
        for call in (lambda c=client: c.list_objects_v2(Bucket=bucket),
                     lambda c=client: c.get_object(Bucket=bucket, Key="guarded"),
                     lambda c=client: c.delete_object(Bucket=bucket, Key="guarded")):  # fmt: skip
            with pytest.raises(ClientError) as refused:
                call()
            assert refused.value.response["Error"]["Code"] == code
    # The master's HTTP API would delete a bucket's volumes for anyone; it is off.
    ports = seaweed.ports(running.port)
    url = f"http://127.0.0.1:{ports['master']}/col/delete?collection={bucket}"
    with pytest.raises(urllib.error.HTTPError) as closed:
        urllib.request.urlopen(url, timeout=10)
    assert closed.value.code == 404
    # Volume servers take writes and deletes only with the master's JWT.
    req = urllib.request.Request(f"http://127.0.0.1:{ports['volume']}/1,01637037d6",
                                 method="DELETE")  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(req, timeout=10)
    assert unsigned.value.code == 401
    assert running.client().get_object(Bucket=bucket, Key="guarded")["Body"].read() == b"data"
    conf = running.root / "config"
    assert {p.stat().st_mode & 0o777 for p in conf.iterdir()} == {0o600}
    assert KEYS["s3_secret_key"] in (conf / "identities.json").read_text()


@pytest.mark.stack
def test_create_exclusive_through_object_storage_path(running: Server, monkeypatch) -> None:
    from airflow.sdk import ObjectStoragePath

    from airloop.core.data.storage import create_exclusive

    extra = {"endpoint_url": running.config.endpoint, "region_name": "us-east-1"}
    conn = {"conn_type": "aws", "login": KEYS["s3_access_key"],
            "password": KEYS["s3_secret_key"], "extra": extra}  # fmt: skip
    # Its own connection id: Airflow caches a filesystem per id for the process, and this
    # server is gone after this module (an aws_default cached here broke later s3:// tests).
    monkeypatch.setenv("AIRFLOW_CONN_LOCAL_S3_TEST", json.dumps(conn))
    path = ObjectStoragePath(f"s3://local_s3_test@{running.config.bucket}/lake/locks/day.json")
    assert create_exclusive(path, b'{"owner": "a"}') is True
    assert create_exclusive(path, b'{"owner": "b"}') is False
    assert json.loads(path.read_bytes()) == {"owner": "a"}
