"""The triage engine: a Report (what the patient said) + PatientContext (the record) + Criteria -> Decision.

Pure and deterministic: no I/O, no clock, no rasa/sqlalchemy/telegram. The policy lives in
data/triage/criteria.yml; this module only knows how to read a criterion's conditions.

Safety choices made here rather than in the data file:
  * a denied finding ("no pus") never matches anything;
  * the record's time since treatment wins over what the message says (patients misremember, records don't);
  * a finding that no criterion describes is caught by the `not_covered` criterion (fail closed);
  * "missing" is computed by asking the same criteria again with the unknown filled in: if some answer would
    change the level, the bot should ask. No separate list of "questions that matter" to keep in sync;
  * a message whose symptoms are all denied, someone else's, what-ifs or long past is still answered: with what
    to watch for (WATCH_FOR) or, when everything was denied, with NOTHING_WRONG; nobody is alerted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, List, Optional, Sequence, Tuple

from bot.nlp.vocabulary import SYMPTOMS
from bot.triage.advice import AFTERCARE_BASICS, NOTHING_WRONG, WATCH_FOR
from bot.triage.criteria import ANY, UNKNOWN_METHOD, Conditions, Criteria, Criterion
from bot.triage.model import Decision, Finding, Level, PatientContext, Report

# Trends that mean "getting worse"; used to ask "better or worse?" when the answer could escalate.
WORSE_TRENDS = ("worsening", "increasing", "spreading")
# Pain scores tried when the patient reported pain without a number.
_PAIN_SCORES = tuple(range(0, 11))
# Symptoms for which a pain score is relevant.
_PAIN_SYMPTOMS = ("pain", "throbbing")
# Symptoms after which a thermometer reading is worth asking for ("I feel hot" may be a fever). A reported fever is
# urgent whatever the number, so in practice the question follows warmth.
_TEMPERATURE_SYMPTOMS = ("warmth", "fever")
# Readings tried when the patient mentioned warmth without a number: normal, raised, fever.
_TEMPERATURE_PROBES = (36.8, 37.7, 38.0, 39.5)


@dataclass(frozen=True)
class _Facts:
    """The values the conditions read, resolved once (record over message)."""

    report: Report
    hours: Optional[float]
    method: Optional[str]
    context: PatientContext
    red_flag_symptoms: frozenset

    @property
    def present(self) -> Tuple[Finding, ...]:
        return tuple(f for f in self.report.findings if f.current)


@dataclass(frozen=True)
class _Match:
    criterion: Criterion
    finding: Optional[Finding]


def triage(report: Report, context: PatientContext, criteria: Criteria) -> Decision:
    """Decide the level for one message. See the module docstring for the rules."""
    facts = _facts(report, context, criteria)
    matches = _match_all(facts, criteria)
    level = _level(matches)
    ordered = _ordered_criteria(matches)
    advice = _advice(ordered, level)
    if level is Level.NONE and report.findings and not facts.present:
        advice = (NOTHING_WRONG,) if all(f.negated for f in report.findings) else (WATCH_FOR,)
    return Decision(
        level=level,
        criteria=tuple(c.id for c in ordered),
        advice=advice,
        missing=_missing(report, context, criteria, level),
        findings=facts.present,
    )


# --- facts -----------------------------------------------------------------------------------------------------


def _facts(report: Report, context: PatientContext, criteria: Criteria) -> _Facts:
    hours = context.hours_since_treatment if context.hours_since_treatment is not None else report.hours_since_treatment
    method = context.method or report.method
    return _Facts(
        report=report, hours=hours, method=method, context=context, red_flag_symptoms=criteria.red_flag_symptoms()
    )


def _trends(finding: Finding, report: Report) -> Tuple[str, ...]:
    # The answer to "better or worse than yesterday?" applies to every symptom of the message.
    return finding.trend + ((report.overall_trend,) if report.overall_trend else ())


# --- matching --------------------------------------------------------------------------------------------------


def _match_all(facts: _Facts, criteria: Criteria) -> List[_Match]:
    matches: List[_Match] = []
    catch_all: List[Criterion] = []
    for criterion in criteria:
        if criterion.conditions.not_covered:
            catch_all.append(criterion)  # needs to know what everything else matched
        elif criterion.message_level:
            if _message_conditions_hold(criterion.conditions, facts):
                matches.append(_Match(criterion, None))
        else:
            for finding in facts.present:
                if criterion.about(finding.symptom) and _finding_conditions_hold(criterion.conditions, finding, facts):
                    matches.append(_Match(criterion, finding))
    covered = {id(m.finding) for m in matches if m.finding is not None}
    # A pain score criterion judges the pain findings of the message, so they are not "uncovered".
    if any(m.finding is None and _about_pain_score(m.criterion) for m in matches):
        covered |= {id(f) for f in facts.present if f.symptom in _PAIN_SYMPTOMS}
    for criterion in catch_all:
        for finding in facts.present:
            if id(finding) not in covered and criterion.about(finding.symptom):
                matches.append(_Match(criterion, finding))
    return matches


def _about_pain_score(criterion: Criterion) -> bool:
    return criterion.conditions.pain_score_min is not None or criterion.conditions.pain_score_max is not None


def _any(values: Iterable[str], wanted: Sequence[str]) -> bool:
    return any(value in wanted for value in values)


def _time_holds(c: Conditions, hours: Optional[float]) -> bool:
    if c.requires_unknown_time:
        return hours is None
    if c.hours_min is None and c.hours_max is None:
        return True
    if hours is None:
        return bool(c.match_if_time_unknown)
    if c.hours_min is not None and hours < c.hours_min:
        return False
    if c.hours_max is not None and hours >= c.hours_max:
        return False
    return True


def _pain_score_holds(c: Conditions, score: Optional[int]) -> bool:
    # An unknown score never reaches a minimum and never breaks a maximum; `missing` asks for it.
    if c.pain_score_min is not None and (score is None or score < c.pain_score_min):
        return False
    if c.pain_score_max is not None and score is not None and score > c.pain_score_max:
        return False
    return True


def _temperature_holds(c: Conditions, celsius: Optional[float]) -> bool:
    if c.temperature_min_c is not None and (celsius is None or celsius < c.temperature_min_c):
        return False
    if c.temperature_below_c is not None and (celsius is None or celsius >= c.temperature_below_c):
        return False
    return True


def _finding_conditions_hold(c: Conditions, finding: Finding, facts: _Facts) -> bool:
    report = facts.report
    trends = _trends(finding, report)
    if c.severity and not _any(finding.severity, c.severity):
        return False
    if c.severity_not and _any(finding.severity, c.severity_not):
        return False
    if c.trend and not _any(trends, c.trend):
        return False
    if c.trend_not and _any(trends, c.trend_not):
        return False
    if not _time_holds(c, facts.hours):
        return False
    if not _pain_score_holds(c, report.pain_score):
        return False
    if not _temperature_holds(c, report.temperature_c):
        return False
    if c.method and (facts.method or UNKNOWN_METHOD) not in c.method:
        return False
    if c.also_reported and not any(f.symptom in c.also_reported for f in facts.present if f is not finding):
        return False
    if c.persists_from_earlier_report and not _reported_earlier(finding.symptom, facts):
        return False
    return True


def _message_conditions_hold(c: Conditions, facts: _Facts) -> bool:
    report = facts.report
    if (c.pain_score_min is not None or c.pain_score_max is not None) and report.pain_score is None:
        return False
    if not _pain_score_holds(c, report.pain_score):
        return False
    if not _temperature_holds(c, report.temperature_c):
        return False
    if c.uncertain_with_red_flag and not _uncertain_with_red_flag(facts):
        return False
    if c.stated_emergency and not report.stated_emergency:
        return False
    if c.unexplained_concern and not _any(report.unexplained_concern, c.unexplained_concern):
        return False
    if c.pain_rise_min is not None and report.pain_rise < c.pain_rise_min:
        return False
    reading = report.second_reading
    if c.second_reading_escalate_min is not None and (
        reading is None or reading.escalate < c.second_reading_escalate_min
    ):
        return False
    if c.second_reading_emergency_min is not None and (
        reading is None or reading.emergency < c.second_reading_emergency_min
    ):
        return False
    if c.screen_hit_unaccounted:
        hits = unaccounted_screen_hits(report)
        if ANY in c.screen_hit_unaccounted:
            if not hits:
                return False
        elif not _any(hits, c.screen_hit_unaccounted):
            return False
    return True


def _reported_earlier(symptom: str, facts: _Facts) -> bool:
    return any(
        earlier.symptom == symptom and (facts.hours is None or earlier.hours_since_treatment <= facts.hours)
        for earlier in facts.context.earlier
    )


def _uncertain_with_red_flag(facts: _Facts) -> bool:
    if not facts.report.uncertain:
        return False
    # An unsure intent does not make a what-if or someone else's symptom the patient's own (a denial, though, is
    # not trusted: "no pus" in a message we could not read well still fails closed).
    in_context = {f.symptom for f in facts.report.findings if f.context}
    # A symptom outside the vocabulary is unknown to the criteria, so it counts as a possible red flag.
    return any(hit not in in_context for hit in facts.report.screen_hits) or any(
        f.symptom in facts.red_flag_symptoms or f.symptom not in SYMPTOMS for f in facts.present
    )


def unaccounted_screen_hits(report: Report) -> Tuple[str, ...]:
    """Screen hits the parsed findings do not explain.

    A hit is explained when the parser produced a finding for that symptom, denied or not: the parser saw the
    words and the criteria judge them. Three hits stand for more than a symptom name and need more to be
    explained: "redness" is screened from "spreading"/"red streaks", so only a spreading trend (had or denied)
    explains it; "pain" is screened from "unbearable"/"agony", so only severe pain or a high score explains it;
    "fever" is screened from "temperature" too, so a measured temperature also explains it.
    """
    symptoms = {f.symptom for f in report.findings}
    spreading = any("spreading" in f.trend for f in report.findings) or "spreading" in report.negated_modifiers
    severe_pain = (report.pain_score is not None and report.pain_score >= 7) or any(
        f.symptom in _PAIN_SYMPTOMS and _any(f.severity, ("severe", "excessive")) for f in report.findings
    )
    out = []
    for hit in report.screen_hits:
        if hit == "redness":
            explained = spreading
        elif hit == "pain":
            explained = severe_pain
        elif hit == "fever":
            explained = "fever" in symptoms or report.temperature_c is not None
        elif hit == "lip_swelling":
            explained = hit in symptoms or "airway_swelling" in symptoms
        else:
            explained = hit in symptoms
        if not explained:
            out.append(hit)
    return tuple(out)


# --- the answer ----------------------------------------------------------------------------------------------


def _level(matches: Sequence[_Match]) -> Level:
    return max((m.criterion.level for m in matches), key=lambda level: level.rank, default=Level.NONE)


def _ordered_criteria(matches: Sequence[_Match]) -> Tuple[Criterion, ...]:
    unique: List[Criterion] = []
    for match in matches:
        if match.criterion not in unique:
            unique.append(match.criterion)
    # sorted() is stable: equal levels keep the file's order, which the clinical lead controls.
    return tuple(sorted(unique, key=lambda c: -c.level.rank))


def _advice(ordered: Sequence[Criterion], level: Level) -> Tuple[str, ...]:
    # Only the deciding level speaks: "this is normal" next to "your practitioner has been alerted" confuses.
    keys: List[str] = []
    for criterion in ordered:
        if criterion.level is level:
            keys.extend(k for k in criterion.advice if k not in keys)
    # The aftercare basics end with "message us or call if...": they close the reply, whatever came first.
    return tuple(sorted(keys, key=lambda k: k == AFTERCARE_BASICS))


# --- what to ask -------------------------------------------------------------------------------------------------


def _level_only(report: Report, context: PatientContext, criteria: Criteria) -> Level:
    return _level(_match_all(_facts(report, context, criteria), criteria))


def _missing(report: Report, context: PatientContext, criteria: Criteria, level: Level) -> Tuple[str, ...]:
    if level is Level.EMERGENCY:
        return ()  # nothing the patient could add changes "call emergency services now"
    present = [f for f in report.findings if f.current]
    missing: List[str] = []

    if context.hours_since_treatment is None and report.hours_since_treatment is None and present:
        probes = _hour_probes(criteria)
        if any(_level_only(replace(report, hours_since_treatment=h), context, criteria) is not level for h in probes):
            missing.append("hours_since_treatment")

    if report.pain_score is None and any(f.symptom in _PAIN_SYMPTOMS for f in present):
        if any(_level_only(replace(report, pain_score=s), context, criteria) is not level for s in _PAIN_SCORES):
            missing.append("pain_score")

    if report.overall_trend is None and any(not f.trend for f in present):
        if any(
            _level_only(replace(report, overall_trend=t), context, criteria).rank > level.rank for t in WORSE_TRENDS
        ):
            missing.append("trend")

    if report.temperature_c is None and any(f.symptom in _TEMPERATURE_SYMPTOMS for f in present):
        if any(
            _level_only(replace(report, temperature_c=t), context, criteria).rank > level.rank
            for t in _TEMPERATURE_PROBES
        ):
            missing.append("temperature")
    return tuple(missing)


def _hour_probes(criteria: Criteria) -> Tuple[float, ...]:
    probes = {0.0}
    for boundary in criteria.hour_boundaries():
        probes |= {boundary, max(0.0, boundary - 0.5)}
    probes.add(max(probes) + 100)
    return tuple(sorted(probes))
