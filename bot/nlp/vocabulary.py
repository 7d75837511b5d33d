"""The closed vocabulary shared by the spaCy pipeline, the Rasa components and the triage core.

Entity labels produced by the pipeline, and the canonical values they carry. The lexicon files under
data/lexicon/ map everyday words onto these values; the triage criteria (data/triage/criteria.yml) refer to them.
Keeping them in one module means a typo in either data file is caught at load time instead of silently never
matching.
"""

from __future__ import annotations

# Entity labels ------------------------------------------------------------------------------------------------
SYMPTOM = "symptom"
BODY_AREA = "body_area"
SEVERITY = "severity"
TREND = "trend"
TIME = "time_expression"
PAIN_SCORE = "pain_score"
TEMPERATURE = "temperature"
METHOD = "treatment_method"

ENTITY_LABELS = (SYMPTOM, BODY_AREA, SEVERITY, TREND, TIME, PAIN_SCORE, TEMPERATURE, METHOD)

# Role set on an entity that negspacy found negated ("no pus" -> symptom=discharge, role=negated).
NEGATED_ROLE = "negated"
# Roles for a symptom that is not the patient's own, current problem (bot/nlp/context.py).
CONTEXT_ROLES = ("hypothetical", "other_experiencer", "historical")

# Canonical symptom values -------------------------------------------------------------------------------------
SYMPTOMS = frozenset(
    {
        "redness",
        "swelling",
        "warmth",
        "pain",
        "throbbing",  # throbbing, pulsing ache: a red flag of its own after the first 24 h (the guide names it)
        "discharge",  # pus, oozing, yellow/green discharge, weeping
        "fever",  # fever, high temperature, chills, shivery
        "bruising",
        "lump",  # lumps, bumps, nodules, hard spots
        "peeling",  # peeling, flaking, dryness
        "tightness",
        "bleeding",
        "itching",
        "acne",  # spots, breakouts, pimples
        "rash",
        "hives",  # hives, welts (widespread hives with faintness -> emergency)
        "sensitivity",  # stinging, sensitive skin
        "blistering",
        "skin_discolouration",  # grey/blue/white/dusky patches
        "numbness",
        "hair_shedding",  # scalp: shedding more hair
        "headache",
        "infection_concern",  # "I think it's infected": the patient's own worry counts
        # emergency screen (not in the guide; every triage tool screens for them first)
        "breathing_difficulty",
        "airway_swelling",  # throat or tongue swelling, trouble swallowing
        "lip_swelling",  # lips: emergency when fast or with breathing/speech trouble, otherwise urgent
        "fainting",
        "dizziness",
        "confusion",
        "chest_pain",
        "vision_change",  # blurred, dim, double or lost sight, spots or flashes: possible vascular occlusion
        "speech_change",  # slurred speech, drooping face, one-sided weakness: possible stroke
        "cold_sore",  # a cold sore outbreak after treatment (herpes on freshly needled skin)
    }
)

# Symptoms that are emergencies whoever tells of them: the router sends them to triage as emergencies, and the
# context step keeps one told as happening to someone else ("my wife's speech is slurred") a current report.
EMERGENCY_SYMPTOMS = frozenset(
    {
        "breathing_difficulty",
        "airway_swelling",
        "fainting",
        "chest_pain",
        "vision_change",
        "speech_change",
        "skin_discolouration",
        "confusion",
    }
)

# What a report-like message names when no symptom was recognised ("something is wrong with my eye"): these topics
# are escalated as not understood rather than asked about (bot/triage/screen.py finds them).
CONCERN_TOPICS = frozenset({"eyes", "breathing", "swallowing", "speech"})

# Canonical modifier values ------------------------------------------------------------------------------------
SEVERITIES = frozenset({"mild", "moderate", "severe", "excessive", "large", "widespread", "sudden"})
# "persisting" is "still there" (said of anything, often); "not_improving" says it is not fading as it should
# ("hasn't faded at all", "no better", "not healing"), which past the first week is no longer expected.
TRENDS = frozenset({"worsening", "spreading", "increasing", "improving", "persisting", "not_improving", "new"})
AREAS = frozenset({"face", "scalp"})
METHODS = frozenset({"microneedling", "microinjection", "combined"})
