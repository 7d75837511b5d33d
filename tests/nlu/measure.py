"""Held-out NLU figures for a trained model: intent accuracy, aftercare topic accuracy and the confusions.

    python -m tests.nlu.measure [path/to/model.tar.gz [path/to/heldout.yml]]

Used while working on the NLU data (train NLU only into a temp dir: `rasa train nlu --out /tmp/x`); the same
figures are asserted by tests/nlu/test_heldout.py on the full model.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, List, Set, Tuple

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
    return _topic(parsed) or intent


def _topic(parsed: Dict) -> str:
    response = parsed.get("response_selector", {}).get(RETRIEVAL_INTENT, {}).get("response", {})
    return response.get("intent_response_key") or ""


def acted_on(parsed: Dict, escalates) -> Set[str]:
    """Everything the assistant acts on for this parse: the intent (with its topic), and for a question the
    SafetyRouter sent to triage the aftercare answer too, which action_triage gives unless triage escalates
    (actions/triage_input.routed_question_answer)."""
    acted = {full_intent(parsed)}
    routed_from = (parsed.get("safety_override") or {}).get("from")
    if routed_from == RETRIEVAL_INTENT and _topic(parsed) and not escalates(parsed):
        acted.add(_topic(parsed))
    return acted


def triage_escalates(parsed: Dict) -> bool:
    """Whether action_triage would escalate this message (for a sender with no treatment record)."""
    from bot.triage.criteria import load_criteria
    from bot.usecases.triage import ClinicService

    global _SERVICE
    if _SERVICE is None:
        _SERVICE = ClinicService(load_criteria(), None)
    outcome = _SERVICE.assess(
        None,
        parsed.get("text") or "",
        parsed.get("entities") or [],
        parsed["intent"].get("confidence"),
        intent=parsed["intent"]["name"],
    )
    return outcome.decision.level.escalates


_SERVICE = None


def score(parse, pairs: List[Tuple[str, str]], escalates=triage_escalates) -> Dict:
    """Intent accuracy over all examples; topic accuracy over the topic questions (an intent miss is a miss).

    A question the SafetyRouter sends to triage counts for its expected intent and topic when the patient gets
    that answer as well (see acted_on); a report routed to triage counts as report_symptom as always."""
    misses: List[Tuple[str, str, str]] = []
    intent_right = topic_right = topic_total = 0
    for expected, text in pairs:
        parsed = parse(text)
        acted = acted_on(parsed, escalates)
        intent_right += expected.partition("/")[0] in {name.partition("/")[0] for name in acted}
        if "/" in expected:
            topic_total += 1
            topic_right += expected in acted
        if expected not in acted:
            misses.append((expected, " + ".join(sorted(acted)), text))
    return {
        "intent": intent_right / len(pairs),
        "topic": topic_right / topic_total,
        "n": len(pairs),
        "topic_right": topic_right,
        "topic_total": topic_total,
        "misses": misses,
    }


def report(result: Dict) -> str:
    lines = [
        f"held-out intent accuracy {result['intent']:.1%} on {result['n']} examples; "
        f"topic accuracy {result['topic']:.1%} ({result['topic_right']}/{result['topic_total']})"
    ]
    lines += [f"  expected {e:<45} got {g:<45} {t}" for e, g, t in sorted(result["misses"])]
    pairs = Counter((e, g) for e, g, _ in result["misses"])
    lines += ["most frequent confusions:"] + [f"  {n} x {e} -> {g}" for (e, g), n in pairs.most_common(10)]
    return "\n".join(lines)


def main(argv: List[str]) -> None:
    from bot.cli.nlu import DEFAULT_MODEL, RasaNLU

    nlu = RasaNLU(Path(argv[0]) if argv else DEFAULT_MODEL)
    print(report(score(nlu.parse, list(examples(Path(argv[1]) if len(argv) > 1 else HELDOUT)))))


if __name__ == "__main__":
    main(sys.argv[1:])
