"""Value objects of the triage core. Frozen, hashable, free of rasa/sqlalchemy/telegram imports.

A message becomes a `Report` (what the patient said, as findings and measurements); the patient's record
becomes a `PatientContext`; `engine.triage(report, context, criteria)` returns a `Decision`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional, Tuple


class Level(str, enum.Enum):
    """Triage levels. `rank` orders them, most severe highest."""

    NONE = "none"
    NORMAL = "normal"
    MONITOR = "monitor"
    URGENT = "urgent"
    EMERGENCY = "emergency"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def escalates(self) -> bool:
        """True when a practitioner must be alerted."""
        return self.rank >= _RANK[Level.URGENT]


_RANK = {Level.NONE: 0, Level.NORMAL: 1, Level.MONITOR: 2, Level.URGENT: 3, Level.EMERGENCY: 4}


@dataclass(frozen=True)
class Finding:
    """One symptom the patient mentioned, with the modifiers that belong to it.

    symptom:   a canonical value from bot.nlp.vocabulary.SYMPTOMS
    negated:   "no pus" -> True. Negated findings never trigger a criterion.
    severity:  canonical SEVERITIES values attached to this symptom ("severe", "excessive", ...)
    trend:     canonical TRENDS values attached to this symptom ("spreading", "worsening", ...)
    area:      body area text if the patient named one ("cheeks", "scalp")
    text:      the words the patient used, for the practitioner's alert
    context:   None when it is the patient's own, current problem; else "hypothetical" ("what if I get a
               fever?"), "other_experiencer" ("my friend had pus") or "historical" ("cold sores years ago").
               Like a denied finding, it never triggers a criterion; the patient is told what to watch for.
    """

    symptom: str
    negated: bool = False
    severity: Tuple[str, ...] = ()
    trend: Tuple[str, ...] = ()
    area: Optional[str] = None
    text: str = ""
    context: Optional[str] = None

    @property
    def current(self) -> bool:
        """The patient has it now: not denied, not someone else's, not a what-if, not in the distant past."""
        return not self.negated and self.context is None


@dataclass(frozen=True)
class SecondReading:
    """The learned second reading of a message (bot.nlp.second_reading): how likely it needs a practitioner
    (urgent or emergency) and how likely it is an emergency, each 0..1. Only ever escalates."""

    escalate: float = 0.0
    emergency: float = 0.0


@dataclass(frozen=True)
class Report:
    """Everything triage needs from one patient message (plus answers to clarifying questions)."""

    findings: Tuple[Finding, ...] = ()
    pain_score: Optional[int] = None  # 0-10
    # Points the score rose since an earlier score (in the message: "a 2 when I left, now a 6"; or across the
    # clarifying questions): the guide's "severe pain that increases after leaving the clinic".
    pain_rise: int = 0
    temperature_c: Optional[float] = None
    # Time since treatment stated in this message (hours); the record's treatment time wins when known.
    hours_since_treatment: Optional[float] = None
    # Message-level trend answer to "better or worse than yesterday?" (a TRENDS value)
    overall_trend: Optional[str] = None
    # True when the words could not be understood confidently (low NLU confidence) -> the engine fails closed.
    uncertain: bool = False
    # Red-flag words found by the raw keyword screen (ignores negation); see triage.screen.
    screen_hits: Tuple[str, ...] = ()
    # Treatment method named in this message (a METHODS value); the record's method wins when known.
    method: Optional[str] = None
    # Severity/trend values the patient denied ("it's not spreading") or said only of a what-if, someone else or
    # the past; lets the engine tell a screen hit on "spreading" that the parser understood from one it missed.
    negated_modifiers: Tuple[str, ...] = ()
    # The patient's words were confidently understood as an emergency ("I need an ambulance") even though no
    # symptom we know was named: the engine acts on it rather than asking for details.
    stated_emergency: bool = False
    # Set by the service for a message that reads like a report (the intent, or a body area, the treatment or a
    # time named) but has no recognised symptom: the topics it touches (vocabulary.CONCERN_TOPICS), or ("other",).
    unexplained_concern: Tuple[str, ...] = ()
    # The learned second reading of the patient's words; None when no reader is configured.
    second_reading: Optional[SecondReading] = None


@dataclass(frozen=True)
class EarlierReport:
    """A symptom reported earlier for the same treatment."""

    symptom: str
    hours_since_treatment: float
    level: Level


@dataclass(frozen=True)
class PatientContext:
    """What the record says about the patient's treatment. Every field may be unknown."""

    hours_since_treatment: Optional[float] = None
    area: Optional[str] = None  # "face" | "scalp"
    method: Optional[str] = None  # "microneedling" | "microinjection" | "combined"
    earlier: Tuple[EarlierReport, ...] = ()


@dataclass(frozen=True)
class Decision:
    """The engine's answer.

    level:      the most severe level any matched criterion gives (Level.NONE when no symptom was reported)
    criteria:   ids of the matched criteria (data/triage/criteria.yml), most severe first
    advice:     advice keys for the reply, in the order they should be said
    missing:    what to ask the patient because it would change the decision ("hours_since_treatment",
                "pain_score", "trend", "temperature"); empty when nothing matters
    findings:   the findings the decision rests on (non-negated)
    """

    level: Level
    criteria: Tuple[str, ...] = ()
    advice: Tuple[str, ...] = ()
    missing: Tuple[str, ...] = ()
    findings: Tuple[Finding, ...] = field(default=())
