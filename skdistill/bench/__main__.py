"""Command-line entry: ``python -m skdistill.bench <command> --help``."""

from __future__ import annotations

import argparse
import sys

from . import _speed


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skdistill.bench", description=__doc__
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _speed.add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
