"""What every command shares: exit codes, usage errors, date arguments, error messages.

Exit codes: 0 success, 1 the data or the run failed, 2 usage error / unknown pipeline. Errors are
messages, never tracebacks.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from typing import Any

from airloop.settings import Settings

USAGE, FAILED, OK = 2, 1, 0

Command = Callable[[argparse.Namespace, Settings], int]


class UsageError(Exception):
    """Bad arguments, an unknown pipeline or a missing file: exit 2."""


def parse_date(text: str) -> date:
    """An argparse ``type=``: a ``YYYY-MM-DD`` date, else a usage error naming the text."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def load_spec_or_usage_error(name: str) -> Any:
    """The pipeline's spec; an unknown or invalid spec is a usage error (exit 2)."""
    from airloop.spec import SpecError, load_pipeline

    try:
        return load_pipeline(name)
    except SpecError as exc:
        raise UsageError(str(exc)) from None


def print_error(command: str | None, message: object) -> None:
    """``airloop COMMAND: message`` (``airloop: message`` without a command) on stderr."""
    print(f"airloop {command}: {message}" if command else f"airloop: {message}", file=sys.stderr)


def run_command(func: Command, args: argparse.Namespace, settings: Settings) -> int:
    """Call a command, turning every error into a message and an exit code."""
    try:
        return int(func(args, settings))
    except UsageError as exc:
        print_error(args.command, exc)
        return USAGE
    except Exception as exc:
        print_error(args.command, f"{type(exc).__name__}: {exc}")
        return FAILED
