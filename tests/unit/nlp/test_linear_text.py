"""The dictionary scorer gives scikit-learn's own probabilities, for the topic selector's many-topic shape (with
its word-group tagger) and for a yes/no model; a shape it does not know is left to scikit-learn."""

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from bot.nlp.linear_text import LinearTextModel, UnknownShape, fast_or_none
from bot.rasa_nlu.topics import build_classifier

QUESTIONS = [
    ("when can I wear makeup again", "ask_aftercare/makeup"),
    ("is foundation ok tomorrow", "ask_aftercare/makeup"),
    ("can I put concealer on", "ask_aftercare/makeup"),
    ("can I go to the gym", "ask_aftercare/exercise"),
    ("is running ok tonight", "ask_aftercare/exercise"),
    ("when can I work out again", "ask_aftercare/exercise"),
    ("can I have a glass of wine", "ask_aftercare/alcohol"),
    ("is prosecco ok tonight", "ask_aftercare/alcohol"),
    ("when can I drink beer", "ask_aftercare/alcohol"),
]
GROUPS = {"drink_words": ["wine", "prosecco", "beer", "gin"], "sport_words": ["gym", "running", "yoga"]}
UNSEEN = ["gin and tonic later?", "yoga tomorrow morning", "MAKEUP!!", "", "ñandú 🙂", "gym " * 400, "zzz qqq"]


def _fitted(classifier, rows, labels):
    return classifier.fit(rows, labels)


def test_many_topics_with_word_groups_score_as_scikit_learn_does():
    classifier = _fitted(build_classifier(10.0, 42, GROUPS), [q for q, _ in QUESTIONS], [t for _, t in QUESTIONS])
    fast = LinearTextModel(classifier)
    assert fast.classes == list(classifier.classes_)
    for text in [q for q, _ in QUESTIONS] + UNSEEN:
        ours, theirs = fast.probabilities(text), classifier.predict_proba([text])[0]
        assert ours == pytest.approx(list(theirs), abs=1e-9), text


def test_a_yes_no_model_scores_as_scikit_learn_does():
    labels = [topic == "ask_aftercare/alcohol" for _, topic in QUESTIONS]
    classifier = _fitted(build_classifier(10.0, 42, GROUPS), [q for q, _ in QUESTIONS], labels)
    fast = LinearTextModel(classifier)
    for text in [q for q, _ in QUESTIONS] + UNSEEN:
        assert fast.probability_of(text, True) == pytest.approx(classifier.predict_proba([text])[0][1], abs=1e-9)


def test_a_shape_it_does_not_know_is_left_to_scikit_learn():
    from sklearn.feature_extraction.text import CountVectorizer

    counts = make_pipeline(CountVectorizer(), LogisticRegression()).fit(["apple banana", "cherry damson"], [0, 1])
    with pytest.raises((UnknownShape, AttributeError)):
        LinearTextModel(counts)
    assert fast_or_none(counts) is None
    one_vs_rest = build_classifier(10.0, 42, GROUPS)
    one_vs_rest.steps[-1][1].set_params(multi_class="ovr")
    one_vs_rest.fit([q for q, _ in QUESTIONS], [t for _, t in QUESTIONS])
    assert fast_or_none(one_vs_rest) is None  # its probabilities are not a softmax
