"""Simulated days in the shipped pipelines' schemas (demo, tests, bench)."""
