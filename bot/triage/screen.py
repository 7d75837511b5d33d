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
        r"\bstridor\b",
        r"\b(breath|breathe|breathes|breathing)\s+(with\s+)?(a\s+)?(noise|noisy|whistl\w*|funny|strange)\b",
        r"\bnoisy\s+breath\w*",
    ),
    "airway_swelling": (
        r"\bthroat\s+(is\s+|feels\s+|feel\s+)?(closing|swelling|swollen|swelled|tight|tightening|closing up)\b",
        r"\b(swollen|swelling|swelled)\s+(throat|tongue)\b",
        r"\btongue(\s+\w+){0,3}?\s+(swell\w*|swollen|bigger|huge|massive|thick)\b",
        r"\bswelling\s+(of|in)\s+(my\s+|the\s+)?(throat|tongue)\b",
        r"\b(cant|cannot|hard to|trouble|difficulty)\s+(swallow|swallowing)\b",
        r"\bthroat\b[^.!?]{0,40}\b(clos\w*|tight\w*|tite|tyte|swell\w*|swoll\w*|swolen)\b",
    ),
    "lip_swelling": (
        r"\b(swollen|swelling|swelled|puffy)\s+((of|in|on|around)\s+)?"
        r"((my|the|both|top|bottom|upper|lower)\s+)*lips?\b",
        # up to three words in between: "lips are getting bigger", "my lips suddenly swelled up"
        r"\blips?(\s+\w+){0,5}?\s+(swell\w*|swollen|puff\w*|bigger|huge|massive|balloon\w*|fat|fatter)\b",
    ),
    "fainting": (
        r"\b(fainted|fainting|feinted|fainteed|faintd)\b",
        r"\b(feel|feeling|felt|feels|going to|gonna|about to|might)\s+(faint|feint)\b",
        r"\bpass(ed|ing)? out\b",
        r"\bblack(ed|ing)? out\b",
        r"\bcollaps(e|ed|ing)\b",
        r"\blost consciousness\b",
        r"\b(everything|it all|it|world)\s+(went|go|goes|going|gone|turned)\s+(black|dark)\b",
        r"\b(woke|came to|came round|came around)\s+(up\s+)?on the (floor|ground)\b",
    ),
    "chest_pain": (
        r"\bchest\s+(pain|pains|hurts|hurting|ache|aches|tight|tightness|is tight|feels tight|pressure)\b",
        r"\bpain\s+in\s+(my\s+)?chest\b",
        r"\btight(ness)?\s+(in\s+)?(my\s+)?chest\b",
    ),
    "vision_change": (
        r"\b(blurred|blurry|blury|double|lost|losing|loss of|weird|strange|dim|fuzzy|hazy|cloudy)\s+(vision|eyesight|sight)\b",  # noqa: E501
        r"\b(vision|eyesight|sight)\s+(is\s+|went\s+|gone\s+|going\s+)?(blurred|blurry|blury|weird|funny|dark|black|dim)\b",  # noqa: E501
        r"\bblu+r+(y|ed|ing|iness|yness)?\b",
        # "I can't see properly", not "I can't see any redness" or "I can't see a difference yet"
        r"\b(cant|cannot|can not)\s+see\b(?!\s+(any|much|a|an|the|no|it|them|that|this|those|these|where|why|how|"
        r"what|if|whether|my|your|his|her|their|signs?|anything wrong|anything unusual|results?|difference|change))",
        r"\bseeing (double|spots|flashes|stars)\b",
        r"\b(spots|flashes|flashing|floaters)\s+(in|of)\s+(my\s+)?(vision|eyes?|sight)\b",
        r"\b(went|going|gone) blind\b",
        # an eye and a disturbance in one breath: "my right eye is see not good, everything foggy"
        r"\b(eye|eyes|vision|eyesight|sight|what i see|i see)\b[^.!?]{0,60}\b(blur\w*|fog\w*|fuzz\w*|dim|dimmer|"
        r"cloud\w*|haz\w*|double|flash\w*|wavy|distort\w*|not good|not right)\b",
        r"\b(blur\w*|fog\w*|fuzz\w*|dim|dimmer|haz\w*|flash\w*|wavy|distort\w*)\b[^.!?]{0,60}\b(eye|eyes|vision|"
        r"eyesight|sight|what i see|i see)\b",
        # a shadow, a gap or a curtain in the sight: "a grey shadow in the bottom part of my vision"
        r"\b(shadow|curtain|blank|missing|gone|black|dark|grey|gray)\b[^.!?]{0,40}\b(vision|eyesight|sight|what i see)\b",  # noqa: E501
        r"\b(vision|eyesight|sight|what i see|what i can see)\b[^.!?]{0,60}\b(gone|missing|blank|black|dark|grey|gray|"
        r"shadow|curtain)\b",
        # a spot in the sight, not a spot of pigment under the eye
        r"\b(dark|black|grey|gray)\s+(spot|spots|patch|area|blob|shape|dot)\b[^.!?]{0,60}\b(what i see|i see|vision|"
        r"vison|vission|sight|what im looking at|what i am looking at|my eye)\b",
    ),
    "speech_change": (
        r"\bslurr\w*",
        r"\b(face|mouth|lip|eyelid|side)\s+(is\s+)?droop\w*",
        r"\bdroop(y|ing)\s+(face|mouth|lip|side)\b",
        r"\b(cant|cannot|can not|trouble|hard to|struggling to)\s+(speak|talk)\w*",
        r"\b(arm|leg|hand)\b[^.!?]{0,25}\b(weak|week|heavy|limp)\b",
        r"\bwords?\b[^.!?]{0,30}\b(wrong|jumbled|muddled|garbled|funny|weird|mixed up)\b",
    ),
    "skin_discolouration": (
        r"\b(skin|area|forehead|cheeks?|nose|chin|lips?|face|scalp|spot|patch|it|its)\s+(has\s+|is\s+|has gone\s+)?"
        r"(went|gone|turned|turning|going|looks?|looking|is)\s+(very\s+|really\s+|a bit\s+|kind of\s+)?"
        r"(white|pale|grey|gray|blue|dusky)\b",
        r"\bmottl\w*",
        r"\bdusky\b",
        r"\b(looks?|looking|gone|went|turned|turning)\s+(\w+\s+){0,3}?(white|pale|grey|gray|blue|bluish|dusky)\b",
        r"\b(skin|forehead|cheeks?|nose|chin|lips?|area|patch|spot)\b[^.!?]{0,60}\b(is|are|looks?|gone|went|turned)\s+"
        r"(now\s+|very\s+|really\s+|so\s+|all\s+|quite\s+)*(white|pale|grey|gray|blue|bluish|dusky)\b",
        r"\bblanch\w*",
        r"\b(whiter|paler)\s+than\b",
        r"\b(white|grey|gray|blue|pale)\s+(patch|patches|area)\b",
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
    "confusion": (
        # "I feel confused and dizzy", not "I feel confused about the leaflet" or "confused and worried about it"
        r"\b(feel|feels|feeling|is|seems|gets|getting)\s+(so\s+|really\s+|very\s+)?confused\b"
        r"(?!\s+(about|by|with|as to|on|re|why|what|which|how|whether|if|and worried))",
        r"\b(disorient\w*|delirious)\b",
        r"\b(very|really|so)\s+(drowsy|sleepy)\b",
        r"\b(barely|hardly|cant|cannot)\s+stay\s+awake\b",
        r"\bhard to wake\b",
    ),
    "infection_concern": (
        r"\binfect\w*",  # "looks infected": the patient's own worry counts
        r"\binfekt\w*",
        r"\b(septic|cellulitis|abscess)\b",
    ),
    "fever": (
        r"\bfe+a?v(e|o|a)?r\w*",  # fever, feaver, fevr, fevor, feverish
        r"\bfevre\b",
        # "temp is normal" is no fever
        r"(?<!\bno )(?<!\bnot )(?<!\bany )\btemp(erature|rature|reture|erture|eture)?\b(?!\s+(is\s+|was\s+|s\s+)?(normal|fine|ok|okay|good|36))",  # noqa: E501
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
    "pain": (r"\b(unbearable|excruciating|agony|agonising|agonizing|worst pain)\b",),
}

_COMPILED: List[Tuple[str, "re.Pattern[str]"]] = [
    (symptom, re.compile(pattern)) for symptom, patterns in _PATTERNS.items() for pattern in patterns
]

SCREENED_SYMPTOMS = frozenset(_PATTERNS)

# Where the emergencies are: a report-like message about these that no symptom explains is read by a person.
_CONCERNS: Dict[str, Tuple[str, ...]] = {
    "eyes": (r"\beyes?\b", r"\beyelids?\b", r"\bvision\b", r"\beyesight\b", r"\bsight\b"),
    "breathing": (r"\bbreath\w*", r"\bchest\b", r"\bair\b", r"\blungs?\b", r"\bwheez\w*"),
    "swallowing": (r"\bswallow\w*", r"\bthroat\b", r"\btongue\b"),
    "speech": (r"\bspeak\w*", r"\bspeech\b", r"\btalk\w*", r"\bvoice\b", r"\bwords\b"),
}
_COMPILED_CONCERNS = [(topic, re.compile(p)) for topic, patterns in _CONCERNS.items() for p in patterns]


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


# A general question ("why does the leaflet say...?", "just asking for next time") is no report of one's own.
_GENERAL_QUESTION = re.compile(
    r"\b(why does|why do|why is|what does|what do|how does|how do i know|leaflet|it says|"
    r"does it say|in general|just asking|just wondering|for next time|out of interest|"
    r"hypothetically|asking for a friend)\b"
)


def general_question(text: str) -> bool:
    return bool(_GENERAL_QUESTION.search(normalise(text or "")))


def concern_topics(text: str) -> Tuple[str, ...]:
    """The topics of vocabulary.CONCERN_TOPICS the text touches ("something's wrong with my eye" -> ("eyes",))."""
    clean = normalise(text or "")
    return tuple(dict.fromkeys(topic for topic, pattern in _COMPILED_CONCERNS if pattern.search(clean)))
