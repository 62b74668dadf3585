"""Command-line entry: ``python -m skdistill.bench <command> --help``.

Each benchmark command lives in its own module of this package, which exposes
``add_parser(subparsers)``; the commands found are listed in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# module name -> one command each; modules not (yet) present are skipped
COMMANDS = ["_speed", "_paper", "_protein", "_compact", "_digits", "_scaleout", "_blackbox",
            "_tabular", "_multioutput", "_sheet"]


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skdistill.bench",
        description="skdistill benchmarks: each prints what it measured, on which "
        "machine, and how to reproduce it.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"skdistill.bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"skdistill.bench.{name}":
                continue
            raise
        module.add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
