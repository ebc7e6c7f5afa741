"""Authoring new pipelines: spec suggestion from a sample file, scaffolding."""
