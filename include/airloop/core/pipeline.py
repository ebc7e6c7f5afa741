"""An opened pipeline: its spec, its lake and its registered model, the handles every step takes.

Built by :func:`airloop.project.open_pipeline` (which knows where the lake lives); the core only
receives it, so core steps never look up locations or configuration themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airloop.core.data.lake import Lake
from airloop.core.model import registry
from airloop.spec import PipelineSpec


@dataclass(frozen=True)
class Champion:
    """The served version and the MLflow run that trained it (its reference and holdout)."""

    version: int
    run_id: str


@dataclass(frozen=True)
class RegisteredModel:
    """The pipeline's registered model in MLflow (registered-model name = pipeline name)."""

    name: str

    def champion(self) -> Champion | None:
        """``@champion`` and its run, or None before the first promotion."""
        version = registry.alias_version(self.name, registry.CHAMPION)
        if version is None:
            return None
        info = registry.version_info(self.name, version)
        if info is None:  # the alias points at a deleted version: the same as no champion
            return None
        return Champion(version, info["run_id"])

    def load(self, version: int) -> Any:
        return registry.load_model(self.name, version)

    def reference(self, champion: Champion) -> Any:
        """The reference sample the champion was trained with (drift compares against it)."""
        from airloop.core.model.challenger import REFERENCE_FILE

        return registry.load_artifact_frame(champion.run_id, REFERENCE_FILE)


@dataclass(frozen=True)
class Pipeline:
    spec: PipelineSpec
    lake: Lake
    model: RegisteredModel

    @property
    def name(self) -> str:
        return self.spec.name
