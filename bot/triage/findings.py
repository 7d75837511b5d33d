"""From the NLU's entity dicts to a triage `Report`.

The NLU layer (spaCy ruler + negation, inside Rasa) finds symptoms, modifiers and numbers; this module decides
which modifier belongs to which symptom. The rule is deliberately simple and errs on the side of escalation:

  * a message is cut into clauses at . ! ? ; and at "but", "although", "though", "however";
  * a severity or trend word attaches to every symptom in its clause ("red and swollen and getting worse":
    both are worsening), because wrongly attaching "worse" costs a practitioner a look while wrongly dropping
    it could under-triage; except a severity word right before a symptom, which is that symptom's own ("quite
    red and a bit swollen": the redness is moderate, the swelling mild);
  * a modifier in a clause without any symptom ("It's spreading.") attaches to the symptoms of the nearest
    earlier clause that has a symptom the patient did not deny, or if there is none, the nearest later one:
    patients refer back with "it";
  * a negated modifier ("not spreading") attaches nowhere, except a denied improvement: "not healing", "hasn't
    improved" mean the symptom persists;
  * a worrying modifier (worse, spreading, severe...) that finds no symptom the patient has ("I don't feel
    feverish but it is spreading") stands for an unnamed symptom, which the criteria escalate (fail closed);
  * a symptom the pipeline put in context (hypothetical, someone else's, long past) is kept with its context and
    never triggers a criterion;
  * pain scores are also read from "a 7", "at 8", "level 6" when the message is about pain, in the order said:
    a later score above an earlier one ("it was a 2 when I left, now it's a 7") means the pain is increasing.

Entity dicts: {"entity": label, "value": canonical value, "start": int, "end": int, "role": "negated"?,
"text"?: the patient's words}. Labels and values: bot.nlp.vocabulary.
"""

from __future__ import annotations

import bisect
import logging
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from bot.nlp import vocabulary as v
from bot.triage.model import Finding, Report
from bot.triage.screen import screen

log = logging.getLogger(__name__)

_CLAUSE_BREAK = re.compile(r"[.!?;]+|\b(?:but|although|though|however)\b", re.IGNORECASE)

# When a message carries only a trend (an answer to "better or worse?"), the most worrying one wins.
_TREND_PRIORITY = ("spreading", "worsening", "increasing", "new", "not_improving", "persisting", "improving")

# Readings above this are taken as Fahrenheit: nobody has a body temperature of 50 °C.
_FAHRENHEIT_ABOVE = 50.0

# A symptom the patient did not name ("it is spreading", with everything named denied).
UNSPECIFIED = "unspecified"
_WORRYING_TRENDS = ("worsening", "spreading", "increasing")
_WORRYING_SEVERITIES = ("severe", "excessive", "large", "widespread", "sudden")

# "a 7", "at 8", "is 6", "level 5" in a message about pain; not "a 2 day old", "at 10 am", "38.5".
_PAIN_WORDS = re.compile(r"\b(pain\w*|hurt\w*|sore\w*|ach\w*|tender\w*|throb\w*|agony)\b", re.IGNORECASE)
_SCORE_IN_WORDS = re.compile(
    r"\b(?:a|an|at|is|was|went|of|about|around|like|level|score|maybe|now|to|its|it's|it’s|pain|painful)\s+"
    r"(10|[0-9]|zero|one|two|three|four|five|six|seven|eight|nine|ten)\b(?![.,]?\d)"
    r"(?:\s*(?:/|out of)\s*10)?(?!\s*(?:%|am\b|pm\b|o'?clock|days?|hours?|hrs?|h\b|weeks?|wks?|minutes?|mins?|"
    r"months?|years?|yrs?|y/?o|degrees?|°|times?|dots?|spots?|marks?|bumps?|lumps?|sessions?|treatments?|pm|ml|mg))",
    re.IGNORECASE,
)
# A score said of the past: a past word shortly before it ("was a 2") or after it ("a 6 this morning"), with no
# "now", "but" or "today" in between.
_NOT_NOW = r"(?:(?!\b(?:now|today|but|currently|tonight|still)\b)[^.!?,])"
_PAST_BEFORE = re.compile(
    r"\b(was|were|had|started|when i left|left the clinic|leaving the clinic|left clinic|"
    r"at the clinic|yesterday|this morning|last night|earlier|before|initially|at first|"
    r"used to be|went from|from|straight after|right after)\b" + _NOT_NOW + r"{0,25}$",
    re.IGNORECASE,
)
_PAST_AFTER = re.compile(
    r"^(?:\s*(?:/|out of)\s*10)?" + _NOT_NOW + r"{0,12}\b(when i left|at the clinic|yesterday|"
    r"this morning|last night|earlier|before|at first|initially|to start with)\b",
    re.IGNORECASE,
)


