"""The `aftercare` command. Sub-commands are registered by the modules that implement them."""
from __future__ import annotations

import argparse
from typing import List, Optional

from bot import admin_cli, doctor, triage_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aftercare", description="Aftercare triage assistant")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    admin_cli.register(subparsers)
    triage_cli.register(subparsers)
    doctor.register(subparsers)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error (argparse exits with 2)
        return int(exit_.code or 0)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
