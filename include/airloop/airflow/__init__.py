"""Airflow adapters: TaskFlow tasks, DAG factories, Asset names.

Module level imports only ``airflow.sdk``, the standard library and ``airloop.settings``/spec;
``airloop.core`` and heavy libraries are imported inside task bodies, never at DAG parse time.
"""
