"""Table-driven tests of the triage engine against the real clinic criteria (data/triage/criteria.yml).

Every case names the criterion it exercises (the pytest id starts with it). A case checks the exact level, that
the criterion matched (or, for `absent`, that it did not), and optionally the exact `missing` questions.
`test_every_criterion_is_exercised` makes sure no criterion in the file is left without a positive case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import pytest

from bot.nlp.vocabulary import SEVERITIES, TRENDS
from bot.triage.criteria import load_criteria
from bot.triage.engine import triage
from bot.triage.model import EarlierReport, Finding, Level, PatientContext, Report, SecondReading

CRITERIA = load_criteria()

E, U, M, N, X = Level.EMERGENCY, Level.URGENT, Level.MONITOR, Level.NORMAL, Level.NONE


def f(symptom: str, *modifiers: str, neg: bool = False) -> Finding:
    """f("pain", "severe", "worsening") -> a finding with those modifiers sorted into severity and trend."""
    unknown = [m for m in modifiers if m not in SEVERITIES and m not in TRENDS]
    assert not unknown, unknown
    return Finding(
        symptom=symptom,
        negated=neg,
        severity=tuple(m for m in modifiers if m in SEVERITIES),
        trend=tuple(m for m in modifiers if m in TRENDS),
    )


def neg(symptom: str) -> Finding:
    return f(symptom, neg=True)


def early(symptom: str, hours: float, level: Level = Level.NORMAL) -> EarlierReport:
    return EarlierReport(symptom=symptom, hours_since_treatment=hours, level=level)


@dataclass(frozen=True)
class Case:
    criterion: str  # the criterion this case exercises ("none" when no criterion should match)
    name: str
    level: Level
    findings: Tuple[Finding, ...] = ()
    hours: Optional[float] = None  # from the record
    msg_hours: Optional[float] = None  # from the message
    method: Optional[str] = None
    msg_method: Optional[str] = None
    pain: Optional[int] = None
    temp: Optional[float] = None
    overall: Optional[str] = None
    uncertain: bool = False
    screen: Tuple[str, ...] = ()
    denied: Tuple[str, ...] = ()
    earlier: Tuple[EarlierReport, ...] = ()
    stated_emergency: bool = False
    concern: Tuple[str, ...] = ()
    pain_rise: int = 0
    reading: Optional[SecondReading] = None  # the learned second reading
    absent: bool = False  # True: `criterion` must NOT be among the matched criteria
    missing: Optional[Tuple[str, ...]] = None  # exact expected Decision.missing when given

    def run(self):
        report = Report(
            findings=self.findings,
            pain_score=self.pain,
            temperature_c=self.temp,
            hours_since_treatment=self.msg_hours,
            overall_trend=self.overall,
            uncertain=self.uncertain,
            screen_hits=self.screen,
            method=self.msg_method,
            negated_modifiers=self.denied,
            stated_emergency=self.stated_emergency,
            unexplained_concern=self.concern,
            second_reading=self.reading,
            pain_rise=self.pain_rise,
        )
        context = PatientContext(hours_since_treatment=self.hours, method=self.method, earlier=self.earlier)
        return triage(report, context, CRITERIA)


def C(criterion, name, level, *findings, **kw) -> Case:
    return Case(criterion, name, level, tuple(findings), **kw)


def NOT(criterion, name, level, *findings, **kw) -> Case:
    return Case(criterion, name, level, tuple(findings), absent=True, **kw)


HOURS = ("hours_since_treatment",)

CASES = [
    # --- emergency ---------------------------------------------------------------------------------------------
    C("emergency_breathing_difficulty", "alone", E, f("breathing_difficulty"), hours=2),
    C("emergency_breathing_difficulty", "time_unknown_no_questions", E, f("breathing_difficulty"), missing=()),
    C("emergency_breathing_difficulty", "beats_normal_redness", E, f("redness"), f("breathing_difficulty"), hours=3),
    NOT("emergency_breathing_difficulty", "denied", X, neg("breathing_difficulty"), hours=3),
    C("emergency_airway_swelling", "lips_tongue", E, f("airway_swelling"), hours=1),
    C("emergency_airway_swelling", "late", E, f("airway_swelling", "mild"), hours=200),
    NOT("emergency_airway_swelling", "denied_with_face_swelling", N, neg("airway_swelling"), f("swelling"), hours=5),
    C("emergency_fainting", "fainted", E, f("fainting"), hours=0.5),
    NOT("emergency_fainting", "denied", N, neg("fainting"), f("redness"), hours=5),
    C("emergency_chest_pain", "alone", E, f("chest_pain")),
    C("emergency_chest_pain", "uncertain_parse", E, f("chest_pain"), uncertain=True),
    C("emergency_vision_change", "blurred", E, f("vision_change"), hours=0),
    C("emergency_vision_change", "with_headache", E, f("vision_change"), f("headache", "sudden"), hours=6),
    C(
        "emergency_lip_swelling_fast_or_with_airway",
        "with_breathing",
        E,
        f("lip_swelling"),
        f("breathing_difficulty"),
        hours=1,
    ),
    C("emergency_lip_swelling_fast_or_with_airway", "with_hives", E, f("lip_swelling"), f("hives"), hours=1),
    C("emergency_lip_swelling_fast", "sudden", E, f("lip_swelling", "sudden"), hours=2),
    C("emergency_lip_swelling_fast", "severe_day_two", E, f("lip_swelling", "severe"), hours=30),
    C("emergency_lip_swelling_growing", "getting_bigger", E, f("lip_swelling", "increasing"), hours=3),
    C("lip_swelling", "slight_no_other_signs", U, f("lip_swelling", "mild"), hours=3),
    NOT("lip_swelling", "denied", X, neg("lip_swelling"), hours=3),
    C("infection_concern", "looks_infected", U, f("infection_concern"), hours=50),
    NOT(
        "infection_concern",
        "not_infected",
        N,
        neg("infection_concern"),
        f("redness"),
        hours=20,
        screen=("infection_concern",),
    ),
    C("screen_red_flag_word_unaccounted", "infected_missed", U, f("redness"), hours=20, screen=("infection_concern",)),
    C("screen_red_flag_word_unaccounted", "lip_words_missed", U, screen=("lip_swelling",)),
    C("emergency_hives_with_faintness", "dizzy", E, f("hives"), f("dizziness"), hours=4),
    C("emergency_hives_with_faintness", "widespread_and_fainting", E, f("hives", "widespread"), f("fainting")),
    C("emergency_hives_with_faintness", "with_throat", E, f("hives"), f("airway_swelling")),
    NOT("emergency_hives_with_faintness", "dizziness_denied", U, f("hives"), neg("dizziness"), hours=4),
    NOT("emergency_hives_with_faintness", "widespread_alone", U, f("hives", "widespread"), hours=4),
    C("emergency_stated_by_patient", "no_known_symptom", E, stated_emergency=True),
    # The learned second reading only ever escalates: over its threshold whatever the rules found, under it nothing.
    C("emergency_by_second_reading", "no_known_symptom", E, reading=SecondReading(escalate=0.9, emergency=0.5)),
    C(
        "emergency_by_second_reading",
        "over_an_expected_reaction",
        E,
        f("redness"),
        hours=3,
        reading=SecondReading(escalate=0.9, emergency=0.2),
    ),
    C(
        "emergency_by_second_reading",
        "just_under",
        N,
        f("redness"),
        hours=3,
        reading=SecondReading(escalate=0.29, emergency=0.19),
        absent=True,
    ),
    C(
        "practitioner_by_second_reading",
        "over_an_expected_reaction",
        U,
        f("redness"),
        hours=3,
        reading=SecondReading(escalate=0.3, emergency=0.05),
    ),
    C("practitioner_by_second_reading", "no_known_symptom", U, reading=SecondReading(escalate=0.6, emergency=0.0)),
    C(
        "practitioner_by_second_reading",
        "just_under_leaves_the_rules_alone",
        N,
        f("redness"),
        hours=3,
        reading=SecondReading(escalate=0.29, emergency=0.0),
        absent=True,
    ),
    C(
        "practitioner_by_second_reading",
        "never_lowers_what_the_rules_found",
        E,
        f("vision_change"),
        hours=3,
        reading=SecondReading(escalate=0.0, emergency=0.0),
        absent=True,
    ),
    C("practitioner_by_second_reading", "no_reader_no_match", N, f("redness"), hours=3, absent=True),
    C("emergency_stated_by_patient", "with_a_normal_symptom", E, f("redness"), hours=3, stated_emergency=True),
    NOT("emergency_stated_by_patient", "not_stated", N, f("redness"), hours=3, overall="improving"),
    C("emergency_screen_word_unaccounted", "cant_breathe_missed", E, screen=("breathing_difficulty",)),
    C(
        "emergency_screen_word_unaccounted",
        "passed_out_missed_with_redness",
        E,
        f("redness"),
        hours=2,
        screen=("fainting",),
    ),
    C("emergency_screen_word_unaccounted", "chest_pain_parsed_as_pain", E, f("pain"), hours=2, screen=("chest_pain",)),
    NOT(
        "emergency_screen_word_unaccounted",
        "denied_by_parser",
        X,
        neg("breathing_difficulty"),
        screen=("breathing_difficulty",),
    ),
    NOT("emergency_screen_word_unaccounted", "red_flag_word_is_not_emergency", U, screen=("discharge",)),
    # --- urgent: the guide's warning signs -------------------------------------------------------------------------
    C("pain_severe_increasing", "two_hours", U, f("pain", "severe", "worsening"), hours=2),
    C("pain_severe_increasing", "day_four", U, f("pain", "excessive", "increasing"), hours=96),
    C("pain_severe_increasing", "throbbing", U, f("throbbing", "severe", "increasing"), hours=1),
    NOT("pain_severe_increasing", "severe_but_denied", X, f("pain", "severe", "worsening", neg=True), hours=30),
    C("pain_increasing_after_24h", "25h", U, f("pain", "worsening"), hours=25),
    C("pain_increasing_after_24h", "exactly_24h", U, f("pain", "increasing"), hours=24),
    NOT("pain_increasing_after_24h", "23h_is_monitor", M, f("pain", "worsening"), hours=23),
    C("pain_increasing_after_24h", "time_unknown_escalates", U, f("pain", "worsening"), missing=HOURS),
    C("pain_increasing_after_24h", "message_time", U, f("pain", "worsening"), msg_hours=30),
    NOT("pain_increasing_after_24h", "record_wins_over_message", M, f("pain", "worsening"), hours=10, msg_hours=30),
    C("pain_increasing_after_24h", "record_wins_other_way", U, f("pain", "worsening"), hours=30, msg_hours=10),
    C("pain_increasing_after_24h", "trend_from_followup_answer", U, f("pain"), hours=30, overall="worsening"),
    C("throbbing_after_24h", "25h", U, f("throbbing"), hours=25),
    C("throbbing_after_24h", "time_unknown", U, f("throbbing")),
    NOT("throbbing_after_24h", "23h", M, f("throbbing"), hours=23),
    C("fever_reported", "word", U, f("fever"), hours=30),
    C("fever_reported", "with_normal_temp_still_fever_word", U, f("fever"), temp=37.2, hours=30),
    NOT("fever_reported", "denied", X, neg("fever"), hours=30),
    C("temperature_38_or_more", "38_0", U, temp=38.0, hours=30),
    C("temperature_39_5_or_more", "39_5", E, temp=39.5, hours=30),
    C("temperature_39_5_or_more", "40_with_spreading_redness", E, f("redness", "spreading"), temp=40.0, hours=50),
    NOT("temperature_39_5_or_more", "39_4", U, temp=39.4, hours=30),
    C("temperature_38_or_more", "39_fever_denied", U, neg("fever"), temp=39.0, hours=30),
    NOT("temperature_38_or_more", "37_9", M, temp=37.9, hours=30),
    NOT("temperature_38_or_more", "37_0", X, temp=37.0, hours=30),
    C("redness_spreading", "first_hours", U, f("redness", "spreading"), hours=3),
    C("redness_spreading", "time_unknown", U, f("redness", "spreading")),
    C("redness_spreading", "followup_answer", U, f("redness"), hours=3, overall="spreading"),
    C("warmth_increasing", "hotter", U, f("warmth", "increasing"), hours=5),
    C("warmth_increasing", "spreading_heat", U, f("warmth", "spreading"), hours=20),
    C("discharge_or_pus", "pus", U, f("discharge"), hours=30),
    C("discharge_or_pus", "pus_first_hour", U, f("discharge", "mild"), hours=1),
    NOT("discharge_or_pus", "no_pus_with_redness", N, neg("discharge"), f("redness"), hours=10),
    C("lump_large", "large", U, f("lump", "large"), hours=10),
    C("lump_large", "severe", U, f("lump", "severe"), hours=10),
    C("lump_painful", "with_pain", U, f("lump"), f("pain"), hours=10),
    C("lump_painful", "with_throbbing", U, f("lump"), f("throbbing"), hours=10),
    NOT("lump_painful", "pain_denied", M, f("lump"), neg("pain"), hours=10),
    C("bruising_excessive", "injections", U, f("bruising", "excessive"), hours=10, method="microinjection"),
    C("bruising_excessive", "large_combined", U, f("bruising", "large"), hours=10, method="combined"),
    C("bruising_excessive", "widespread_needling", U, f("bruising", "widespread"), hours=10, method="microneedling"),
    C("swelling_severe", "first_hours", U, f("swelling", "severe"), hours=5),
    C("swelling_severe", "large_time_unknown", U, f("swelling", "large")),
    C("swelling_sudden", "came_on_fast", U, f("swelling", "sudden"), hours=0.5),
    NOT("swelling_mild_expected", "sudden_is_not_mild", U, f("swelling", "sudden"), hours=0.5),
    C("swelling_beyond_72h", "exactly_72h", U, f("swelling"), hours=72),
    C("swelling_beyond_72h", "day_five", U, f("swelling", "mild"), hours=120),
    C("swelling_beyond_72h", "improving_still_prolonged", U, f("swelling", "improving"), hours=80),
    NOT("swelling_beyond_72h", "71_5h", M, f("swelling"), hours=71.5),
    NOT(
        "swelling_beyond_72h",
        "time_unknown_not_escalated",
        N,
        f("swelling"),
        missing=("hours_since_treatment", "trend"),
    ),
    # --- urgent: conservative where the guide is silent --------------------------------------------------------------
    C("pain_severe", "not_increasing", U, f("pain", "severe"), hours=2),
    C("pain_severe", "throbbing_excessive", U, f("throbbing", "excessive"), hours=2),
    C("pain_score_7_or_more", "7", U, f("pain"), pain=7, hours=5),
    C("pain_score_7_or_more", "10_without_pain_word", U, pain=10, hours=5),
    C("pain_score_7_or_more", "mild_word_high_score", U, f("pain", "mild"), pain=8, hours=5),
    NOT("pain_score_7_or_more", "6", M, f("pain"), pain=6, hours=5),
    C("redness_increasing_after_24h", "exactly_24h", U, f("redness", "worsening"), hours=24),
    C("redness_increasing_after_24h", "time_unknown", U, f("redness", "increasing")),
    NOT("redness_increasing_after_24h", "23_5h", M, f("redness", "worsening"), hours=23.5),
    C("swelling_increasing_after_24h", "30h", U, f("swelling", "worsening"), hours=30),
    C("swelling_increasing_after_24h", "time_unknown", U, f("swelling", "increasing")),
    NOT("swelling_increasing_after_24h", "10h", M, f("swelling", "worsening"), hours=10),
    C("symptom_spreading", "rash", U, f("rash", "spreading"), hours=10),
    C("symptom_spreading", "itching", U, f("itching", "spreading"), hours=10),
    C("symptom_spreading", "bruise_after_injection", U, f("bruising", "spreading"), hours=10, method="microinjection"),
    C("symptom_spreading", "acne", U, f("acne", "spreading"), hours=60),
    C("redness_beyond_72h", "exactly_72h", U, f("redness"), hours=72),
    C("redness_beyond_72h", "day_six", U, f("redness", "mild"), hours=144),
    NOT("redness_beyond_72h", "fading", M, f("redness", "improving"), hours=100),
    C("warmth_beyond_72h", "day_four", U, f("warmth"), hours=80),
    NOT("warmth_beyond_72h", "fading", M, f("warmth", "improving"), hours=80),
    C("pain_beyond_72h", "exactly_72h", U, f("pain"), hours=72),
    NOT("pain_beyond_72h", "easing", M, f("pain", "improving"), hours=100),
    C("redness_or_warmth_intense_first_48h", "redness_severe", M, f("redness", "severe"), hours=5),
    C("redness_or_warmth_intense_first_48h", "whole_face_red", M, f("redness", "widespread"), hours=5),
    C("redness_or_warmth_intense_first_48h", "very_hot_time_unknown", M, f("warmth", "severe")),
    NOT("redness_or_warmth_intense_first_48h", "intense_day_four_is_late", U, f("redness", "severe"), hours=80),
    NOT(
        "redness_or_warmth_intense_first_48h", "intense_and_spreading", U, f("redness", "severe", "spreading"), hours=5
    ),
    C("expected_reaction_severe", "peeling", U, f("peeling", "excessive"), hours=50),
    C("expected_reaction_severe", "itching", U, f("itching", "severe"), hours=10),
    C("expected_reaction_severe", "acne", U, f("acne", "widespread"), hours=60),
    C("expected_reaction_severe", "hair_shedding", U, f("hair_shedding", "excessive"), hours=200),
    C("expected_reaction_severe", "tightness", U, f("tightness", "severe"), hours=10),
    C("less_common_reaction_worsening", "itching", U, f("itching", "worsening"), hours=10),
    C("less_common_reaction_worsening", "acne", U, f("acne", "increasing"), hours=60),
    C("less_common_reaction_worsening", "sensitivity", U, f("sensitivity", "worsening"), hours=30),
    C("less_common_reaction_worsening", "hair", U, f("hair_shedding", "worsening"), hours=300),
    C("bruising_worsening", "after_injections", U, f("bruising", "worsening"), hours=30, method="microinjection"),
    C("bruising_after_microneedling_not_mild", "plain", U, f("bruising"), hours=10, method="microneedling"),
    C(
        "bruising_after_microneedling_not_mild",
        "moderate",
        U,
        f("bruising", "moderate"),
        hours=10,
        method="microneedling",
    ),
    C("bruising_after_microneedling_not_mild", "method_unknown", U, f("bruising"), hours=10),
    C(
        "bruising_after_microneedling_not_mild",
        "record_wins_over_message",
        U,
        f("bruising"),
        hours=10,
        method="microneedling",
        msg_method="microinjection",
    ),
    NOT(
        "bruising_after_microneedling_not_mild",
        "message_names_injections",
        M,
        f("bruising"),
        hours=10,
        msg_method="microinjection",
    ),
    C("lump_beyond_72h", "72h", U, f("lump"), hours=72),
    NOT("lump_beyond_72h", "71h", M, f("lump"), hours=71),
    C("bleeding_heavy", "first_hour", U, f("bleeding", "severe"), hours=1),
    C("bleeding_heavy", "excessive", U, f("bleeding", "excessive"), hours=3),
    NOT("bleeding_worsening", "still_there_at_2h_is_normal", N, f("bleeding", "persisting"), hours=2),
    C("bleeding_worsening", "increasing", U, f("bleeding", "increasing"), hours=2),
    C("bleeding_worsening", "getting_worse", U, f("bleeding", "worsening"), hours=2),
    C("bleeding_after_24h", "exactly_24h", U, f("bleeding"), hours=24),
    C("bleeding_after_24h", "day_three", U, f("bleeding", "mild"), hours=70),
    C("blistering", "plain", U, f("blistering"), hours=10),
    NOT("blistering", "denied", X, neg("blistering"), hours=10),
    C("emergency_skin_blanching", "dusky", E, f("skin_discolouration"), hours=2),
    C(
        "emergency_skin_blanching",
        "pale_day_five_with_pain",
        E,
        f("skin_discolouration"),
        f("pain", "severe"),
        hours=120,
    ),
    C("emergency_speech_change", "slurred", E, f("speech_change"), hours=1),
    C("cold_sore_after_treatment", "day_two", U, f("cold_sore"), hours=40),
    C("pain_score_rising", "two_to_six_after_leaving", U, f("pain"), hours=6, pain=6, pain_rise=4),
    NOT("pain_score_rising", "one_point", M, f("pain"), hours=6, pain=5, pain_rise=1),
    C("cold_sore_after_treatment", "time_unknown", U, f("cold_sore")),
    C("not_understood_eyes_breathing_swallowing_speech", "eyes", U, concern=("eyes",), hours=5),
    NOT("not_understood_eyes_breathing_swallowing_speech", "other_topic", X, concern=("other",), hours=5),
    C("post_inflammatory_redness", "one_week_some_redness", M, f("redness"), hours=168),
    C("post_inflammatory_redness", "four_weeks", M, f("redness", "mild"), hours=24 * 28),
    C("post_inflammatory_redness", "twelve_weeks_still_there", M, f("redness", "persisting"), hours=24 * 84),
    NOT("post_inflammatory_redness", "spreading_at_two_weeks", U, f("redness", "spreading"), hours=24 * 14),
    C("redness_not_fading_after_1_week", "day_ten_not_faded_at_all", U, f("redness", "not_improving"), hours=240),
    NOT(
        "redness_not_fading_after_1_week",
        "still_a_bit_red_at_two_weeks",
        M,
        f("redness", "mild", "persisting"),
        hours=24 * 14,
    ),
    NOT("post_inflammatory_redness", "severe_at_two_weeks", U, f("redness", "severe"), hours=24 * 14),
    C("numbness", "plain", U, f("numbness"), hours=30),
    C("rash", "plain", U, f("rash"), hours=30),
    NOT("rash", "denied_with_itching", M, neg("rash"), f("itching"), hours=30),
    C("hives", "local", U, f("hives"), hours=3),
    C("dizziness", "alone", U, f("dizziness"), hours=1),
    C("confusion_or_drowsiness", "alone", E, f("confusion"), hours=50),
    C("confusion_or_drowsiness", "with_fever", E, f("confusion"), f("fever"), hours=50),
    NOT("confusion_or_drowsiness", "denied", X, neg("confusion"), hours=50),
    C("headache", "scalp", U, f("headache"), hours=6),
    C(
        "earlier_symptom_worse",
        "redness_worse_on_day_one",
        U,
        f("redness", "worsening"),
        hours=20,
        earlier=(early("redness", 8),),
    ),
    C(
        "earlier_symptom_worse",
        "swelling_worse",
        U,
        f("swelling", "increasing"),
        hours=12,
        earlier=(early("swelling", 4),),
    ),
    NOT("earlier_symptom_worse", "no_history", M, f("redness", "worsening"), hours=20),
    NOT(
        "earlier_symptom_worse",
        "other_symptom_earlier",
        M,
        f("redness", "worsening"),
        hours=20,
        earlier=(early("swelling", 8),),
    ),
    C(
        "earlier_symptom_still_present_after_48h",
        "redness_50h",
        U,
        f("redness"),
        hours=50,
        earlier=(early("redness", 20),),
    ),
    C("earlier_symptom_still_present_after_48h", "time_unknown", U, f("swelling"), earlier=(early("swelling", 20),)),
    C(
        "earlier_symptom_still_present_after_48h",
        "itching",
        U,
        f("itching"),
        hours=60,
        earlier=(early("itching", 30, Level.MONITOR),),
    ),
    NOT(
        "earlier_symptom_still_present_after_48h",
        "improving",
        M,
        f("redness", "improving"),
        hours=50,
        earlier=(early("redness", 20),),
    ),
    NOT("earlier_symptom_still_present_after_48h", "47h", N, f("redness"), hours=47, earlier=(early("redness", 20),)),
    NOT(
        "earlier_symptom_still_present_after_48h",
        "earlier_is_later_than_now",
        M,
        f("redness"),
        hours=50,
        earlier=(early("redness", 60),),
    ),
    C(
        "earlier_symptom_still_present_after_14_days",
        "peeling",
        U,
        f("peeling"),
        hours=340,
        earlier=(early("peeling", 100),),
    ),
    NOT(
        "earlier_symptom_still_present_after_14_days",
        "peeling_day_12",
        N,
        f("peeling"),
        hours=300,
        earlier=(early("peeling", 100),),
    ),
    # An unsure intent escalates symptoms that are red flags on their own; redness or tightness were parsed with
    # their time and modifiers, which an unsure intent does not change.
    NOT("fail_closed_uncertain_red_flag", "redness", N, f("redness"), hours=5, uncertain=True),
    C("fail_closed_uncertain_red_flag", "hives", U, f("hives"), hours=5, uncertain=True),
    C(
        "fail_closed_uncertain_red_flag",
        "denied_pus_unsure",
        U,
        neg("discharge"),
        hours=5,
        uncertain=True,
        screen=("discharge",),
    ),
    NOT("fail_closed_uncertain_red_flag", "tightness", N, f("tightness"), hours=5, uncertain=True),
    C("fail_closed_uncertain_red_flag", "unknown_symptom", U, f("goosebumps"), hours=5, uncertain=True),
    NOT("fail_closed_uncertain_red_flag", "nothing_mentioned", X, hours=5, uncertain=True),
    NOT("fail_closed_uncertain_red_flag", "only_denials", X, neg("redness"), hours=5, uncertain=True),
    NOT("fail_closed_uncertain_red_flag", "confident", N, f("redness"), hours=5),
    C("screen_red_flag_word_unaccounted", "pus_missed", U, screen=("discharge",)),
    C("screen_red_flag_word_unaccounted", "fever_word_missed", U, f("redness"), hours=5, screen=("fever",)),
    C("screen_red_flag_word_unaccounted", "spreading_missed", U, f("redness"), hours=5, screen=("redness",)),
    C("screen_red_flag_word_unaccounted", "unbearable_missed", U, f("pain"), hours=5, screen=("pain",)),
    NOT("screen_red_flag_word_unaccounted", "no_pus_parsed", X, neg("discharge"), screen=("discharge",)),
    NOT("screen_red_flag_word_unaccounted", "temperature_measured", X, temp=37.0, screen=("fever",)),
    NOT(
        "screen_red_flag_word_unaccounted",
        "not_spreading_parsed",
        N,
        f("redness"),
        hours=5,
        screen=("redness",),
        denied=("spreading",),
    ),
    NOT(
        "screen_red_flag_word_unaccounted",
        "pus_parsed_judged_by_its_criterion",
        U,
        f("discharge"),
        screen=("discharge",),
    ),
    NOT(
        "screen_red_flag_word_unaccounted",
        "unbearable_parsed_as_severe",
        U,
        f("pain", "severe"),
        hours=5,
        screen=("pain",),
    ),
    C("symptom_not_covered", "unknown_symptom", U, f("goosebumps"), hours=5),
    NOT("symptom_not_covered", "pain_score_covers_pain", M, f("pain", "mild"), pain=5, hours=5),
    # --- monitor ----------------------------------------------------------------------------------------------
    C("bruising_after_injections", "microinjection", M, f("bruising"), hours=5, method="microinjection"),
    C("bruising_after_injections", "combined", M, f("bruising", "mild"), hours=30, method="combined"),
    C("bruising_after_injections", "fading", M, f("bruising", "improving"), hours=100, method="microinjection"),
    NOT("bruising_after_injections", "excessive", U, f("bruising", "excessive"), hours=5, method="microinjection"),
    C("bruising_mild_after_microneedling", "mild", M, f("bruising", "mild"), hours=10, method="microneedling"),
    C("bruising_mild_after_microneedling", "method_unknown", M, f("bruising", "mild"), hours=10),
    C("sensitivity_temporary", "stinging", M, f("sensitivity"), hours=10),
    NOT("sensitivity_temporary", "denied", X, neg("sensitivity"), hours=10),
    C("acne_breakout", "day_three", M, f("acne"), hours=60),
    C("itching", "plain", M, f("itching", "mild"), hours=30),
    C("hair_shedding", "scalp", M, f("hair_shedding"), hours=200),
    C("expected_reaction_persisting_48_to_72h", "redness_48h", M, f("redness"), hours=48),
    C("expected_reaction_persisting_48_to_72h", "swelling_60h", M, f("swelling", "mild"), hours=60),
    C("expected_reaction_persisting_48_to_72h", "warmth_71_5h", M, f("warmth"), hours=71.5),
    C("expected_reaction_persisting_48_to_72h", "tenderness_50h", M, f("pain", "mild"), hours=50),
    NOT("expected_reaction_persisting_48_to_72h", "redness_47_5h", N, f("redness"), hours=47.5),
    NOT("expected_reaction_persisting_48_to_72h", "time_unknown", N, f("redness")),
    C("expected_reaction_improving_after_72h", "redness_fading", M, f("redness", "improving"), hours=100),
    C("expected_reaction_improving_after_72h", "followup_better", M, f("warmth"), hours=80, overall="improving"),
    C("swelling_moderate_first_48h", "moderate", M, f("swelling", "moderate"), hours=10),
    C("swelling_moderate_first_48h", "moderate_time_unknown", M, f("swelling", "moderate")),
    C("pain_moderate", "moderate", M, f("pain", "moderate"), hours=5),
    C("pain_score_4_to_6", "4", M, f("pain"), pain=4, hours=5),
    C("pain_score_4_to_6", "6_without_pain_word", M, pain=6, hours=5),
    NOT("pain_score_4_to_6", "3", N, f("pain"), pain=3, hours=5),
    C("pain_increasing_first_24h", "10h", M, f("pain", "worsening"), hours=10),
    C("pain_increasing_first_24h", "23_9h", M, f("pain", "increasing"), hours=23.9),
    C("throbbing_first_24h", "5h", M, f("throbbing"), hours=5),
    C("redness_or_swelling_increasing_first_24h", "swelling", M, f("swelling", "increasing"), hours=5),
    C("redness_or_swelling_increasing_first_24h", "redness", M, f("redness", "worsening"), hours=12),
    C("bleeding_6_to_24h", "6h", M, f("bleeding"), hours=6),
    C("bleeding_6_to_24h", "23h", M, f("bleeding", "mild"), hours=23),
    NOT("bleeding_6_to_24h", "5_9h", N, f("bleeding"), hours=5.9),
    C("bleeding_time_unknown", "asks_time", M, f("bleeding"), missing=("hours_since_treatment", "trend")),
    C("lump_small_first_72h", "10h", M, f("lump"), hours=10),
    C("lump_small_first_72h", "time_unknown_asks", M, f("lump", "mild"), missing=("hours_since_treatment", "trend")),
    C("tightness_peeling_beyond_2_weeks", "336h", M, f("peeling"), hours=336),
    NOT("tightness_peeling_beyond_2_weeks", "335h", N, f("peeling"), hours=335),
    C("temperature_raised_below_38", "37_5", M, temp=37.5, hours=30),
    C("temperature_raised_below_38", "37_9", M, f("redness"), temp=37.9, hours=30),
    NOT("temperature_raised_below_38", "37_4", X, temp=37.4, hours=30),
    # --- normal ------------------------------------------------------------------------------------------------
    C("redness_expected", "first_hour", N, f("redness"), hours=1),
    C("redness_expected", "47h", N, f("redness", "mild"), hours=47),
    C("redness_expected", "time_unknown_asks", N, f("redness"), missing=("hours_since_treatment", "trend")),
    C("redness_expected", "still_there_30h", N, f("redness", "persisting"), hours=30),
    C("redness_expected", "improving_no_trend_question", N, f("redness", "improving"), hours=30, missing=()),
    NOT("redness_expected", "denied", X, neg("redness"), hours=30),
    C("swelling_mild_expected", "10h", N, f("swelling", "mild"), hours=10),
    C("swelling_mild_expected", "message_time", N, f("swelling"), msg_hours=20),
    C("warmth_expected", "5h", N, f("warmth"), hours=5),
    C("warmth_expected", "time_unknown", N, f("warmth")),
    C("tenderness_expected", "sore", N, f("pain"), hours=5),
    C("tenderness_expected", "score_2", N, f("pain", "mild"), pain=2, hours=5, missing=("trend",)),
    C("tenderness_expected", "score_3", N, f("pain"), pain=3, hours=20),
    C("pain_score_1_to_3", "score_only", N, pain=2, hours=5),
    C("pinpoint_bleeding_first_hours", "1h", N, f("bleeding"), hours=1),
    C("pinpoint_bleeding_first_hours", "5_5h", N, f("bleeding", "mild"), hours=5.5),
    C("tightness_peeling_expected", "tightness", N, f("tightness"), hours=30),
    C("tightness_peeling_expected", "peeling_day_four", N, f("peeling"), hours=100),
    C("tightness_peeling_expected", "time_unknown", N, f("peeling", "mild")),
    # --- combinations ------------------------------------------------------------------------------------------
    C("none", "no_findings", X),
    C("none", "all_denied", X, neg("redness"), neg("swelling"), neg("discharge"), hours=30),
    C("discharge_or_pus", "max_level_wins", U, f("redness"), f("discharge"), hours=5),
    C("fever_reported", "three_reds_one_flag", U, f("redness"), f("swelling"), f("warmth"), f("fever"), hours=10),
    C("expected_reaction_persisting_48_to_72h", "monitor_beats_normal", M, f("peeling"), f("redness"), hours=50),
]


def _case_id(case: Case) -> str:
    return f"{case.criterion}{'[absent]' if case.absent else ''}-{case.name}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_case(case: Case) -> None:
    decision = case.run()
    assert decision.level is case.level, decision
    if case.criterion != "none":
        CRITERIA.by_id(case.criterion)  # the case names a real criterion
        if case.absent:
            assert case.criterion not in decision.criteria, decision
        else:
            assert case.criterion in decision.criteria, decision
    else:
        assert decision.criteria == ()
    if case.missing is not None:
        assert decision.missing == case.missing, decision
    # Only findings the patient did not deny are reported back.
    assert all(not finding.negated for finding in decision.findings)


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 150
    assert len({_case_id(c) for c in CASES}) == len(CASES), "case ids must be unique"


def test_every_criterion_is_exercised() -> None:
    exercised = {c.criterion for c in CASES if not c.absent}
    missing = [c.id for c in CRITERIA if c.id not in exercised]
    assert not missing, f"criteria without a positive case: {missing}"
