"""Celery settings of the stack: Airflow's defaults, plus the heavy ML libraries preloaded in the
worker's main process before its pool forks (see ``airloop.platform.preload``)."""

from __future__ import annotations

from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import import_modules

from airloop import patches
from airloop.platform.preload import preload

CELERY_CONFIG: dict[str, Any] = dict(DEFAULT_CELERY_CONFIG)


@import_modules.connect
def _preload(*_args: Any, **_kwargs: Any) -> None:
    patches.install_for("task-supervisor")  # inherited by the pool processes it forks
    preload()
