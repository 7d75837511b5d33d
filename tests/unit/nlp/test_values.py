from datetime import datetime

import pytest

from bot.nlp.values import parse_hours_ago, parse_pain_score, parse_temperature_c

NOW = datetime(2026, 11, 25, 15, 0)  # Wednesday


@pytest.mark.parametrize(
    "text, hours",
    [
        ("yesterday", 24),
        ("the day before yesterday", 48),
        ("3 days ago", 72),
        ("12 hours ago", 12),
        ("on friday", 120),
        ("day 2", 48),
        ("couple of days", 48),
        ("nothing here", None),
    ],
)
def test_parse_hours_ago(text, hours):
    assert parse_hours_ago(text, NOW) == hours


@pytest.mark.parametrize(
    "text, score",
    [
        ("7/10", 7),
        ("about a 6", 6),
        ("six", 6),
        ("8 out of 10", 8),
        ("11", None),
        ("a", None),
        ("not sure", None),
        ("0", 0),
    ],
)
def test_parse_pain_score(text, score):
    assert parse_pain_score(text) == score


@pytest.mark.parametrize(
    "text, celsius", [("38.6", 38.6), ("100.4 F", 38.0), ("39 degrees", 39.0), ("25", None), ("150", None)]
)
def test_parse_temperature(text, celsius):
    assert parse_temperature_c(text) == celsius


def test_a_score_out_of_ten_in_words_is_the_score_not_ten():
    from bot.nlp.values import parse_pain_score

    assert parse_pain_score("2 out of ten") == 2
    assert parse_pain_score("seven out of ten") == 7
