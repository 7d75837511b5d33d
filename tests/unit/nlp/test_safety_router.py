"""SafetyRouter.route: which messages go to triage whatever DIET predicted, with entities from the real pipeline."""

import pytest

from bot.nlp.analyze import entities_from_doc
from bot.rasa_nlu.components import SafetyRouter

ROUTER = SafetyRouter(SafetyRouter.get_default_config())


def route(nlp, text, intent, confidence=0.95):
    return ROUTER.route(text, {"name": intent, "confidence": confidence}, entities_from_doc(nlp(text)))


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("there is pus coming out", "greet", "report_symptom"),
        ("my vision has gone blurry", "ask_aftercare", "emergency"),
        ("my forehead went white and it hurts", "thank", "emergency"),
        ("how would I spot an infection?", "ask_aftercare", None),  # a question about a red flag stays a question
        ("will the needling bring on a cold sore?", "ask_aftercare", None),
        ("thanks! what if it gets infected?", "thank", "report_symptom"),  # triage says what to watch for
        ("when can I wear makeup?", "ask_aftercare", None),
    ],
)
def test_route(nlp, text, intent, expected):
    assert route(nlp, text, intent) == expected
