"""Pure helpers for a triage that spans several messages (clarifying questions and their answers).

The pending report travels in a Rasa slot as JSON; `merge` folds a later message into it; `parse_detail` reads an
answer to a clarifying question and `with_answers` applies the answers. No Rasa imports here.
"""

from __future__ import annotations

import re
from dataclasses import asdict, replace
from typing import Any, Dict, Mapping, Optional

from bot.nlp import values
from bot.nlp.vocabulary import TRENDS
from bot.triage.findings import read_pain
from bot.triage.model import Finding, Report, SecondReading


def report_to_json(report: Report) -> Dict[str, Any]:
    return asdict(report)


def report_from_json(data: Optional[Dict[str, Any]]) -> Optional[Report]:
    if not data:
        return None
    findings = tuple(
        Finding(**{**f, "severity": tuple(f.get("severity", ())), "trend": tuple(f.get("trend", ()))})
        for f in data.get("findings", ())
    )
    if "unexplained_concern" in data:
        data = {**data, "unexplained_concern": tuple(data["unexplained_concern"] or ())}
    if data.get("second_reading"):
        data = {**data, "second_reading": SecondReading(**data["second_reading"])}
    fields = {k: v for k, v in data.items() if k in Report.__dataclass_fields__ and k != "findings"}
    fields["screen_hits"] = tuple(fields.get("screen_hits", ()))
    fields["negated_modifiers"] = tuple(fields.get("negated_modifiers", ()))
    return Report(findings=findings, **fields)


# The details a clarifying question can ask for (Decision.missing values), in the order they are asked.
DETAILS = ("hours_since_treatment", "pain_score", "trend", "temperature")
# An answer that gives no value ("not sure", "I didn't measure"): the detail stays unknown and is not asked again.
SKIPPED = "skipped"
# Where each detail goes in a Report.
_FIELDS = {
    "hours_since_treatment": "hours_since_treatment",
    "pain_score": "pain_score",
    "trend": "overall_trend",
    "temperature": "temperature_c",
}

_SKIP = re.compile(
    r"\b(skip|idk|dunno|no idea|not sure|unsure|(don'?t|do not) (know|remember|have a thermometer)|"
    r"(can'?t|cannot|can not) remember|(didn'?t|did not|haven'?t|have not|not) (measured?|checked?|taken it)|"
    r"no thermometer)\b"
)
# A plain "no" to "Have you taken your temperature?".
_NOT_TAKEN = re.compile(r"^\s*(no|nope|nah|not yet|(i )?haven'?t|(i )?have not)\b")
_NEGATIVE = re.compile(r"^\s*(-|minus\b|negative\b)")
_WORSE = re.compile(r"\b(worse|worsening|worst|more|increas\w*|spread\w*|bigger)\b")
_BETTER = re.compile(r"\b(better|improv\w*|less|settl\w*|calm\w*|fading|going down|healing)\b")
_SAME = re.compile(r"\b(same|no change|not changed|unchanged|similar|persist\w*|no different|about the same)\b")
_NOT_WORSE = re.compile(r"\bnot? (any )?worse\b")
_NOT_BETTER = re.compile(r"\b(not|no|isn'?t|hasn'?t|has not|is not)\b( \w+){0,2} (better|improv\w*|fad\w*|heal\w*)\b")


def parse_detail(detail: str, answer: Any) -> Any:
    """The value of an answer to the question about `detail`: a number (hours, 0-10, °C), a trend value, SKIPPED,
    or None when the answer cannot be used (out of range, no number, not understood), so the question is asked
    again. Values already parsed (a stored answer) come back unchanged if still valid."""
    if answer is None or answer == SKIPPED:
        return answer
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        return _number_answer(detail, float(answer))
    text = str(answer).lower().strip()
    if _SKIP.search(text) or (detail == "temperature" and _NOT_TAKEN.search(text)):
        return SKIPPED
    if detail == "trend":
        return _trend(text)
    if _NEGATIVE.search(text):
        return None
    if detail == "pain_score":
        score = values.parse_pain_score(text)
        return score if score is not None else read_pain(text, about_pain=True).score
    if detail == "temperature":
        return values.parse_temperature_c(text)
    if detail == "hours_since_treatment":
        hours = values.parse_hours_ago(text)
        if hours is None:
            days = values.parse_pain_score(text)  # a bare small number: "2" after "how long ago?" means days
            hours = None if days is None else days * 24.0
        return hours
    raise ValueError(f"unknown detail {detail!r}")


