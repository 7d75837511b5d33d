"""Alert wording, buttons, reference line; the console messenger. (Retry timing: tests/unit/outbox.)"""

from __future__ import annotations

import asyncio
import datetime as dt
import io

from bot.delivery.alerts import Notifier
from bot.escalation import alerts
from bot.outbox.messenger import ConsoleMessenger

TREATED = dt.datetime(2026, 11, 23, 14, 30, tzinfo=dt.timezone.utc)
RECEIVED = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone.utc)


def context(**changes) -> alerts.AlertContext:
    values = dict(
        escalation_id=12,
        kind="initial",
        round=0,
        level="urgent",
        patient_name="Jane Patient",
        report_text="My cheeks are   red and there is yellow pus coming out, and it's getting worse",
        received_at=RECEIVED,
        findings=[
            {"symptom": "discharge", "severity": [], "trend": ["worsening"], "area": "cheeks"},
            {"symptom": "fever", "negated": True},
        ],
        criteria=["infection_signs"],
        treatment_at=TREATED,
        area="face",
        method="microneedling",
        product_batch="EX-42",
        treating_name="Dr Treating",
    )
    values.update(changes)
    return alerts.AlertContext(**values)


def test_initial_alert_has_what_a_practitioner_needs():
    text, buttons = alerts.render(context(), RECEIVED + dt.timedelta(minutes=2))
    assert text.splitlines()[0] == "⚠️ URGENT: aftercare alert"
    assert "Patient: Jane Patient" in text
    assert "Treatment: face, microneedling, 23 Nov 2026 14:30 UTC (day 2, 42 h 30 min ago), batch EX-42" in text
    assert "Findings: discharge (worsening, cheeks)" in text  # the negated fever is left out
    assert "Criteria: infection_signs" in text
    assert 'Patient wrote: "My cheeks are red and there is yellow pus' in text
    assert text.endswith("ref E12/initial/0")
    assert buttons == [("Acknowledge", "ack:12"), ("Resolve", "resolve:12")]


def test_reminder_and_backup_headlines():
    now = RECEIVED + dt.timedelta(minutes=20)
    assert alerts.render(context(kind="realert", round=2, level="emergency"), now)[0].startswith(
        "🚨 EMERGENCY (reminder 2): still not acknowledged after 20 min"
    )
    assert "Dr Treating has not acknowledged after 20 min" in alerts.render(context(kind="backup", round=1), now)[0]


def test_patient_notice_has_no_buttons_and_no_clinical_detail():
    text, buttons = alerts.render(
        context(
            kind="patient_ack_notice",
            acknowledged_by_name="Dr Treating",
            clinic_name="Glow Clinic",
            emergency_number="999",
        ),
        RECEIVED,
    )
    assert buttons is None
    assert text.startswith("Dr Treating at Glow Clinic has seen your message")
    assert "999" in text and "pus" not in text
    assert alerts.parse_alert_ref(text) is None  # staff-side reference lines are not shown to patients


def test_long_words_are_truncated_at_a_word_boundary():
    long_text = "swelling " * 100
    truncated = alerts.truncate_words(long_text, 50)
    assert len(truncated) <= 50 and truncated.endswith("…") and "swel…" not in truncated
    assert alerts.truncate_words("short\n text", 50) == "short text"


def test_reference_round_trips():
    assert alerts.parse_alert_ref("blah\nref E7/backup/1") == (7, "backup", 1)
    assert alerts.parse_alert_ref("no reference") is None


def test_alert_without_treatment_on_record():
    text, _ = alerts.render(context(treatment_at=None, area=None, method=None), RECEIVED)
    assert "Treatment: not on record" in text


def test_console_messenger_prints_a_box():
    stream = io.StringIO()
    messenger = ConsoleMessenger(stream, width=60)
    text, buttons = alerts.render(context(), RECEIVED)
    message_id = asyncio.run(messenger.send_alert(1001, text, buttons))
    printed = stream.getvalue().strip().splitlines()
    assert message_id == "console-1"
    assert printed[0].startswith("┌─ message to chat 1001") and printed[-1].startswith("└")
    assert all(line.startswith("│") for line in printed[1:-1])
    assert any("[Acknowledge: ack:12]" in line for line in printed)


def test_minimal_alert_keeps_reference_and_buttons():
    text, buttons = alerts.render_minimal(5, "backup", 1)
    assert alerts.parse_alert_ref(text) == (5, "backup", 1) and buttons == alerts.action_buttons(5)
    text, buttons = alerts.render_minimal(5, "patient_ack_notice", 0)
    assert buttons is None and "#5" not in text


def test_notifier_from_settings_uses_the_clinic_policy():
    from bot.settings import Settings

    settings = Settings.from_env({"ESCALATION_REALERT_MINUTES": "7", "CLINIC_NAME": "Glow"})
    notifier = Notifier.from_settings(settings, session_factory=None, messenger=None)
    assert notifier.policy.realert_after == dt.timedelta(minutes=7) and notifier.clinic_name == "Glow"


# Pre-treatment screening alerts ------------------------------------------------------------------------------------
def test_screening_alert_names_patient_appointment_and_only_the_items_to_review():
    ctx = alerts.ScreeningAlertContext(
        screening_id=4,
        kind="screening",
        round=0,
        patient_id=9,
        patient_name="Jane Patient",
        phone="07700 900123",
        completed_at=RECEIVED,
        to_review=[("blood_thinners", "yes"), ("pregnancy", "unsure")],
        appointment_at=dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.timezone.utc),
        area="face",
        method="combined",
    )
    text, buttons = alerts.render_screening(ctx)
    assert buttons is None
    assert text.splitlines() == [
        "📋 Pre-treatment screening: please review before the appointment",
        "Patient: Jane Patient (#9), 07700 900123",
        "Appointment: 03 Dec 2026 10:00 UTC, face, combined",
        "- anticoagulants or omega-3 / ginkgo / vitamin E supplements: yes",
        "- pregnant or breastfeeding: not sure",
        "Answered 25 Nov 2026 09:00 UTC",
        "ref S4/screening/0",
    ]


def test_screening_alert_without_appointment_and_the_minimal_fallback():
    ctx = alerts.ScreeningAlertContext(
        screening_id=5,
        kind="screening",
        round=0,
        patient_id=9,
        patient_name="Jo",
        completed_at=RECEIVED,
        to_review=[("keloid", "yes")],
    )
    assert "Appointment: none on record" in alerts.render_screening(ctx)[0]
    text, buttons = alerts.render_minimal_screening(5, "screening", 0)
    assert text.endswith("ref S5/screening/0") and buttons is None
