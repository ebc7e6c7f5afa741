"""Fixtures shared by the unit tests of ``new-pipeline``."""

from __future__ import annotations

from pathlib import Path

import pytest

from _support import scaffold_project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scaffolded project that the ``airloop`` command sees as its own (environment set)."""
    root, env = scaffold_project(tmp_path)
    for key in ("AIRLOOP_PIPELINES_DIR", "AIRLOOP_GX_DIR", "AIRLOOP_LAKE_URI"):
        monkeypatch.delenv(key, raising=False)
    for key in ("AIRLOOP_PROJECT_ROOT", "AIRLOOP_HOME"):
        monkeypatch.setenv(key, env[key])
    return root
