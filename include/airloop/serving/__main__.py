"""``python -m airloop.serving [--host H] [--port P]``: serve every pipeline's champion."""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="airloop-serving", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("AIRLOOP_SERVING_PORT",
                                                                       "5001")))  # fmt: skip
    parser.add_argument("--refresh", type=float, default=2.0, help="seconds between alias checks")
    args = parser.parse_args(argv)
    token = os.environ.get("AIRLOOP_SERVING_TOKEN") or None
    if args.host not in ("127.0.0.1", "localhost", "::1") and not token:
        print("airloop-serving: refusing to listen beyond loopback without "
              "AIRLOOP_SERVING_TOKEN", file=sys.stderr)  # fmt: skip
        return 2
    import uvicorn

    from airloop.serving.app import create_app
    from airloop.spec import load_pipeline, pipelines_dir

    pipelines = sorted(
        p.stem for p in pipelines_dir().glob("*.yaml") if load_pipeline(p.stem).promotion
    )
    app = create_app(pipelines, args.refresh, token)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
