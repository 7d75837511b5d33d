"""Build the project's spaCy pipeline from data/lexicon into a directory: `python -m bot.nlp.build --out DIR`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.nlp import pipeline
from bot.nlp.patterns import LexiconError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        nlp = pipeline.create()
    except LexiconError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2
    nlp.meta["name"] = "aftercare_en"
    nlp.meta["version"] = "1.0.0"
    nlp.meta["description"] = "Blank English + entity ruler (data/lexicon) + negspacy negation, for aftercare triage"
    args.out.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(args.out)
    ruler = nlp.get_pipe("entity_ruler")
    print(f"   {len(ruler.patterns)} patterns, pipes {nlp.pipe_names} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