_LEFT_THE_CLINIC = re.compile(r"\b(when i left|left the clinic|leaving the clinic)\b", re.IGNORECASE)


_NOW_AFTER = re.compile(
    r"^(?:\s*(?:/|out of)\s*10)?\s*(now|today|tonight|currently|at the moment|right now)\b", re.IGNORECASE
)


_WORD_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _said_of_the_past(text: str, offset: int) -> bool:
    number_end = offset + (2 if text[offset : offset + 2] == "10" else 1)
    if _NOW_AFTER.search(text[number_end:]) or re.search(
        r"\bto\s+(an?\s+)?$", text[max(0, offset - 8) : offset], re.IGNORECASE
    ):
        return False  # "...and it's a 4 now", "from a one to a five"
    return bool(_PAST_BEFORE.search(text[max(0, offset - 40) : offset]) or _PAST_AFTER.search(text[number_end:]))


@dataclass
class _Symptom:
    """A symptom while modifiers are still being attached (mutable scratch, frozen into a Finding at the end)."""

    value: str
    negated: bool
    clause: int
    text: str
    severity: List[str] = field(default_factory=list)
    trend: List[str] = field(default_factory=list)
    area: Optional[str] = None
    context: Optional[str] = None
    start: int = -1

    @property
    def current(self) -> bool:
        return not self.negated and self.context is None

    def freeze(self) -> Finding:
        return Finding(
            symptom=self.value,
            negated=self.negated,
            severity=tuple(self.severity),
            trend=tuple(self.trend),
            area=self.area,
            text=self.text,
            context=self.context,
        )


def clause_starts(text: str) -> List[int]:
    """Character offsets where clauses after the first begin."""
    return [m.start() for m in _CLAUSE_BREAK.finditer(text)]


