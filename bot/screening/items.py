"""The screening questions before an appointment, and how answers are read. Pure.

The items follow the clinic guide's "when to be cautious" and "medications and safety" sections. The patient-
facing wording of each question is a Rasa response (utter_ask_screening_<item>, data/nlu/screening.yml); the
labels here are what a practitioner reads in the alert and in the patient summary.

Answers are "yes", "no" or "unsure". "unsure" is treated like "yes": when in doubt a practitioner looks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple

YES, NO, UNSURE = "yes", "no", "unsure"
ANSWERS = (YES, NO, UNSURE)


@dataclass(frozen=True)
class Item:
    key: str
    staff_label: str
    # A "yes" means treatment normally waits until it has cleared: the patient hears that the appointment may move.
    may_need_rescheduling: bool = False


ITEMS: Tuple[Item, ...] = (
    Item("infection", "active skin infection (viral, bacterial or fungal)", may_need_rescheduling=True),
    Item("isotretinoin", "isotretinoin (Accutane) in the last 6-12 months"),
    Item("autoimmune_bleeding", "autoimmune disease or bleeding/blood disorder"),
    Item("blood_thinners", "anticoagulants or omega-3 / ginkgo / vitamin E supplements"),
    Item("keloid", "history of keloid or hypertrophic scarring"),
    Item("pregnancy", "pregnant or breastfeeding"),
    Item("cold_sores", "cold sores (frequent, or one now)", may_need_rescheduling=True),
)
ITEM_KEYS: Tuple[str, ...] = tuple(item.key for item in ITEMS)
_BY_KEY: Dict[str, Item] = {item.key: item for item in ITEMS}
SLOT_PREFIX = "screening_"


def slot_name(key: str) -> str:
    return SLOT_PREFIX + key


def item(key: str) -> Item:
    return _BY_KEY[key]


# Reading an answer -------------------------------------------------------------------------------------------------
_INTENT_ANSWERS = {"affirm": YES, "deny": NO}
# "not sure" first: "not sure" must not be read as "no".
_UNSURE = re.compile(
    r"\b(not sure|unsure|don'?t know|do not know|dunno|no idea|maybe|perhaps|possibly|"
    r"can'?t remember|cannot remember|not certain|i think so|might be|might have|could be)\b"
)
_NO = re.compile(
    r"^\s*(no|nope|nah|never|not at all|none|negative|n)\b|\b(i'?m not|i am not|i don'?t|i do not|"
    r"i haven'?t|i have not|i'?ve not|i'?ve never|i have never|never|not me|definitely not)\b"
)
# "I'm on warfarin", "I get them a lot": a statement about oneself answers yes (unless negated, see _NO).
_YES = re.compile(
    r"^\s*(yes|yeah|yep|yup|y|sure|correct)\b|\b(yes|yeah|yep)\b|"
    r"^\s*(i'?m|i am|i have|i'?ve|i had|i get|i take|i use|i do)\b(?!\s+(not|never|no)\b)"
)
_QUESTION = re.compile(r"\?\s*$|^\s*(what|when|why|how|can|could|should|is|are|do|does|will|would)\b")


def read_answer(text: Optional[str], intent: Optional[str] = None) -> Optional[str]:
    """ "yes" / "no" / "unsure" from what the patient wrote (or the button payload's intent), None if unclear.

    Doubt wins over the classifier: "no idea" is unsure even if the intent classifier heard a "no".
    """
    words = _normalise(text)
    if words.startswith("/"):  # a button payload such as /affirm: the intent says it all
        return _INTENT_ANSWERS.get(words[1:].split("{")[0])
    if _UNSURE.search(words):
        return UNSURE
    said_no, said_yes = bool(_NO.search(words)), bool(_YES.search(words))
    if said_no != said_yes:
        return NO if said_no else YES
    return _INTENT_ANSWERS.get(intent or "")


def is_question(text: Optional[str]) -> bool:
    """The patient asked something back ("do I have to stop fish oil?") rather than answering."""
    return bool(_QUESTION.search(_normalise(text)))


def _normalise(text: Optional[str]) -> str:
    return " ".join((text or "").lower().replace("’", "'").split())


def flagged(answers: Mapping[str, str]) -> List[Tuple[str, str]]:
    """(item key, answer) for every item a practitioner must review, in question order. A missing answer is
    flagged as unsure: an unanswered safety question is not a "no"."""
    result = []
    for key in ITEM_KEYS:
        answer = answers.get(key)
        if answer != NO:
            result.append((key, answer if answer in (YES, UNSURE) else UNSURE))
    return result


def needs_rescheduling_advice(answers: Mapping[str, str]) -> bool:
    """A yes/unsure on an item that usually means waiting until it clears (active infection, a cold sore)."""
    return any(item(key).may_need_rescheduling for key, _ in flagged(answers))


def check_answers(answers: Mapping[str, str]) -> Dict[str, str]:
    """The answers as a plain dict of known items, or ValueError naming what is wrong."""
    unknown = sorted(set(answers) - set(ITEM_KEYS))
    if unknown:
        raise ValueError(f"unknown screening item(s): {', '.join(unknown)}")
    bad = sorted(k for k, v in answers.items() if v not in ANSWERS)
    if bad:
        raise ValueError(f"screening answers must be one of {', '.join(ANSWERS)} (check {', '.join(bad)})")
    return {key: answers[key] for key in ITEM_KEYS if key in answers}
