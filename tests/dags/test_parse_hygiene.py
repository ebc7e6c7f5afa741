"""Importing a DAG file must not load heavy libraries: they belong inside task bodies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from _support import REPO

HEAVY = ["pandas", "sklearn", "mlflow", "great_expectations", "evidently", "scipy", "pyarrow"]

PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("dagfile", sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


@pytest.mark.parametrize("dag_file", sorted((REPO / "dags").glob("*.py")), ids=lambda p: p.name)
def test_dag_file_loads_no_heavy_module(dag_file: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(dag_file)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert not loaded & set(HEAVY), f"{dag_file.name} loads {sorted(loaded & set(HEAVY))} at parse"
