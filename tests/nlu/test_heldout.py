"""NLU accuracy on the held-out split (tests/nlu/heldout.yml), which training never reads.

Intent accuracy is measured on what the assistant acts on (after the SafetyRouter; a question it sends to
triage is also answered, see tests/nlu/measure.acted_on); the floor is 95 %.
Topic accuracy is measured over every aftercare question of the split: a question that gets the wrong intent
(for instance one the SafetyRouter sends to triage) counts as a wrong topic. The floor is 90 %.
"""

from pathlib import Path

import pytest
import yaml

from bot.cli.nlu import DEFAULT_MODEL, RasaNLU
from tests.nlu.measure import HELDOUT, RETRIEVAL_INTENT, examples, report, score

ROOT = Path(__file__).resolve().parents[2]
TRAINING = ROOT / "data" / "nlu"
QUESTIONS = TRAINING / "aftercare_questions.yml"
ANSWERS = TRAINING / "aftercare_responses.yml"
TOPIC_STORIES = ROOT / "tests" / "stories" / "topics.yml"
INTENT_FLOOR = 0.95
TOPIC_FLOOR = 0.90


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def _training_texts():
    return {
        _normal(text) for path in TRAINING.glob("*.yml") if "nlu:" in path.read_text() for _, text in examples(path)
    }


def _story_questions():
    """(intent, text) of every user turn of the topic conversation tests."""
    for story in yaml.safe_load(TOPIC_STORIES.read_text(encoding="utf-8"))["stories"]:
        for step in story["steps"]:
            if "user" in step:
                yield step["intent"], step["user"].strip()


def _topics(pairs):
    return {intent for intent, _ in pairs if intent.startswith(RETRIEVAL_INTENT + "/")}


def test_heldout_split_and_topic_stories_are_not_in_training():
    training = _training_texts()
    heldout = [text for _, text in examples(HELDOUT)]
    stories = [text for intent, text in _story_questions() if intent.startswith(RETRIEVAL_INTENT)]
    assert len(heldout) >= 200
    assert not [text for text in heldout + stories if _normal(text) in training]
    assert not {_normal(text) for text in stories} & {_normal(text) for text in heldout}


def test_every_topic_has_answer_heldout_questions_and_a_conversation_test():
    trained = _topics(examples(QUESTIONS))
    answers = {
        name.replace("utter_", "", 1) for name in yaml.safe_load(ANSWERS.read_text(encoding="utf-8"))["responses"]
    }
    heldout = list(examples(HELDOUT))
    per_topic = {topic: sum(intent == topic for intent, _ in heldout) for topic in trained}
    assert len(trained) >= 25
    assert answers == trained
    assert _topics(heldout) == trained and min(per_topic.values()) >= 3, per_topic
    assert _topics(_story_questions()) == trained


@pytest.mark.rasa
def test_intent_and_topic_accuracy_on_heldout_split():
    if not DEFAULT_MODEL.exists():
        pytest.fail("no trained model: `make test` trains it first")
    result = score(RasaNLU().parse, list(examples(HELDOUT)))
    print("\n" + report(result))
    assert result["intent"] >= INTENT_FLOOR
    assert result["topic"] >= TOPIC_FLOOR


@pytest.mark.rasa
def test_topic_conversation_tests_get_their_topic():
    """`rasa test core` (as `make test` runs it, without --e2e) takes a story's intent as given and never parses
    its text, so the topic each conversation test's question gets is checked here, on the same model."""
    if not DEFAULT_MODEL.exists():
        pytest.fail("no trained model: `make test` trains it first")
    result = score(RasaNLU().parse, list(_story_questions()))
    print("\n" + report(result))
    assert result["topic"] >= TOPIC_FLOOR
