"""Airloop: closed-loop MLOps on Apache Airflow.

Layers, imports flowing one way: ``dags/`` → :mod:`airloop.airflow` (adapters) →
:mod:`airloop.core` (pure work, by concern). :mod:`airloop.project` opens pipelines for every
caller; :mod:`airloop.platform` runs the local platform; :mod:`airloop.patches` holds the
version-guarded patches of library internals. See ARCHITECTURE.md.
"""

__version__ = "0.1.0"
