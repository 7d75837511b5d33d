"""Entity-ruler patterns: built from the lexicon files (data/lexicon/*.yml) plus a few number patterns.

Each pattern's `id` carries the canonical value ("redness"), or "value|modifier" when the words also imply a
trend or severity ("hotter" -> "warmth|increasing", "lips suddenly swelled" -> "lip_swelling|sudden").
Lexicon values are checked against bot.nlp.vocabulary so a typo in a data file fails the build instead of silently
never matching.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List

import yaml

from bot.nlp import vocabulary as v

LEXICON_DIR = Path(__file__).resolve().parents[2] / "data" / "lexicon"

# Words allowed between the two halves of a combo ("my lips are really swollen").
COMBO_FILLERS = [
    "is",
    "are",
    "was",
    "were",
    "feel",
    "feels",
    "felt",
    "look",
    "looks",
    "got",
    "getting",
    "gone",
    "went",
    "turned",
    "turning",
    "going",
    "kinda",
    "kind",
    "of",
    "sort",
    "slightly",
    "almost",
    "seems",
    "little",
    "that",
    "which",
    "thats",
    "like",
    "its",
    "it",
    "up",
    "bit",
    "abit",
    "kinda",
    "gone",
    "went",
    "suddenly",
    "so",
    "soo",
    "sooo",
    "n",
    "color",
    "colour",
    "totally",
    "completely",
    "tip",
    "the",
    "take",
    "catch",
    "very",
    "really",
    "so",
    "super",
    "all",
    "a",
    "bit",
    "quite",
    "has",
    "have",
    "become",
    "been",
    "starting",
    "to",
    "get",
    "and",
    "my",
    "'s",
    "s",
    "keeps",
    "keep",
    "up",
    "now",
    "more",
]

# A number token: "7", "7.5", "38,6"
_NUM = r"^\d{1,3}([.,]\d{1,2})?$"
_DEGREE_WORDS = ["°", "º", "degrees", "degree", "deg", "c", "celsius", "f", "fahrenheit", "°c", "°f", "ºc"]
_TEMP_WORDS = ["temperature", "temp", "temperture", "tempreture", "thermometer", "fever"]
_TIME_NUMBER = {"REGEX": r"^(\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|a|an|couple|few)$"}
_TIME_UNIT = {"REGEX": r"^(hours?|hrs?|days?|weeks?|wks?|months?)$"}
_WEEKDAY = {"REGEX": r"^(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(day)?$"}


# Label of phrases that look like a symptom but are not one; they win the longest-match and are then dropped.
IGNORED = "not_a_symptom"


class LexiconError(ValueError):
    """A lexicon file names something the vocabulary does not know."""


@lru_cache(maxsize=1)
def _tokenizer():
    from spacy.lang.en import English

    return English().tokenizer


def _tokens(phrase: str) -> List[Dict]:
    # Split exactly as the pipeline's tokenizer will ("can't" -> "ca", "n't"), or the phrase never matches. NORM is
    # the lower-case word (or the spelling step's correction of it: "feaver" -> "fever").
    return [{"NORM": t.norm_} for t in _tokenizer()(phrase.lower())]


def word_meanings(lexicon_dir: Path = LEXICON_DIR) -> Dict[str, List[str]]:
    """One-word lexicon phrases -> the values they stand for ("swolen" -> ["swelling"])."""
    meanings: Dict[str, set] = {}
    for pattern in lexicon_patterns(lexicon_dir):
        tokens = pattern["pattern"]
        if len(tokens) == 1 and isinstance(tokens[0].get("NORM"), str):
            meanings.setdefault(tokens[0]["NORM"], set()).add(f"{pattern['label']}:{pattern['id']}")
    return {word: sorted(ids) for word, ids in meanings.items()}


def lexicon_words(lexicon_dir: Path = LEXICON_DIR) -> set:
    """Every alphabetic word of the symptom and modifier phrases: what the spelling step corrects towards."""
    words = set()
    for pattern in lexicon_patterns(lexicon_dir):
        for token in pattern["pattern"]:
            word = token.get("NORM") if isinstance(token, dict) else None
            if isinstance(word, str) and word.isalpha():
                words.add(word)
    return words


def _check(value: str, allowed: Iterable[str], where: str) -> None:
    if value not in allowed:
        raise LexiconError(f"{where}: {value!r} is not in bot/nlp/vocabulary.py (allowed: {sorted(allowed)})")


def lexicon_patterns(lexicon_dir: Path = LEXICON_DIR) -> List[Dict]:
    symptoms = yaml.safe_load((lexicon_dir / "symptoms.yml").read_text(encoding="utf-8"))
    modifiers = yaml.safe_load((lexicon_dir / "modifiers.yml").read_text(encoding="utf-8"))
    patterns: List[Dict] = []

    def add(label: str, ident: str, phrases: Iterable[str]) -> None:
        for phrase in phrases:
            patterns.append({"label": label, "pattern": _tokens(str(phrase)), "id": ident})

    for symptom, spec in symptoms.items():
        _check(symptom, v.SYMPTOMS, "data/lexicon/symptoms.yml")
        add(v.SYMPTOM, symptom, spec.get("phrases", []))
        for modifier, phrases in (spec.get("implies") or {}).items():
            _check(modifier, v.TRENDS | v.SEVERITIES, f"data/lexicon/symptoms.yml {symptom}.implies")
            add(v.SYMPTOM, f"{symptom}|{modifier}", phrases)
        for combo in spec.get("combos") or []:
            patterns.append(
                {
                    "label": v.SYMPTOM,
                    "id": symptom,
                    "pattern": [
                        {"NORM": {"IN": combo["first"]}},
                        {"NORM": {"IN": COMBO_FILLERS}, "OP": "*"},
                        {"NORM": {"IN": combo["then"]}},
                    ],
                }
            )
    sections = {
        "severity": (v.SEVERITY, v.SEVERITIES),
        "trend": (v.TREND, v.TRENDS),
        "body_area": (v.BODY_AREA, v.AREAS),
        "treatment_method": (v.METHOD, v.METHODS),
    }
    for section, (label, allowed) in sections.items():
        for value, phrases in (modifiers.get(section) or {}).items():
            _check(value, allowed, f"data/lexicon/modifiers.yml {section}")
            add(label, value, phrases)
    add(IGNORED, "ignore", (modifiers.get("not_a_symptom") or {}).get("ignore", []))
    return patterns


def number_patterns() -> List[Dict]:
    """Time expressions, pain scores and temperatures; values are parsed later by bot.nlp.values."""
    t, p, c = v.TIME, v.PAIN_SCORE, v.TEMPERATURE
    optional_about = {
        "LOWER": {
            "IN": [
                "about",
                "around",
                "roughly",
                "approx",
                "like",
                "maybe",
                "nearly",
                "almost",
                "over",
                "under",
                "just",
                "only",
            ]
        },
        "OP": "?",
    }
    return [
        # time since
        *(
            {"label": t, "pattern": [{"LOWER": w} for w in phrase.split()], "id": "time"}
            for phrase in [
                "yesterday",
                "yday",
                "ystd",
                "today",
                "this morning",
                "this afternoon",
                "earlier today",
                "tonight",
                "last night",
                "just now",
                "day before yesterday",
                "the day before yesterday",
                "last week",
                "a week ago",
                "last month",
                "a month ago",
            ]
        ),
        {
            "label": t,
            "id": "time",
            "pattern": [
                optional_about,
                {"LOWER": _TIME_NUMBER},
                {"LOWER": _TIME_UNIT},
                {"LOWER": {"IN": ["ago", "back", "since", "now", "post", "after"]}, "OP": "?"},
            ],
        },
        {
            "label": t,
            "id": "time",
            "pattern": [{"LOWER": {"IN": ["since", "on", "last", "from"]}}, {"LOWER": _WEEKDAY}],
        },
        {"label": t, "id": "time", "pattern": [{"LOWER": {"IN": ["day", "dy"]}}, {"TEXT": {"REGEX": r"^\d{1,2}$"}}]},
        # pain score: "7/10", "7 / 10", "8 out of 10"
        {"label": p, "id": "pain", "pattern": [{"TEXT": {"REGEX": r"^(10|[0-9])/10$"}}]},
        {"label": p, "id": "pain", "pattern": [{"TEXT": {"REGEX": r"^(10|[0-9])$"}}, {"TEXT": "/"}, {"TEXT": "10"}]},
        {
            "label": p,
            "id": "pain",
            "pattern": [
                {
                    "TEXT": {
                        "REGEX": r"^(10|[0-9]|one|two|three|four|five|six|seven|"
                        r"eight|nine|ten)$"
                    }
                },
                {"LOWER": {"IN": ["out", "outta"]}},
                {"LOWER": "of", "OP": "?"},
                {"LOWER": {"IN": ["10", "ten"]}},
            ],
        },
        # temperature: "38.6", "38.6C", "39 degrees", "temp of 38", "101 F"
        {
            "label": c,
            "id": "temperature",
            "pattern": [
                {"TEXT": {"REGEX": r"^(3[4-9]|4[0-2])[.,]\d{1,2}$"}},
                {"LOWER": {"IN": _DEGREE_WORDS}, "OP": "*"},
            ],
        },
        {
            "label": c,
            "id": "temperature",
            "pattern": [
                {
                    "LOWER": {
                        "REGEX": r"^(3[4-9]|4[0-2]|9[3-9]|10[0-9])"
                        r"([.,]\d)?(°c?|°f?|c|f)?$"
                    }
                },
                {"LOWER": {"IN": _DEGREE_WORDS}, "OP": "+"},
            ],
        },
        {
            "label": c,
            "id": "temperature",
            "pattern": [
                {
                    "LOWER": {
                        "REGEX": r"^(3[4-9]|4[0-2]|9[3-9]|10[0-9])"
                        r"([.,]\d)?(°c|°f|c|f)$"
                    }
                }
            ],
        },
        # a Fahrenheit reading needs no unit: "101.2 this morning"
        {"label": c, "id": "temperature", "pattern": [{"TEXT": {"REGEX": r"^(99|10[0-6])[.,]\d$"}}]},
        {
            "label": c,
            "id": "temperature",
            "pattern": [
                {"LOWER": {"IN": _TEMP_WORDS}},
                {
                    "LOWER": {
                        "IN": [
                            "of",
                            "is",
                            "was",
                            ":",
                            "at",
                            "around",
                            "hits",
                            "reaches",
                            "over",
                            "above",
                            "about",
                            "reading",
                            "says",
                            "=",
                            "its",
                            "it's",
                            "it",
                            "'s",
                        ]
                    },
                    "OP": "*",
                },
                {"TEXT": {"REGEX": _NUM}},
                {"LOWER": {"IN": _DEGREE_WORDS}, "OP": "*"},
            ],
        },
    ]


def all_patterns(lexicon_dir: Path = LEXICON_DIR) -> List[Dict]:
    return lexicon_patterns(lexicon_dir) + number_patterns()
