"""Pure helpers for a triage that spans several messages (a clarifying question and its answer).

The pending report travels in a Rasa slot as JSON; `merge` folds an answer into it. No Rasa imports here.
"""
from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any, Dict, Optional

from bot.nlp import values
from bot.triage.model import Finding, Report


def report_to_json(report: Report) -> Dict[str, Any]:
    return asdict(report)


def report_from_json(data: Optional[Dict[str, Any]]) -> Optional[Report]:
    if not data:
        return None
    findings = tuple(Finding(**{**f, "severity": tuple(f.get("severity", ())), "trend": tuple(f.get("trend", ()))})
                     for f in data.get("findings", ()))
    fields = {k: v for k, v in data.items() if k in Report.__dataclass_fields__ and k != "findings"}
    fields["screen_hits"] = tuple(fields.get("screen_hits", ()))
    fields["negated_modifiers"] = tuple(fields.get("negated_modifiers", ()))
    return Report(findings=findings, **fields)


def answer_to_question(question: Optional[str], text: str, report: Report) -> Report:
    """Read a bare answer ("about a 6", "2 days") to the question we asked, when NLU found no entity for it."""
    if question == "pain_score" and report.pain_score is None:
        return replace(report, pain_score=values.parse_pain_score(text))
    if question == "hours_since_treatment" and report.hours_since_treatment is None:
        hours = values.parse_hours_ago(text)
        if hours is None:
            days = values.parse_pain_score(text)  # a bare small number: "2" after "how many days ago?"
            hours = None if days is None else days * 24.0
        return replace(report, hours_since_treatment=hours)
    return report


def merge(pending: Optional[Report], new: Report) -> Report:
    """The pending report completed by what the new message adds; new measurements win."""
    if pending is None:
        return new
    seen = {(f.symptom, f.negated) for f in new.findings}
    findings = new.findings + tuple(f for f in pending.findings if (f.symptom, f.negated) not in seen
                                    and (f.symptom, not f.negated) not in seen)
    pick = lambda name: getattr(new, name) if getattr(new, name) is not None else getattr(pending, name)  # noqa: E731
    return replace(
        new,
        findings=findings,
        pain_score=pick("pain_score"),
        temperature_c=pick("temperature_c"),
        hours_since_treatment=pick("hours_since_treatment"),
        overall_trend=pick("overall_trend"),
        uncertain=pending.uncertain or new.uncertain,
        screen_hits=tuple(dict.fromkeys(pending.screen_hits + new.screen_hits)),
        negated_modifiers=tuple(dict.fromkeys(pending.negated_modifiers + new.negated_modifiers)),
        stated_emergency=pending.stated_emergency or new.stated_emergency,
        method=pick("method"),
    )