def report_from_entities(
    text: str,
    entities: Sequence[Dict],
    *,
    intent_confidence: Optional[float] = None,
    confidence_floor: float = 0.6,
    now_hours: Optional[float] = None,
) -> Report:
    """Build the Report for one message.

    now_hours: hours since treatment known to the caller (e.g. from the conversation so far); used only when the
    message itself states no time. The engine still prefers the patient record's time over both.
    """
    breaks = clause_starts(text)

    def clause_of(entity: Dict) -> int:
        return bisect.bisect_right(breaks, int(entity.get("start", 0)))

    ordered = sorted(entities, key=lambda e: (int(e.get("start", 0)), int(e.get("end", 0))))
    symptoms: List[_Symptom] = []
    modifiers: List[Dict] = []
    hours: List[float] = []
    pain_scores: List[Tuple[int, int]] = []  # (offset, score)
    temperatures: List[float] = []
    method: Optional[str] = None
    denied: List[str] = []

    for entity in ordered:
        label, value = entity.get("entity"), entity.get("value")
        role = entity.get("role")
        negated = role == v.NEGATED_ROLE
        if label == v.SYMPTOM and value:
            # An unknown symptom value is kept: the engine's fail-closed criterion escalates it.
            words = entity.get("text") or text[int(entity.get("start", 0)) : int(entity.get("end", 0))]
            symptoms.append(
                _Symptom(
                    _refine(str(value), words),
                    negated,
                    clause_of(entity),
                    words,
                    context=role if role in v.CONTEXT_ROLES else None,
                    start=int(entity.get("start", 0)),
                )
            )
        elif label in (v.SEVERITY, v.TREND, v.BODY_AREA):
            if role in v.CONTEXT_ROLES:
                # "what if it starts spreading?" says nothing about now; like a denial, it explains a screen hit
                if value and value not in denied:
                    denied.append(str(value))
                continue
            if negated and label == v.TREND and value == "improving":
                modifiers.append({**entity, "value": "not_improving"})  # "not healing", "hasn't improved"
            elif not negated:
                modifiers.append(entity)
            elif value and value not in denied:
                denied.append(str(value))
        elif label == v.TIME and not negated:
            number = _number(value)
            if number is not None and number >= 0:
                hours.append(number)
        elif label in (v.PAIN_SCORE, v.TEMPERATURE) and role in v.CONTEXT_ROLES:
            if label == v.TEMPERATURE:  # "if my temp hits 38": a what-if fever, answered with what to watch for
                words = entity.get("text") or ""
                symptoms.append(
                    _Symptom("fever", False, clause_of(entity), words, context=role, start=int(entity.get("start", 0)))
                )
        elif label == v.PAIN_SCORE and not negated:
            number = _number(value)
            if number is not None and 0 <= number <= 10:
                pain_scores.append((int(entity.get("start", 0)), int(round(number))))
        elif label == v.TEMPERATURE and not negated:
            number = _number(value)
            if number is not None:
                temperatures.append(_celsius(number))
        elif label == v.METHOD and not negated and value in v.METHODS:
            method = _combine_methods(method, str(value))

    pain = read_pain(text, pain_scores)
    if pain.trend:
        for symptom in symptoms:
            if symptom.value in ("pain", "throbbing") and pain.trend not in symptom.trend:
                symptom.trend.append(pain.trend)
    symptom_spans = {(int(e.get("start", 0)), int(e.get("end", 0))) for e in ordered if e.get("entity") == v.SYMPTOM}
    modifiers = _without_comparisons(text, _without_intensified_improvement(modifiers), symptom_spans)
    overall_trend = _attach(modifiers, symptoms, clause_of)
    report = Report(
        findings=tuple(s.freeze() for s in symptoms),
        pain_score=pain.score,
        pain_rise=pain.rise,
        temperature_c=max(temperatures) if temperatures else None,
        # Several times in one message ("treated 3 days ago, swelling since yesterday"): the treatment is the
        # earliest event, so the largest number is the time since treatment (and the safer reading).
        hours_since_treatment=max(hours) if hours else now_hours,
        overall_trend=overall_trend,
        uncertain=intent_confidence is not None and intent_confidence < confidence_floor,
        screen_hits=screen(text),
        method=method,
        negated_modifiers=tuple(denied),
    )
    log.debug(
        "report: %d findings, %d screen hits, uncertain=%s",
        len(report.findings),
        len(report.screen_hits),
        report.uncertain,
    )
    return report


def _without_intensified_improvement(modifiers: List[Dict]) -> List[Dict]:
    """ "calmed down a lot", "better, much": a severity word right after an improvement measures the improvement."""
    improving_ends = [int(m.get("end", 0)) for m in modifiers if m.get("value") == "improving"]
    return [
        m
        for m in modifiers
        if not (m.get("entity") == v.SEVERITY and any(0 <= int(m.get("start", 0)) - end <= 3 for end in improving_ends))
    ]


def _without_comparisons(text: str, modifiers: List[Dict], symptom_spans: set) -> List[Dict]:
    """ "more tender than sore" compares two feelings; it does not say the tenderness is getting worse. (Only the
    worsening a symptom word implies: "worse today than yesterday" is still worse.)"""
    return [
        m
        for m in modifiers
        if not (
            m.get("entity") == v.TREND
            and m.get("value") == "worsening"
            and (int(m.get("start", 0)), int(m.get("end", 0))) in symptom_spans
            and text[int(m.get("end", 0)) :].lstrip().lower().startswith("than ")
        )
    ]


def _scores(text: str, from_entities, about_pain: bool) -> List[Tuple[int, int]]:
    scores = dict(from_entities)
    entity_offsets = list(scores)
    # A score elsewhere in the message ("at a 2, now it's a 6/10") makes the other numbers scores too; so does
    # "when I left the clinic" ("it was a 1 when I left the clinic and it's a 4 now").
    if about_pain or scores or _PAIN_WORDS.search(text) or _LEFT_THE_CLINIC.search(text):
        for match in _SCORE_IN_WORDS.finditer(text):
            # The same number the NLU already read ("7/10") is not a second score, nor is the 10 of "out of 10".
            denominator = re.search(r"(out of|outta|/)\s*$", text[: match.start(1)], re.IGNORECASE)
            if not denominator and not any(abs(match.start(1) - offset) <= 2 for offset in entity_offsets):
                word = match.group(1).lower()
                scores[match.start(1)] = int(word) if word.isdigit() else _WORD_NUMBERS.index(word)
    return sorted(scores.items())


