"""The installed environment is consistent and is exactly the lock."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from _support import REPO


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        name, sep, version = line.partition("==")
        assert sep, f"{path.name}: unpinned line {line!r}; every package must be pinned with =="
        pins[_canon(name.split("[")[0])] = version.split(";")[0].strip()
    return pins


def test_every_lock_line_is_pinned_and_the_core_stack_is_present() -> None:
    pins = _pins(REPO / "requirements.txt")
    assert pins["apache-airflow"].startswith("3.3.")
    assert pins["great-expectations"].startswith("1.")
    assert pins["mlflow"].startswith("3.")
    assert pins["evidently"].startswith("0.7.")
    assert pins["pandas"].startswith("2.")  # pandas 3 breaks Evidently 0.7's import
    for name in (
        "apache-airflow-providers-amazon",
        "apache-airflow-providers-standard",
        "scikit-learn",
        "pyarrow",
    ):
        assert name in pins
    assert len(pins) > 200, "requirements.txt must pin every transitive dependency"


def test_installed_environment_matches_the_lock() -> None:
    pins = _pins(REPO / "requirements.txt") | _pins(REPO / "requirements-dev.txt")
    installed = {_canon(d.metadata["Name"]): d.version for d in metadata.distributions()}
    wrong = {n: (v, installed.get(n)) for n, v in pins.items() if installed.get(n) != v}
    assert not wrong, f"installed packages differ from the lock (pinned, installed): {wrong}"
    extra = set(installed) - set(pins) - {"airloop", "pip", "setuptools", "wheel"}
    assert not extra, f"packages installed that are not in the lock: {sorted(extra)}"


def test_installed_environment_is_consistent() -> None:
    uv = Path(sys.executable).parent / "uv"
    done = subprocess.run(
        [str(uv), "pip", "check", "--python", sys.executable],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
