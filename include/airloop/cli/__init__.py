"""The ``airloop`` command. Exit codes: 0 success, 1 failure, 2 usage error."""

from __future__ import annotations

import argparse
import atexit
import os
import sys
import threading
from collections.abc import Sequence

from airloop.cli import calibrate, data, loop, models, platform, scaffold
from airloop.cli.common import USAGE, print_error, run_command
from airloop.settings import load_settings


def build_parser() -> argparse.ArgumentParser:
    """The ``airloop`` parser: every command group's subcommands, in the order of ``--help``."""
    parser = argparse.ArgumentParser(prog="airloop", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    platform.add_commands(sub)
    data.add_commands(sub)
    models.add_commands(sub)
    calibrate.add_commands(sub)
    loop.add_commands(sub)
    scaffold.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, load the settings, run the command; returns its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if args.func is not platform.up:
            from airloop.platform.services import use_client_env

            use_client_env(settings)  # the stack profile's stores, as tasks see them
    except ValueError as exc:
        print_error(None, exc)
        return USAGE
    return run_command(args.func, args, settings)


def console_main() -> None:
    """The ``airloop`` command: :func:`main`, then a quick exit.

    Tearing the interpreter down after MLflow, scikit-learn and Airflow's SDK were imported
    takes ~1.5 s here (measured: module and object teardown), which a finished command made its
    user wait for. What a normal exit does first still happens, in its order: threading's exit
    hooks (they stop thread pools, whose idle workers would otherwise wait forever), the join of
    running threads, the exit handlers (logging's flush among them), then the output's flush.
    """
    code = main()
    # The interpreter's own exit steps; there is no public equivalent. Joining threads by hand
    # is not enough: an idle pool worker (asyncio's default executor) ends only after the hook.
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
