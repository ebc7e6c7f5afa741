"""The REST model server (``python -m airloop.serving``)."""
