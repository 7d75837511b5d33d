"""The raw red-flag keyword screen: broad, negation-blind, typo-tolerant, and quiet on ordinary aftercare talk."""

from __future__ import annotations

import pytest

from bot.triage.screen import screen


@pytest.mark.parametrize(
    "text, expected",
    [
        ("There's pus coming out", ("discharge",)),
        ("no pus", ("discharge",)),  # negation is the engine's job
        ("some yellow OOZING", ("discharge",)),
        ("a bit of puss on my chin", ("discharge",)),
        ("dischage from one spot", ("discharge",)),
        ("it's weeping", ("discharge",)),
        ("I think it's infected?", ("infection_concern",)),
        ("could it be cellulitis", ("infection_concern",)),
        ("little pustules", ("discharge",)),
        ("I have a fever", ("fever",)),
        ("feverish tonight", ("fever",)),
        ("fevr and chills", ("fever",)),
        ("my temprature is up", ("fever",)),
        ("shivering all night", ("fever",)),
        ("hot and cold all day", ("fever",)),
        ("the redness is spreading", ("redness",)),
        ("it spread to my neck", ("redness",)),
        ("red streaks going down", ("redness",)),
        ("I can't breathe", ("breathing_difficulty",)),
        ("i cant breath properly", ("breathing_difficulty",)),
        ("CANNOT BREATHE!!!", ("breathing_difficulty",)),
        ("struggling to breathe", ("breathing_difficulty",)),
        ("short of breath", ("breathing_difficulty",)),
        ("I’m wheezing", ("breathing_difficulty",)),
        ("my throat is closing", ("airway_swelling",)),
        ("throat feels tight", ("airway_swelling",)),
        ("tongue swelling", ("airway_swelling",)),
        ("swollen lips", ("lip_swelling",)),
        ("my lips are swollen", ("lip_swelling",)),
        ("top lip is ballooning", ("lip_swelling",)),
        ("my lips are getting bigger and bigger", ("lip_swelling",)),
        ("sudden swelling of my lips", ("lip_swelling",)),
        ("my lips suddenly swelled up", ("lip_swelling",)),
        ("my tongue feels really thick", ("airway_swelling",)),
        ("hard to swallow", ("airway_swelling",)),
        ("I fainted", ("fainting",)),
        ("passed out in the bathroom", ("fainting",)),
        ("feel faint", ("fainting",)),
        ("blacked out for a second", ("fainting",)),
        ("everything went black and I woke up on the floor", ("fainting",)),
        ("chest pain", ("chest_pain",)),
        ("pain in my chest", ("chest_pain",)),
        ("blurred vision", ("vision_change",)),
        ("my vision is blurry", ("vision_change",)),
        ("seeing double", ("vision_change",)),
        ("cant see properly out of one eye", ("vision_change",)),
        ("hives on my neck", ("hives",)),
        ("the pain is unbearable", ("pain",)),
        ("pus, fever and I can't breathe", ("discharge", "fever", "breathing_difficulty")),
        ("fever... fever... pus", ("fever", "discharge")),  # no repeats, order of first appearance
        ("my words are coming out wrong", ("speech_change",)),
        ("the spot is whiter than the rest of my skin", ("skin_discolouration",)),
        ("she breath with noise", ("breathing_difficulty",)),
        ("her lips and eyes are very swell", ("lip_swelling",)),
        ("he seems confused and very sleepy", ("confusion",)),
        ("I can barely stay awake", ("confusion",)),
    ],
)
def test_hits(text: str, expected: tuple) -> None:
    assert screen(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a bit red and puffy, totally fine",
        "faint redness on my cheeks",  # 'faint' as an adjective is not fainting
        "I pushed on it gently",  # 'push' is not 'pus'
        "tempted to wear makeup",
        "skin feels tight and a bit dry",
        "breathing exercises helped me relax",
        "bit of a headache and tired",
        "had a spot come up",
        "lips are fine",
        "lip balm helped with the dryness",
        "my vision of the results is great",
        "I'm confused about the aftercare sheet",  # confused by instructions is no confusion
        "a bit confused by the leaflet, can I wash my face?",
        "I feel confused about the aftercare",
        "my mum is confused about which cream to use",
        "I'm very confused, what does the leaflet mean",
        "confused and worried about the redness",
        "I ran out of it yesterday",
    ],
)
def test_quiet_on_ordinary_messages(text: str) -> None:
    assert screen(text) == ()
