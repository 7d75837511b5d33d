"""Held-out NLU figures for a trained model: intent accuracy, aftercare topic accuracy and the confusions.

    python -m tests.nlu.measure [path/to/model.tar.gz [path/to/heldout.yml]]

Used while working on the NLU data (train NLU only into a temp dir: `rasa train nlu --out /tmp/x`); the same
figures are asserted by tests/nlu/test_heldout.py on the full model.
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

import yaml

HELDOUT = Path(__file__).with_name("heldout.yml")
RETRIEVAL_INTENT = "ask_aftercare"


def examples(path: Path) -> Iterable[Tuple[str, str]]:
    """(intent, text) for every example of an NLU file."""
    for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        if "intent" not in block:
            continue
        for line in block["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                yield block["intent"], line[2:].strip()


def full_intent(parsed: Dict) -> str:
    """The intent the assistant acts on, with the selected topic for the retrieval intent."""
    intent = parsed["intent"]["name"]
    if intent != RETRIEVAL_INTENT:
        return intent
    response = parsed.get("response_selector", {}).get(RETRIEVAL_INTENT, {}).get("response", {})
    return response.get("intent_response_key") or intent


def score(parse, pairs: List[Tuple[str, str]]) -> Dict:
    """Intent accuracy over all examples; topic accuracy over the topic questions (an intent miss is a miss)."""
    misses: List[Tuple[str, str, str]] = []
    intent_right = topic_right = topic_total = 0
    for expected, text in pairs:
        got = full_intent(parse(text))
        intent_right += got.partition("/")[0] == expected.partition("/")[0]
        if "/" in expected:
            topic_total += 1
            topic_right += got == expected
        if got != expected:
            misses.append((expected, got, text))
    return {"intent": intent_right / len(pairs), "topic": topic_right / topic_total, "n": len(pairs),
            "topic_right": topic_right, "topic_total": topic_total, "misses": misses}


def report(result: Dict) -> str:
    lines = [f"held-out intent accuracy {result['intent']:.1%} on {result['n']} examples; "
             f"topic accuracy {result['topic']:.1%} ({result['topic_right']}/{result['topic_total']})"]
    lines += [f"  expected {e:<45} got {g:<45} {t}" for e, g, t in sorted(result["misses"])]
    pairs = Counter((e, g) for e, g, _ in result["misses"])
    lines += ["most frequent confusions:"] + [f"  {n} x {e} -> {g}" for (e, g), n in pairs.most_common(10)]
    return "\n".join(lines)


def main(argv: List[str]) -> None:
    from bot.nlu_runtime import DEFAULT_MODEL, RasaNLU

    nlu = RasaNLU(Path(argv[0]) if argv else DEFAULT_MODEL)
    print(report(score(nlu.parse, list(examples(Path(argv[1]) if len(argv) > 1 else HELDOUT)))))


if __name__ == "__main__":
    main(sys.argv[1:])
