"""Load and check the clinic's triage criteria (data/triage/criteria.yml).

The file is the clinic's policy, edited by people who do not read Python, so every mistake is reported with the
criterion id and the field at fault. A criterion that silently never matched (a misspelt symptom, a condition
key the engine does not know) would be a hole in the safety net; loading refuses such a file instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Tuple, Union

import yaml

from bot.nlp import vocabulary as v
from bot.triage import advice as advice_keys
from bot.triage.model import Level

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "data" / "triage" / "criteria.yml"

NOT_IN_GUIDE = "not in guide: conservative screen"
ANY = "any"
UNKNOWN_METHOD = "unknown"

_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_LEVELS = {level.value: level for level in (Level.EMERGENCY, Level.URGENT, Level.MONITOR, Level.NORMAL)}
_KEYS_REQUIRED = ("id", "level", "findings", "guide", "advice")
_KEYS_OPTIONAL = ("conditions", "rationale", "summary")


class CriteriaError(ValueError):
    """The criteria file is wrong; the message names the criterion and the field to fix."""


@dataclass(frozen=True)
class Conditions:
    """Everything a criterion can require beyond its symptoms. Empty tuples / None mean "no requirement"."""

    hours_min: Optional[float] = None  # inclusive
    hours_max: Optional[float] = None  # exclusive
    match_if_time_unknown: Optional[bool] = None  # required whenever hours_min/hours_max is set
    requires_unknown_time: bool = False
    severity: Tuple[str, ...] = ()
    severity_not: Tuple[str, ...] = ()
    trend: Tuple[str, ...] = ()
    trend_not: Tuple[str, ...] = ()
    pain_score_min: Optional[int] = None
    pain_score_max: Optional[int] = None
    pain_rise_min: Optional[int] = None  # the pain score rose by at least this many points
    temperature_min_c: Optional[float] = None
    temperature_below_c: Optional[float] = None
    method: Tuple[str, ...] = ()
    also_reported: Tuple[str, ...] = ()
    persists_from_earlier_report: bool = False
    uncertain_with_red_flag: bool = False
    stated_emergency: bool = False
    # () = not used; ("any",) = any unaccounted screen hit; otherwise the symptoms that count.
    screen_hit_unaccounted: Tuple[str, ...] = ()
    not_covered: bool = False
    # A report-like message with no recognised symptom that names one of these topics (eyes, breathing, ...).
    unexplained_concern: Tuple[str, ...] = ()
    # The learned second reading is at least this sure that the message needs a practitioner / is an emergency.
    second_reading_escalate_min: Optional[float] = None
    second_reading_emergency_min: Optional[float] = None

    @property
    def time_dependent(self) -> bool:
        return self.hours_min is not None or self.hours_max is not None or self.requires_unknown_time


@dataclass(frozen=True)
class Criterion:
    id: str
    level: Level
    # Symptoms this criterion is about; ANY for every symptom; () for a message-level criterion.
    findings: Union[Tuple[str, ...], str]
    guide: str
    advice: Tuple[str, ...]
    conditions: Conditions = field(default_factory=Conditions)
    rationale: str = ""
    summary: str = ""

    @property
    def message_level(self) -> bool:
        return self.findings == ()

    def about(self, symptom: str) -> bool:
        return self.findings == ANY or symptom in self.findings


@dataclass(frozen=True)
class Criteria:
    """The loaded policy, in file order."""

    items: Tuple[Criterion, ...]
    source: str = ""

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def by_id(self, criterion_id: str) -> Criterion:
        for criterion in self.items:
            if criterion.id == criterion_id:
                return criterion
        raise KeyError(criterion_id)

    def red_flag_symptoms(self) -> frozenset:
        """Symptoms that escalate on their own (an urgent/emergency criterion with no conditions: pus, fever,
        hives...): with these, an unsure parse fails closed. Redness or pain escalate only with a time, a score or
        a modifier, which the parse did give; an unsure intent does not change those."""
        # Asked for every what-if the engine tries (a dozen per message): worked out once, the criteria are frozen.
        known = self.__dict__.get("_red_flag_symptoms")
        if known is None:
            symptoms: set = set()
            for criterion in self.items:
                if criterion.level.escalates and criterion.findings and criterion.conditions == Conditions():
                    symptoms |= set(v.SYMPTOMS) if criterion.findings == ANY else set(criterion.findings)
            known = frozenset(symptoms)
            object.__setattr__(self, "_red_flag_symptoms", known)
        return known

    def hour_boundaries(self) -> Tuple[float, ...]:
        values = {c.conditions.hours_min for c in self.items} | {c.conditions.hours_max for c in self.items}
        return tuple(sorted(b for b in values if b is not None))


# --- loading ---------------------------------------------------------------------------------------------------


def load_criteria(path: Union[str, Path, None] = None) -> Criteria:
    """Read and validate the criteria file; raise CriteriaError on any problem."""
    path = Path(path) if path is not None else DEFAULT_PATH
    if not path.is_file():
        raise CriteriaError(f"criteria file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CriteriaError(f"{path}: not valid YAML: {exc}") from None
    return parse_criteria(data, source=str(path))


def parse_criteria(data: Any, source: str = "<criteria>") -> Criteria:
    if not isinstance(data, Mapping) or not data.get("criteria"):
        raise CriteriaError(f"{source}: no criteria found (expected a top-level 'criteria:' list)")
    raw_items = data["criteria"]
    if not isinstance(raw_items, list):
        raise CriteriaError(f"{source}: 'criteria' must be a list of criteria")
    items = []
    seen: set = set()
    for index, raw in enumerate(raw_items):
        criterion = _parse_criterion(raw, index)
        if criterion.id in seen:
            raise CriteriaError(f"criterion {criterion.id!r}: duplicate id")
        seen.add(criterion.id)
        items.append(criterion)
    return Criteria(items=tuple(items), source=source)


def _parse_criterion(raw: Any, index: int) -> Criterion:
    if not isinstance(raw, Mapping):
        raise CriteriaError(f"criterion #{index + 1}: must be a mapping with id, level, findings, guide, advice")
    cid = raw.get("id")
    if not isinstance(cid, str) or not _ID.match(cid):
        raise CriteriaError(f"criterion #{index + 1}: field 'id' must be snake_case text, got {cid!r}")

    def fail(field_name: str, problem: str) -> CriteriaError:
        return CriteriaError(f"criterion {cid!r}: field '{field_name}': {problem}")

    for key in _KEYS_REQUIRED:
        if key not in raw:
            raise fail(key, "missing")
    unknown = set(raw) - set(_KEYS_REQUIRED) - set(_KEYS_OPTIONAL)
    if unknown:
        raise fail(sorted(unknown)[0], f"unknown field (allowed: {', '.join(_KEYS_REQUIRED + _KEYS_OPTIONAL)})")

    level = _LEVELS.get(raw["level"])
    if level is None:
        raise fail("level", f"unknown level {raw['level']!r} (use one of {', '.join(_LEVELS)})")

    findings: Union[Tuple[str, ...], str]
    if raw["findings"] == ANY:
        findings = ANY
    else:
        findings = _symptoms(raw["findings"], fail, "findings")

    guide = raw["guide"]
    if not isinstance(guide, str) or not guide.strip():
        raise fail("guide", "missing guide reference (quote the guide, or write 'not in guide: conservative screen')")
    rationale = raw.get("rationale") or ""
    if guide.strip().lower().startswith("not in guide") and not str(rationale).strip():
        raise fail("rationale", "required when the criterion is not in the guide")

    advice = raw["advice"]
    if not isinstance(advice, list) or not advice:
        raise fail("advice", "must be a non-empty list of advice keys")
    for key in advice:
        if key not in advice_keys.ADVICE_KEYS:
            raise fail("advice", f"unknown advice key {key!r} (see bot/triage/advice.py)")

    conditions = _parse_conditions(raw.get("conditions") or {}, fail)
    if conditions.not_covered and findings != ANY:
        raise fail("conditions.not_covered", "only makes sense with 'findings: any'")
    if findings == () and _needs_a_finding(conditions):
        raise fail("findings", "empty, but the conditions are about a symptom (severity/trend/earlier report)")
    if findings == () and not _has_message_condition(conditions):
        raise fail("findings", "empty and no message-level condition: this criterion would match every message")

    return Criterion(
        id=cid,
        level=level,
        findings=findings,
        guide=guide.strip(),
        advice=tuple(advice),
        conditions=conditions,
        rationale=str(rationale).strip(),
        summary=str(raw.get("summary") or ""),
    )


def _needs_a_finding(c: Conditions) -> bool:
    return bool(
        c.severity
        or c.severity_not
        or c.trend
        or c.trend_not
        or c.persists_from_earlier_report
        or c.also_reported
        or c.time_dependent
    )


def _has_message_condition(c: Conditions) -> bool:
    return (
        c.pain_score_min is not None
        or c.temperature_min_c is not None
        or c.uncertain_with_red_flag
        or c.pain_rise_min is not None
        or c.stated_emergency
        or bool(c.screen_hit_unaccounted)
        or bool(c.unexplained_concern)
        or c.second_reading_escalate_min is not None
        or c.second_reading_emergency_min is not None
    )


def _symptoms(value: Any, fail, field_name: str) -> Tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise fail(field_name, f"must be a list of symptoms or '{ANY}', got {value!r}")
    for symptom in value:
        if symptom not in v.SYMPTOMS:
            raise fail(field_name, f"unknown symptom {symptom!r} (not in bot/nlp/vocabulary.py SYMPTOMS)")
    return tuple(value)


def _values(value: Any, allowed, fail, field_name: str) -> Tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise fail(field_name, f"must be a non-empty list, got {value!r}")
    for item in value:
        if item not in allowed:
            raise fail(field_name, f"unknown value {item!r} (allowed: {', '.join(sorted(allowed))})")
    return tuple(value)


def _number(value: Any, fail, field_name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise fail(field_name, f"must be a number from {low} to {high}, got {value!r}")
    return float(value)


def _flag(value: Any, fail, field_name: str) -> bool:
    if value is not True:
        raise fail(field_name, "write 'true' or leave the condition out")
    return True


def _parse_conditions(raw: Any, fail) -> Conditions:
    if not isinstance(raw, Mapping):
        raise fail("conditions", "must be a mapping of condition: value")
    out: dict = {}
    for key, value in raw.items():
        where = f"conditions.{key}"
        if key in ("hours_min", "hours_max"):
            out[key] = _number(value, fail, where, 0, 24 * 365)
        elif key == "if_time_unknown":
            if value not in ("match", "no_match"):
                raise fail(where, f"must be 'match' or 'no_match', got {value!r}")
            out["match_if_time_unknown"] = value == "match"
        elif key in (
            "requires_unknown_time",
            "persists_from_earlier_report",
            "uncertain_with_red_flag",
            "not_covered",
            "stated_emergency",
        ):
            out[key] = _flag(value, fail, where)
        elif key in ("severity", "severity_not"):
            out[key] = _values(value, v.SEVERITIES, fail, where)
        elif key in ("trend", "trend_not"):
            out[key] = _values(value, v.TRENDS, fail, where)
        elif key in ("pain_score_min", "pain_score_max", "pain_rise_min"):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
                raise fail(where, f"must be a whole number from 0 to 10, got {value!r}")
            out[key] = value
        elif key in ("second_reading_escalate_min", "second_reading_emergency_min"):
            out[key] = _number(value, fail, where, 0.01, 1)
        elif key in ("temperature_min_c", "temperature_below_c"):
            out[key] = _number(value, fail, where, 30, 45)
        elif key == "method":
            out[key] = _values(value, set(v.METHODS) | {UNKNOWN_METHOD}, fail, where)
        elif key == "also_reported":
            out[key] = _values(value, v.SYMPTOMS, fail, where)
        elif key == "unexplained_concern":
            out[key] = _values(value, v.CONCERN_TOPICS, fail, where)
        elif key == "screen_hit_unaccounted":
            out[key] = (ANY,) if value == ANY else _values(value, v.SYMPTOMS, fail, where)
        else:
            raise fail(where, "unknown condition (see the header of data/triage/criteria.yml for the list)")
    conditions = Conditions(**out)
    has_hours = conditions.hours_min is not None or conditions.hours_max is not None
    if has_hours and conditions.match_if_time_unknown is None:
        raise fail("conditions.if_time_unknown", "required with hours_min/hours_max: 'match' or 'no_match'")
    if not has_hours and conditions.match_if_time_unknown is not None:
        raise fail("conditions.if_time_unknown", "only allowed together with hours_min/hours_max")
    if has_hours and conditions.requires_unknown_time:
        raise fail("conditions.requires_unknown_time", "cannot be combined with hours_min/hours_max")
    if (
        conditions.hours_min is not None
        and conditions.hours_max is not None
        and conditions.hours_min >= conditions.hours_max
    ):
        raise fail("conditions.hours_max", "must be greater than hours_min")
    if (
        conditions.pain_score_min is not None
        and conditions.pain_score_max is not None
        and conditions.pain_score_min > conditions.pain_score_max
    ):
        raise fail("conditions.pain_score_max", "must be at least pain_score_min")
    return conditions
