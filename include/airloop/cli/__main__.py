"""``python -m airloop.cli``: the ``airloop`` command."""

from airloop.cli import console_main

console_main()
