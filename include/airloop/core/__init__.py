"""Pure work: no Airflow imports here (enforced by tests/unit/test_import_boundaries.py).

Subpackages by concern: ``data``, ``model``, ``monitor``, ``authoring``, ``simulators``; each
heavy library has exactly one home module, imported only where the work needs it. Steps take an
opened :class:`~airloop.core.pipeline.Pipeline`.
"""
