"""From the NLU's entity dicts to a triage `Report`.

The NLU layer (spaCy ruler + negation, inside Rasa) finds symptoms, modifiers and numbers; this module decides
which modifier belongs to which symptom. The rule is deliberately simple and errs on the side of escalation:

  * a message is cut into clauses at . ! ? ; and at "but", "although", "though", "however";
  * a severity or trend word attaches to every symptom in its clause ("red and swollen and getting worse":
    both are worsening), because wrongly attaching "worse" costs a practitioner a look while wrongly dropping
    it could under-triage;
  * a modifier in a clause without any symptom ("It's spreading.") attaches to the symptoms of the nearest
    earlier clause that has a symptom the patient did not deny, or if there is none, the nearest later one:
    patients refer back with "it";
  * a negated modifier ("not spreading") attaches nowhere.

Entity dicts: {"entity": label, "value": canonical value, "start": int, "end": int, "role": "negated"?,
"text"?: the patient's words}. Labels and values: bot.nlp.vocabulary.
"""
from __future__ import annotations

import bisect
import logging
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from bot.nlp import vocabulary as v
from bot.triage.model import Finding, Report
from bot.triage.screen import screen

log = logging.getLogger(__name__)

_CLAUSE_BREAK = re.compile(r"[.!?;]+|\b(?:but|although|though|however)\b", re.IGNORECASE)

# When a message carries only a trend (an answer to "better or worse?"), the most worrying one wins.
_TREND_PRIORITY = ("spreading", "worsening", "increasing", "new", "persisting", "improving")

# Readings above this are taken as Fahrenheit: nobody has a body temperature of 50 °C.
_FAHRENHEIT_ABOVE = 50.0


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

    def freeze(self) -> Finding:
        return Finding(symptom=self.value, negated=self.negated, severity=tuple(self.severity),
                       trend=tuple(self.trend), area=self.area, text=self.text)


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
    pain_scores: List[int] = []
    temperatures: List[float] = []
    method: Optional[str] = None
    denied: List[str] = []

    for entity in ordered:
        label, value = entity.get("entity"), entity.get("value")
        negated = entity.get("role") == v.NEGATED_ROLE
        if label == v.SYMPTOM and value:
            # An unknown symptom value is kept: the engine's fail-closed criterion escalates it.
            words = entity.get("text") or text[int(entity.get("start", 0)):int(entity.get("end", 0))]
            symptoms.append(_Symptom(_refine(str(value), words), negated, clause_of(entity), words))
        elif label in (v.SEVERITY, v.TREND, v.BODY_AREA):
            if not negated:
                modifiers.append(entity)
            elif value and value not in denied:
                denied.append(str(value))
        elif label == v.TIME and not negated:
            number = _number(value)
            if number is not None and number >= 0:
                hours.append(number)
        elif label == v.PAIN_SCORE and not negated:
            number = _number(value)
            if number is not None and 0 <= number <= 10:
                pain_scores.append(int(round(number)))
        elif label == v.TEMPERATURE and not negated:
            number = _number(value)
            if number is not None:
                temperatures.append(_celsius(number))
        elif label == v.METHOD and not negated and value in v.METHODS:
            method = _combine_methods(method, str(value))

    overall_trend = _attach(modifiers, symptoms, clause_of)
    report = Report(
        findings=tuple(s.freeze() for s in symptoms),
        pain_score=max(pain_scores) if pain_scores else None,
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
    log.debug("report: %d findings, %d screen hits, uncertain=%s",
              len(report.findings), len(report.screen_hits), report.uncertain)
    return report


def _attach(modifiers: Sequence[Dict], symptoms: List[_Symptom], clause_of) -> Optional[str]:
    """Attach modifiers to symptoms; return the message-level trend when the message has no symptom at all."""
    if not symptoms:
        trends = [m.get("value") for m in modifiers if m.get("entity") == v.TREND and m.get("value") in v.TRENDS]
        for trend in _TREND_PRIORITY:
            if trend in trends:
                return trend
        return None
    # Orphan modifiers go to a clause with a symptom the patient has, not one they denied ("no pus. It's spreading").
    present = sorted({s.clause for s in symptoms if not s.negated})
    clauses_with_symptoms = present or sorted({s.clause for s in symptoms})
    for modifier in modifiers:
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
