"""Airloop: closed-loop MLOps on Apache Airflow.

Layers, imports flowing one way: ``dags/`` → :mod:`airloop.airflow` (adapters) →
:mod:`airloop.core` (pure work). :mod:`airloop.platform` runs the local platform.
"""

__version__ = "0.1.0"
