"""NLU accuracy on the held-out split (tests/nlu/heldout.yml), which training never reads.

Intent accuracy is measured on the intent the assistant acts on (after the SafetyRouter); the floor is 95 %.
"""
from pathlib import Path

import pytest
import yaml

from bot.nlu_runtime import DEFAULT_MODEL, RasaNLU

HELDOUT = Path(__file__).with_name("heldout.yml")
TRAINING = Path(__file__).resolve().parents[2] / "data" / "nlu"
INTENT_FLOOR = 0.95


def _examples(path: Path):
    for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        if "intent" not in block:
            continue
        for line in block["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                yield block["intent"], line[2:].strip()


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def test_heldout_split_is_not_in_training():
    training = {_normal(text) for path in TRAINING.glob("*.yml") if "nlu:" in path.read_text()
                for _, text in _examples(path)}
    heldout = [text for _, text in _examples(HELDOUT)]
    assert len(heldout) >= 200
    assert not [text for text in heldout if _normal(text) in training]


@pytest.mark.rasa
def test_intent_accuracy_on_heldout_split():
    if not DEFAULT_MODEL.exists():
        pytest.fail("no trained model: `make test` trains it first")
    nlu = RasaNLU()
    examples = list(_examples(HELDOUT))
    wrong = []
    topic_total = topic_right = 0
    for expected, text in examples:
        parsed = nlu.parse(text)
        intent = parsed["intent"]["name"]
        expected_intent, _, topic = expected.partition("/")
        if intent != expected_intent:
            wrong.append((expected, intent, text))
        if topic and intent == expected_intent:
            topic_total += 1
            predicted = (parsed.get("response_selector", {}).get("ask_aftercare", {}).get("response", {})
                         .get("intent_response_key", ""))
            topic_right += predicted == expected
    accuracy = 1 - len(wrong) / len(examples)
    print(f"\nheld-out intent accuracy: {accuracy:.1%} on {len(examples)} examples; "
          f"aftercare topic accuracy (right intent): {topic_right}/{topic_total}")
    for expected, got, text in wrong:
        print(f"  expected {expected:<40} got {got:<16} {text}")
    assert accuracy >= INTENT_FLOOR
