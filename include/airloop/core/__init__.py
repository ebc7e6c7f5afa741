"""Pure work: no Airflow imports here (enforced by tests/unit/test_import_boundaries.py).

Each heavy library has exactly one home module, imported only where the work needs it.
"""
