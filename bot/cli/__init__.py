"""The `aftercare` command (pyproject: `aftercare = "bot.cli:main"`). Sub-commands are registered by the modules
that implement them: admin.py (clinic administration), triage.py (`aftercare triage`), doctor.py (`aftercare doctor`).
"""

from __future__ import annotations

import argparse
from typing import List, Optional

from bot.cli import admin, doctor, triage


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aftercare", description="Aftercare triage assistant")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    admin.register(subparsers)
    triage.register(subparsers)
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
