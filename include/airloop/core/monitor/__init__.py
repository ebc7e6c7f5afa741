"""Monitoring: Evidently drift, the drift policy, the monitor DAG's steps."""
