"""The data-plane CLI: exit codes 0/1/2 and messages, never tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import corpus
from airloop import cli


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_validate_passes_a_good_file(isolated_state, capsys) -> None:
    good = corpus.good_frame().to_csv(index=False).encode()
    assert cli.main(["validate", "bike_demand", str(_write(isolated_state, "good.csv", good))]) == 0
    assert "PASSED bike_demand.raw" in capsys.readouterr().out


def test_validate_prints_each_failed_expectation(isolated_state, capsys) -> None:
    path = _write(isolated_state, "bad.csv", corpus.build()["out_of_range"].data)
    assert cli.main(["validate", "bike_demand", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAILED hum: expect_column_values_to_be_between" in out
    assert "column: hum; 1 rows; sample: [1.7]" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "nope", "x.csv"], "unknown pipeline 'nope'"),
        (["validate", "bike_demand", "/definitely/missing.csv"], "no such file"),
        (
            ["ingest", "bike_demand", "--date", "2012-06-05", "--file", "/missing.csv"],
            "no such file",
        ),
        (["run", "bike_demand"], "give --start and --end"),
        (["run", "bike_demand", "--start", "2012-06-05", "--end", "2012-06-01"], "is before"),
        (["run", "nope", "--days", "2"], "unknown pipeline 'nope'"),
        (["run", "bike_demand", "--days", "0"], "--days must be at least 1"),
    ],
)
def test_usage_errors_exit_2(isolated_state, capsys, args, message) -> None:
    assert cli.main(args) == 2
    assert message in capsys.readouterr().err


def test_bad_date_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["ingest", "bike_demand", "--date", "5 June"])
    assert exit_.value.code == 2
    assert "not a date (YYYY-MM-DD)" in capsys.readouterr().err


def _airloop(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).parent / "airloop")
    return subprocess.run(
        [exe, *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture
def cli_env(isolated_state) -> dict[str, str]:
    # The CLI sets up its own project-local Airflow home: drop the test process's settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["AIRLOOP_AIRFLOW_PORT"] = "1"  # nothing listens there: the platform is "not running"
    return env


def test_validate_never_prints_a_traceback_on_garbage(cli_env, isolated_state) -> None:
    path = _write(isolated_state, "binary.csv", corpus.build()["binary"].data)
    done = _airloop(cli_env, "validate", "bike_demand", str(path))
    assert done.returncode == 1
    assert "binary content" in done.stdout and "Traceback" not in done.stdout + done.stderr


def test_ingest_and_replay_run_real_dag_runs_without_the_platform(cli_env, isolated_state) -> None:
    good = _airloop(cli_env, "ingest", "bike_demand", "--date", "2012-06-05")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "success (in-process)" in good.stdout and "validated:" in good.stdout

    bad = _write(isolated_state, "dup.csv", corpus.build()["duplicate_keys"].data)
    rejected = _airloop(
        cli_env, "ingest", "bike_demand", "--date", "2012-06-06", "--file", str(bad)
    )
    assert rejected.returncode == 1
    assert "quarantined:" in rejected.stdout
    assert "dteday,hr: expect_compound_columns_to_be_unique" in rejected.stdout
    assert "Traceback" not in rejected.stdout + rejected.stderr

    # Without a suite fix, a replay re-validates and quarantines again (nothing is lost).
    again = _airloop(cli_env, "replay", "bike_demand", "--date", "2012-06-06")
    assert again.returncode == 1 and "quarantined:" in again.stdout


def test_the_command_exits_quickly_without_losing_output_threads_or_exit_handlers() -> None:
    # console_main skips the interpreter's teardown (~1.5 s after MLflow and Airflow's SDK
    # were imported), but not what a normal exit does before it.
    script = """
import atexit, concurrent.futures, threading, time
from airloop import cli

def main(argv=None):
    global POOL  # an idle pool, still referenced (asyncio keeps its default executor so)
    atexit.register(lambda: print("exit handler ran"))
    threading.Thread(target=lambda: (time.sleep(0.3), print("thread finished"))).start()
    POOL = concurrent.futures.ThreadPoolExecutor(2)
    POOL.submit(time.sleep, 0)
    print("unflushed tail", end="")
    return 3

cli.main = main
cli.console_main()
print("never reached")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert done.stdout == "unflushed tailthread finished\nexit handler ran\n"
