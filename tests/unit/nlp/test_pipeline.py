"""The project's spaCy pipeline: symptoms with their everyday words, negation, modifiers and numbers."""

from datetime import datetime

import pytest
import spacy

from bot.nlp.analyze import entities_from_doc, summarize
from bot.nlp.patterns import LexiconError, lexicon_patterns

NOW = datetime(2026, 11, 25, 15, 0)  # a Wednesday afternoon


def parse(nlp, text):
    return summarize(entities_from_doc(nlp(text), now=NOW))


def symptoms(nlp, text):
    return {(value, negated) for label, value, negated in parse(nlp, text) if label == "symptom"}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("my face is red", {("redness", False)}),
        ("still pink and flushed", {("redness", False)}),
        ("a bit puffy under my eyes", {("swelling", False)}),
        ("really swolen today", {("swelling", False)}),
        ("it feels hot to the touch", {("warmth", False)}),
        ("sore and throbbing", {("pain", False), ("throbbing", False)}),
        ("there's yellow stuff oozing from the needle marks", {("discharge", False)}),
        ("i think theres puss", {("discharge", False)}),
        ("feeling shivery", {("fever", False)}),
        ("bruised where the injections went", {("bruising", False)}),
        ("some hard lumps under the skin", {("lump", False)}),
        ("skin is peeling and flaky", {("peeling", False)}),
        ("pinpoint bleeding on my scalp", {("bleeding", False)}),
        ("so itchy", {("itching", False)}),
        ("broke out in spots", {("acne", False)}),
        ("hives on my neck", {("hives", False)}),
        ("it looks infected", {("infection_concern", False)}),
        ("i can't breathe properly", {("breathing_difficulty", False)}),
        ("my throat is closing", {("airway_swelling", False)}),
        ("my tongue is really swollen", {("airway_swelling", False)}),
        ("my lips are swollen", {("lip_swelling", False)}),
        ("i fainted", {("fainting", False)}),
        ("feeling lightheaded", {("dizziness", False)}),
        ("chest pain since lunch", {("chest_pain", False)}),
        ("my vision is blurry", {("vision_change", False)}),
    ],
)
def test_symptom_words_map_to_canonical_values(nlp, text, expected):
    assert symptoms(nlp, text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("no pus, just a bit red", {("discharge", True), ("redness", False)}),
        ("no fever or chills but the redness is spreading", {("fever", True), ("redness", False)}),
        ("I don't have any fever", {("fever", True)}),
        ("not swollen anymore", {("swelling", True)}),
        ("there's no pus and the redness is spreading", {("discharge", True), ("redness", False)}),
        # the negation is far away and other words stand between: keep the finding (the safe direction)
        ("no pus whatsoever redness spreading", {("discharge", True), ("redness", False)}),
        # "can't breathe" is a symptom, not a negation of breathing
        ("I can't breathe", {("breathing_difficulty", False)}),
        ("my lips aren't swollen", {("swelling", True)}),
        ("no, it's red and sore", {("redness", False), ("pain", False)}),
    ],
)
def test_negation(nlp, text, expected):
    assert symptoms(nlp, text) == expected


def test_modifiers_and_implied_trends(nlp):
    found = parse(nlp, "severe pain and it's getting hotter, redness spreading")
    assert ("severity", "severe", False) in found
    assert ("symptom", "warmth", False) in found and ("trend", "increasing", False) in found
    assert ("trend", "spreading", False) in found


@pytest.mark.parametrize(
    "text, hours",
    [
        ("had it done yesterday", 24.0),
        ("3 days ago", 72.0),
        ("two days ago", 48.0),
        ("since Monday", 48.0),  # NOW is a Wednesday
        ("day 5", 120.0),  # one reading: day N = N days after treatment, as "N days ago"
        ("this morning", 7.0),
        ("about 36 hours ago", 36.0),
        ("a week ago", 168.0),
    ],
)
def test_time_expressions(nlp, text, hours):
    times = [value for label, value, _ in parse(nlp, text) if label == "time_expression"]
    assert times == [hours]


@pytest.mark.parametrize(
    "text, score", [("pain is 7/10", "7"), ("8 out of 10", "8"), ("its like 3 / 10", "3"), ("ten out of 10", "10")]
)
def test_pain_scores(nlp, text, score):
    assert [v for label, v, _ in parse(nlp, text) if label == "pain_score"] == [score]


@pytest.mark.parametrize(
    "text, celsius",
    [
        ("temp is 38.6", "38.6"),
        ("39 degrees", "39.0"),
        ("37,8 C", "37.8"),
        ("101F", "38.3"),
        ("temperature of 38", "38.0"),
    ],
)
def test_temperatures(nlp, text, celsius):
    assert [v for label, v, _ in parse(nlp, text) if label == "temperature"] == [celsius]


@pytest.mark.parametrize("text", ["I'm 38 years old", "pain 8/10", "45 degrees outside", "it's 2024"])
def test_numbers_that_are_not_temperatures(nlp, text):
    assert [v for label, v, _ in parse(nlp, text) if label == "temperature"] == []


def test_lexicon_rejects_unknown_values(tmp_path):
    (tmp_path / "symptoms.yml").write_text("redness:\n  phrases: [red]\nredish_typo:\n  phrases: [x]\n")
    (tmp_path / "modifiers.yml").write_text("severity: {}\n")
    with pytest.raises(LexiconError, match="redish_typo"):
        lexicon_patterns(tmp_path)


def test_built_pipeline_loads_by_path_like_rasa_does(tmp_path, nlp):
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model", disable=["parser"])  # what Rasa's SpacyNLP calls
    assert loaded.pipe_names == [
        "sentencizer",
        "spelling",
        "entity_ruler",
        "negex",
        "negation_scope",
        "clinical_context",
    ]
    doc = loaded("no pus, just a bit red")
    assert [(e.ent_id_, e._.negex) for e in doc.ents if e.label_ == "symptom"] == [
        ("discharge", True),
        ("redness", False),
    ]
