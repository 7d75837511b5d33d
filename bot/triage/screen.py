"""The raw red-flag keyword screen: a safety net under the NLU, with no spaCy or Rasa in the way.

`screen(text)` lists the canonical symptoms whose red-flag words appear in the text. It ignores negation on
purpose ("no pus" -> ("discharge",)): the engine reconciles a hit with what the parser understood, and only a hit
the parser did not account for (not even as denied) escalates on its own. Keeping this list dumb and broad is
the point; false hits cost a practitioner a glance, missed ones could cost much more.

Matching is done on a normalised copy of the text: lower case, curly quotes straightened, apostrophes dropped
("can't" -> "cant"), every other non-alphanumeric character turned into a space. Patterns include the typos
patients commonly make on a phone keyboard.
"""
from __future__ import annotations

import re
from typing import Dict, List, Tuple

# symptom -> regexes over the normalised text. Word boundaries everywhere: "push" is not "pus".
_PATTERNS: Dict[str, Tuple[str, ...]] = {
    "breathing_difficulty": (
        r"\b(cant|cannot|can not|cnt|couldnt|could not|struggling to|struggle to|hard to|trouble|difficulty|"
        r"difficult to|unable to)\s+(breath|breathe|breathing|brethe|breth|breathin)\b",
        # "I can barely breathe", "can hardly get my breath"
        r"\b(barely|hardly|struggling|struggle|can ?t|cannot)\s+(\w+\s+){0,2}(breath|breathe|breathing|brethe)\b",
        r"\bshort(ness)? of breath\b",
        r"\bbreathless\b",
        r"\bwheez\w*",
        r"\bgasping\b",
    ),
    "airway_swelling": (
        r"\bthroat\s+(is\s+|feels\s+|feel\s+)?(closing|swelling|swollen|swelled|tight|tightening|closing up)\b",
        r"\b(swollen|swelling|swelled)\s+(throat|tongue)\b",
        r"\btongue(\s+\w+){0,3}?\s+(swell\w*|swollen|bigger|huge|massive|thick)\b",
        r"\bswelling\s+(of|in)\s+(my\s+|the\s+)?(throat|tongue)\b",
        r"\b(cant|cannot|hard to|trouble|difficulty)\s+(swallow|swallowing)\b",
    ),
    "lip_swelling": (
        r"\b(swollen|swelling|swelled|puffy)\s+((of|in|on|around)\s+)?"
        r"((my|the|both|top|bottom|upper|lower)\s+)*lips?\b",
        # up to three words in between: "lips are getting bigger", "my lips suddenly swelled up"
        r"\blips?(\s+\w+){0,3}?\s+(swell\w*|swollen|puff\w*|bigger|huge|massive|balloon\w*|fat|fatter)\b",
    ),
    "fainting": (
        r"\b(fainted|fainting|feinted|fainteed|faintd)\b",
        r"\b(feel|feeling|felt|feels|going to|gonna|about to|might)\s+(faint|feint)\b",
        r"\bpass(ed|ing)? out\b",
        r"\bblack(ed|ing)? out\b",
        r"\bcollaps(e|ed|ing)\b",
        r"\blost consciousness\b",
        r"\b(everything|it all|it|world)\s+went\s+(black|dark)\b",
        r"\b(woke|came to|came round|came around)\s+(up\s+)?on the (floor|ground)\b",
    ),
    "chest_pain": (
        r"\bchest\s+(pain|pains|hurts|hurting|ache|aches|tight|tightness|is tight|feels tight|pressure)\b",
        r"\bpain\s+in\s+(my\s+)?chest\b",
        r"\btight(ness)?\s+(in\s+)?(my\s+)?chest\b",
    ),
    "vision_change": (
        r"\b(blurred|blurry|blury|double|lost|losing|loss of|weird|strange)\s+(vision|eyesight|sight)\b",
        r"\b(vision|eyesight|sight)\s+(is\s+|went\s+|gone\s+|going\s+)?(blurred|blurry|blury|weird|funny|dark|black)\b",
        r"\b(cant|cannot|can not)\s+see\b",
        r"\bseeing double\b",
    ),
    "discharge": (
        r"\bpu+s+\b",  # pus, puss
        r"\bpussy\b",  # patients do type this for "pus-filled"
        r"\bpus\s*filled\b",
        r"\bpustul\w*",
        r"\booz\w*",  # ooze, oozing, oozy
        r"\b(discharge|dischage|discarge|dicharge|dischrge|dishcarge|discharg)\w*",
        r"\bweep(ing|s|y)?\b",
    ),
    "infection_concern": (
        r"\binfect\w*",  # "looks infected": the patient's own worry counts
        r"\binfekt\w*",
        r"\b(septic|cellulitis|abscess)\b",
    ),
    "fever": (
        r"\bfe+a?v(e|o|a)?r\w*",  # fever, feaver, fevr, fevor, feverish
        r"\bfevre\b",
        r"\btemp(erature|rature|reture|erture|eture)?\b",
        r"\bchil+s\b",
        r"\bchilly\b",
        r"\bshiver\w*",
        r"\brigou?rs\b",
        r"\bhot and cold\b",
    ),
    "redness": (
        r"\bspread\w*",  # spreading, spreads (the guide's "spreading redness")
        r"\bsprea?ding\b",
        r"\bred (streak|streaks|lines?)\b",
    ),
    "hives": (
        r"\bhives?\b",
        r"\bwelts?\b",
        r"\bwheals?\b",
    ),
    "pain": (
        r"\b(unbearable|excruciating|agony|agonising|agonizing|worst pain)\b",
    ),
}

_COMPILED: List[Tuple[str, "re.Pattern[str]"]] = [
    (symptom, re.compile(pattern)) for symptom, patterns in _PATTERNS.items() for pattern in patterns
]

SCREENED_SYMPTOMS = frozenset(_PATTERNS)


def normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = text.replace("'", "")
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return f" {text.strip()} "


def screen(text: str) -> Tuple[str, ...]:
    """Canonical symptoms whose red-flag words occur in `text`, in order of first appearance, no repeats."""
    if not text:
        return ()
    clean = normalise(text)
    first_seen: Dict[str, int] = {}
    for symptom, pattern in _COMPILED:
        found = pattern.search(clean)
        if found and (symptom not in first_seen or found.start() < first_seen[symptom]):
            first_seen[symptom] = found.start()
    return tuple(sorted(first_seen, key=first_seen.__getitem__))