def _number_answer(detail: str, number: float) -> Any:
    if detail == "pain_score":
        return int(number) if 0 <= number <= 10 and number == int(number) else None
    if detail == "temperature":
        return values.parse_temperature_c(f"{number}")
    if detail == "hours_since_treatment":
        return number if number >= 0 else None
    return None


def _trend(text: str) -> Optional[str]:
    if text in TRENDS:
        return text  # a canonical value (a button, or an entity value)
    if _NOT_WORSE.search(text):
        return "persisting"
    if _NOT_BETTER.search(text):
        return "not_improving"
    if _WORSE.search(text):
        return "worsening"  # "better this morning but worse again now" counts as worse
    if _BETTER.search(text) and not re.search(r"\bnot (any )?better\b", text):
        return "improving"
    if _SAME.search(text):
        return "persisting"
    return None


def with_answers(report: Report, answers: Mapping[str, Any]) -> Report:
    """The report completed by the answers to clarifying questions; what the messages said wins."""
    changes = {}
    for detail, value in answers.items():
        field = _FIELDS[detail]
        if value is not None and value != SKIPPED and getattr(report, field) is None:
            changes[field] = value
    return replace(report, **changes)


def without_detail(report: Report, detail: str) -> Report:
    """The report with `detail` unknown: used to ask whether a message says more than the answer it gives."""
    return replace(report, **{_FIELDS[detail]: None})


def merge(pending: Optional[Report], new: Report) -> Report:
    """The pending report completed by what the new message adds; new measurements win."""
    if pending is None:
        return new
    seen = {(f.symptom, f.negated) for f in new.findings}
    new_findings = new.findings
    if pending.pain_score is not None and new.pain_score is not None and new.pain_score > pending.pain_score:
        # A score higher than the one given earlier in this conversation: the pain is increasing.
        new_findings = tuple(
            replace(f, trend=f.trend + ("increasing",))
            if f.symptom in ("pain", "throbbing") and "increasing" not in f.trend
            else f
            for f in new_findings
        )
        pending = replace(
            pending,
            findings=tuple(
                replace(f, trend=f.trend + ("increasing",))
                if f.symptom in ("pain", "throbbing") and "increasing" not in f.trend
                else f
                for f in pending.findings
            ),
        )
    rise = max(pending.pain_rise, new.pain_rise)
    if pending.pain_score is not None and new.pain_score is not None:
        rise = max(rise, new.pain_score - pending.pain_score)
    findings = new_findings + tuple(
        f for f in pending.findings if (f.symptom, f.negated) not in seen and (f.symptom, not f.negated) not in seen
    )
    pick = lambda name: getattr(new, name) if getattr(new, name) is not None else getattr(pending, name)  # noqa: E731
    return replace(
        new,
        findings=findings,
        pain_score=pick("pain_score"),
        pain_rise=rise,
        temperature_c=pick("temperature_c"),
        hours_since_treatment=pick("hours_since_treatment"),
        overall_trend=pick("overall_trend"),
        # A message NLU was unsure about taints the report only through what it adds: an unclear answer ("lots")
        # must not turn the earlier, clearly understood findings into a fail-closed escalation.
        uncertain=pending.uncertain or (new.uncertain and bool(new.findings or new.screen_hits)),
        screen_hits=tuple(dict.fromkeys(pending.screen_hits + new.screen_hits)),
        negated_modifiers=tuple(dict.fromkeys(pending.negated_modifiers + new.negated_modifiers)),
        stated_emergency=pending.stated_emergency or new.stated_emergency,
        method=pick("method"),
        second_reading=_stronger_reading(pending.second_reading, new.second_reading),
    )


def _stronger_reading(a: Optional[SecondReading], b: Optional[SecondReading]) -> Optional[SecondReading]:
    """A later answer ("about a 7") says less than the message it answers: keep the higher of each reading."""
    if a is None or b is None:
        return a or b
    return SecondReading(escalate=max(a.escalate, b.escalate), emergency=max(a.emergency, b.emergency))