@dataclass(frozen=True)
class PainReading:
    """What a message's pain scores say: the current score, its direction, and how many points it rose."""

    score: Optional[int] = None
    trend: Optional[str] = None  # "increasing" | "improving"
    rise: int = 0


def read_pain(text: str, from_entities: Sequence[Tuple[int, int]] = (), about_pain: bool = False) -> PainReading:
    """Every pain score in the message, in order. A score said of the past ("was a 2 when I left") is the starting
    point; the current score is the highest of the others (the safer reading), or of all when every score is in
    the past. `about_pain`: the text answers "how bad is the pain?", so "about a 6" counts without a pain word."""
    ordered = _scores(text, from_entities, about_pain)
    if not ordered:
        return PainReading()
    past = [score for offset, score in ordered if _said_of_the_past(text, offset)]
    now = [score for offset, score in ordered if not _said_of_the_past(text, offset)]
    current = max(now or past)
    if not past or not now:
        return PainReading(current)
    if current > max(past):
        return PainReading(current, "increasing", current - max(past))
    return PainReading(current, "improving" if current < min(past) else None)


def _attach(modifiers: Sequence[Dict], symptoms: List[_Symptom], clause_of) -> Optional[str]:
    """Attach modifiers to symptoms; return the message-level trend when the message has no symptom at all."""
    if symptoms and not any(s.current for s in symptoms):
        worrying = [m for m in modifiers if m.get("value") in _WORRYING_TRENDS + _WORRYING_SEVERITIES]
        if worrying:
            # Everything named was denied or is not the patient's own, yet something is getting worse.
            first = min(worrying, key=lambda m: int(m.get("start", 0)))
            symptoms.append(_Symptom(UNSPECIFIED, False, clause_of(first), first.get("text") or ""))
    if not symptoms:
        trends = [m.get("value") for m in modifiers if m.get("entity") == v.TREND and m.get("value") in v.TRENDS]
        for trend in _TREND_PRIORITY:
            if trend in trends:
                return trend
        return None
    # Orphan modifiers go to a clause with a symptom the patient has, not one they denied ("no pus. It's spreading").
    present = sorted({s.clause for s in symptoms if s.current})
    clauses_with_symptoms = present or sorted({s.clause for s in symptoms})
    for modifier in modifiers:
        if modifier.get("entity") == v.SEVERITY:
            own = [s for s in symptoms if 0 <= s.start - int(modifier.get("end", 0)) <= 2]
            if own:
                _add(own[0], modifier)
                continue
        clause = clause_of(modifier)
        if clause not in clauses_with_symptoms:
            earlier = [c for c in clauses_with_symptoms if c < clause]
            clause = earlier[-1] if earlier else clauses_with_symptoms[0]
        for symptom in symptoms:
            if symptom.clause == clause:
                _add(symptom, modifier)
    return None


def _add(symptom: _Symptom, modifier: Dict) -> None:
    label, value = modifier.get("entity"), modifier.get("value")
    if label == v.SEVERITY and value in v.SEVERITIES and value not in symptom.severity:
        symptom.severity.append(value)
    elif label == v.TREND and value in v.TRENDS and value not in symptom.trend:
        symptom.trend.append(value)
    elif label == v.BODY_AREA and symptom.area is None:
        symptom.area = str(value)


def _refine(symptom: str, words: str) -> str:
    """Throbbing has its own red flag in the guide ("increasing pain or throbbing after the initial 24 hours").

    A lexicon that files "throbbing" under pain would lose it, so the patient's own word decides. Every
    criterion treats throbbing at least as seriously as pain, so this can only raise a level.
    """
    if symptom == "pain" and "throb" in words.lower():
        return "throbbing"
    return symptom


def _number(value: object) -> Optional[float]:
    try:
        return float(str(value).replace(",", "."))
    except (TypeError, ValueError):
        return None


def _celsius(number: float) -> float:
    if number > _FAHRENHEIT_ABOVE:
        return round((number - 32) * 5 / 9, 1)
    return number


def _combine_methods(current: Optional[str], new: str) -> str:
    if current is None or current == new:
        return new
    return "combined"  # both named in one message: needling and injections
