"""Reading screening answers, what is flagged for review, and the preparation guidance (pure)."""

import datetime as dt

import pytest

from bot.screening import items, preparation

UTC = dt.timezone.utc
APPOINTMENT = dt.datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("/affirm", "affirm", "yes"),
        ("/deny", "deny", "no"),
        ("not sure", "nlu_fallback", "unsure"),
        ("yes", "affirm", "yes"),
        ("Yes on warfarin", "affirm", "yes"),
        ("yep, fish oil daily", "inform", "yes"),
        ("I take ginkgo", "inform", "yes"),
        ("nope", "deny", "no"),
        ("no never", "deny", "no"),
        ("I'm breastfeeding", "inform", "yes"),
        ("I get cold sores a lot", "ask_aftercare", "yes"),
        ("I'm not pregnant", "inform", "no"),
        ("not that i know of", "deny", "no"),
        ("I have never had keloids", "inform", "no"),
        ("no, I'm on nothing", "deny", "no"),
        # Doubt wins, whatever the classifier heard.
        ("not sure", "deny", "unsure"),
        ("no idea", "deny", "unsure"),
        ("I can't remember", "affirm", "unsure"),
        ("maybe, I had acne tablets", "affirm", "unsure"),
        ("I think so", "affirm", "unsure"),
        # Only the intent to go on.
        ("absolutely", "affirm", "yes"),
        ("not really", "deny", "no"),
        ("what time is it", "out_of_scope", None),
        ("", None, None),
        ("/greet", "greet", None),
    ],
)
def test_read_answer(text, intent, expected):
    assert items.read_answer(text, intent) == expected


@pytest.mark.parametrize(
    "text, expected",
    [("do I have to stop my fish oil?", True), ("what counts as a blood thinner", True), ("fish oil daily", False)],
)
def test_is_question(text, expected):
    assert items.is_question(text) is expected


def test_flagged_lists_yes_and_unsure_in_question_order_and_missing_as_unsure():
    answers = {key: "no" for key in items.ITEM_KEYS}
    assert items.flagged(answers) == []
    answers.update(cold_sores="unsure", isotretinoin="yes")
    assert items.flagged(answers) == [("isotretinoin", "yes"), ("cold_sores", "unsure")]
    del answers["keloid"]
    assert ("keloid", "unsure") in items.flagged(answers)


@pytest.mark.parametrize(
    "key, expected", [("infection", True), ("cold_sores", True), ("keloid", False), ("blood_thinners", False)]
)
def test_rescheduling_advice_only_for_infection_and_cold_sores(key, expected):
    answers = dict({k: "no" for k in items.ITEM_KEYS}, **{key: "yes"})
    assert items.needs_rescheduling_advice(answers) is expected


def test_every_guide_contraindication_is_asked():
    labels = " ".join(item.staff_label for item in items.ITEMS).lower()
    for word in (
        "infection",
        "isotretinoin",
        "autoimmune",
        "bleeding",
        "anticoagulant",
        "omega-3",
        "ginkgo",
        "vitamin e",
        "keloid",
        "pregnant",
        "breastfeeding",
        "cold sore",
    ):
        assert word in labels


def test_check_answers_refuses_unknown_items_and_values():
    with pytest.raises(ValueError, match="unknown"):
        items.check_answers({"smoking": "no"})
    with pytest.raises(ValueError, match="yes, no, unsure"):
        items.check_answers({"keloid": "sometimes"})
    assert items.check_answers({"keloid": "no", "infection": "yes"}) == {"infection": "yes", "keloid": "no"}


# Preparation ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "now, expected",
    [
        (APPOINTMENT - dt.timedelta(days=20), APPOINTMENT - dt.timedelta(days=7)),  # the lead before
        (APPOINTMENT - dt.timedelta(days=2), APPOINTMENT - dt.timedelta(days=2)),  # nearer: at once
        (APPOINTMENT, None),  # begun: never
    ],
)
def test_preparation_due(now, expected):
    assert preparation.preparation_due(APPOINTMENT, dt.timedelta(days=7), now) == expected


def test_preparation_due_needs_aware_times():
    with pytest.raises(ValueError):
        preparation.preparation_due(APPOINTMENT.replace(tzinfo=None), dt.timedelta(days=7), APPOINTMENT)


def test_the_guidance_carries_the_guides_facts_and_the_screening_button():
    text, buttons = preparation.render(APPOINTMENT, "scalp", "Glow Clinic", "0123 456")
    assert "Thu 03 Dec at 10:00 UTC" in text and "Glow Clinic" in text and "0123 456" in text
    assert "scalp" in text
    for fact in ("retinoids", "AHA/BHA", "5 to 7 days", "peels", "1 to 2 weeks", "Sunburnt", "moisturised"):
        assert fact in text
    assert "{" not in text  # every placeholder filled
    assert buttons == [("Start the health questions", "rasa:/start_screening")]


def test_a_guidance_file_missing_a_part_is_refused(tmp_path):
    path = tmp_path / "guidance.yml"
    path.write_text("intro: hi\nsteps: [a]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="screening_invite"):
        preparation.load_guidance(path)
