"""Alert texts. Pure functions from an `AlertContext` to (text, buttons).

Written for a busy practitioner reading a phone notification: the level and patient first, then the treatment,
what was found, and the patient's own words. Plain text (no Markdown), so nothing a patient types can break
the formatting.

Every message ends with a reference line ("ref E12/initial/0": escalation, kind, round). It lets staff quote an
alert, and it makes a re-sent message recognisable as the same alert (the notifier delivers at least once).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

Buttons = List[Tuple[str, str]]

PATIENT_WORDS_LIMIT = 280
_REF_PATTERN = re.compile(r"ref E(\d+)/(\w+)/(\d+)")
_ANSWER_WORDS = {"yes": "yes", "unsure": "not sure"}

_LEVEL_HEADERS = {
    "emergency": "🚨 EMERGENCY",
    "urgent": "⚠️ URGENT",
}


@dataclass(frozen=True)
class AlertContext:
    """Everything an alert shows. Loaded from the records by bot.views.alert_context()."""

    escalation_id: int
    kind: str  # initial | realert | backup | failover | patient_ack_notice | unreachable_notice
    round: int
    level: str
    patient_name: str
    report_text: str
    received_at: dt.datetime
    findings: Sequence[dict] = ()
    criteria: Sequence[str] = ()
    treatment_at: Optional[dt.datetime] = None
    area: Optional[str] = None
    method: Optional[str] = None
    product_batch: Optional[str] = None
    treating_name: Optional[str] = None
    acknowledged_by_name: Optional[str] = None
    photo_count: int = 0
    # Telegram file ids of the report's and the escalation's photos, oldest first: sent after a practitioner's alert.
    photo_file_ids: Sequence[str] = ()
    clinic_name: str = "the clinic"
    emergency_number: str = "your local emergency number"
    clinic_phone: str = "the clinic's phone number"
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ScreeningAlertContext:
    """A pre-treatment screening a practitioner must review (bot.views.screening_alert_context)."""

    screening_id: int
    kind: str  # screening
    round: int
    patient_id: int
    patient_name: str
    completed_at: dt.datetime
    to_review: Sequence[Tuple[str, str]]  # (item key, "yes" | "unsure"), in question order
    phone: Optional[str] = None
    appointment_at: Optional[dt.datetime] = None
    area: Optional[str] = None
    method: Optional[str] = None


def alert_ref(escalation_id: int, kind: str, round_: int) -> str:
    return f"ref E{escalation_id}/{kind}/{round_}"


def parse_alert_ref(text: str) -> Optional[Tuple[int, str, int]]:
    """(escalation_id, kind, round) from a message's reference line, or None."""
    match = _REF_PATTERN.search(text)
    if not match:
        return None
    return int(match.group(1)), match.group(2), int(match.group(3))


def action_buttons(escalation_id: int) -> Buttons:
    """Inline buttons; the gateway routes the callback data `ack:<id>` / `resolve:<id>`."""
    return [("Acknowledge", f"ack:{escalation_id}"), ("Resolve", f"resolve:{escalation_id}")]


def render(ctx: AlertContext, now: dt.datetime) -> Tuple[str, Optional[Buttons]]:
    """The message for a delivery of any kind."""
    if ctx.kind == "patient_ack_notice":
        return render_patient_ack_notice(ctx), None
    if ctx.kind == "unreachable_notice":
        return render_unreachable_notice(ctx.clinic_phone, ctx.emergency_number, ctx.clinic_name), None
    return render_practitioner_alert(ctx, now), action_buttons(ctx.escalation_id)


def render_practitioner_alert(ctx: AlertContext, now: dt.datetime) -> str:
    lines = [_headline(ctx, now), f"Patient: {ctx.patient_name}"]
    lines.append(f"Treatment: {_treatment_line(ctx)}")
    findings = _findings_line(ctx.findings)
    if findings:
        lines.append(f"Findings: {findings}")
    if ctx.criteria:
        lines.append(f"Criteria: {', '.join(ctx.criteria)}")
    lines.append(f'Patient wrote: "{truncate_words(ctx.report_text, PATIENT_WORDS_LIMIT)}"')
    if ctx.photo_count:
        lines.append(f"Photos: {ctx.photo_count}")
    lines.append(f"Received {_when(ctx.received_at)} ({_ago(now - ctx.received_at)} ago)")
    lines.append(alert_ref(ctx.escalation_id, ctx.kind, ctx.round))
    return "\n".join(lines)


def photo_captions(escalation_id: int, count: int) -> List[str]:
    """The captions of the photos sent after an alert: "E12 · photo 1 of 2 from the patient"."""
    return [f"E{escalation_id} · photo {index} of {count} from the patient" for index in range(1, count + 1)]


def render_forwarded_photo(escalation_id: int, round_: int) -> str:
    """The caption of a photo the patient sent after the alert (a delivery of kind "photo", round = photo id)."""
    return f"Photo from the patient of escalation E{escalation_id} ({alert_ref(escalation_id, 'photo', round_)})"


def render_screening(ctx: ScreeningAlertContext) -> Tuple[str, Optional[Buttons]]:
    """Short and neutral: who, when, which answers need a look. No buttons: nothing to acknowledge in the bot,
    the practitioner reviews (and may call the patient) before the appointment."""
    from bot.screening.items import item  # pure, and only needed here

    lines = [
        "📋 Pre-treatment screening: please review before the appointment",
        f"Patient: {ctx.patient_name} (#{ctx.patient_id})" + (f", {ctx.phone}" if ctx.phone else ""),
    ]
    if ctx.appointment_at is not None:
        lines.append(f"Appointment: {_when(ctx.appointment_at)}, {ctx.area or '?'}, {ctx.method or '?'}")
    else:
        lines.append("Appointment: none on record")
    for key, answer in ctx.to_review:
        lines.append(f"- {item(key).staff_label}: {_ANSWER_WORDS.get(answer, answer)}")
    lines.append(f"Answered {_when(ctx.completed_at)}")
    lines.append(screening_ref(ctx.screening_id, ctx.kind, ctx.round))
    return "\n".join(lines), None


def screening_ref(screening_id: int, kind: str, round_: int) -> str:
    return f"ref S{screening_id}/{kind}/{round_}"


def render_minimal_screening(screening_id: int, kind: str, round_: int) -> Tuple[str, Optional[Buttons]]:
    """Used when the record could not be read: better a bare "please review" than nothing."""
    return (
        f"A pre-treatment screening needs review (details could not be loaded; see `aftercare export`).\n"
        f"{screening_ref(screening_id, kind, round_)}",
        None,
    )


def render_minimal(
    escalation_id: int,
    kind: str,
    round_: int,
    clinic_phone: str = "the clinic's phone number",
    emergency_number: str = "your local emergency number",
) -> Tuple[str, Optional[Buttons]]:
    """Used when the record could not be read to word the alert: better a bare alert than none."""
    if kind == "patient_ack_notice":
        return "The clinic has seen your message and will be in touch with you shortly.", None
    if kind == "unreachable_notice":
        return render_unreachable_notice(clinic_phone, emergency_number), None
    text = (
        f"Aftercare escalation #{escalation_id} needs attention (details could not be loaded; "
        f"see `aftercare escalations`)."
    )
    return f"{text}\n{alert_ref(escalation_id, kind, round_)}", action_buttons(escalation_id)


def render_patient_ack_notice(ctx: AlertContext) -> str:
    who = ctx.acknowledged_by_name or "Your practitioner"
    return (
        f"{who} at {ctx.clinic_name} has seen your message and will be in touch with you shortly.\n"
        f"If you get worse before then (for example trouble breathing, or swelling of the lips, tongue or "
        f"throat), call {ctx.emergency_number} straight away."
    )  # no reference line: it is for staff-side deduplication and would only puzzle a patient


def render_unreachable_notice(clinic_phone: str, emergency_number: str, clinic_name: str = "the clinic") -> str:
    """To the patient when no practitioner could be reached on Telegram: what really happened and what to do.
    It must never read as if somebody had been told."""
    return (
        f"Important: we could not reach a practitioner about your message. Nobody at {clinic_name} has seen it "
        f"yet, so please do not wait for a call back.\n"
        f"Call the clinic now on {clinic_phone}. If it is an emergency (for example trouble breathing, swelling "
        f"of the lips, tongue or throat, or a change in your sight), call {emergency_number} straight away."
    )  # no reference line, as for the acknowledgement notice


def truncate_words(text: str, limit: int) -> str:
    """Collapse whitespace and cut at a word boundary, marking the cut with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "…"


# Pieces -----------------------------------------------------------------------------------------------------
def _headline(ctx: AlertContext, now: dt.datetime) -> str:
    level = _LEVEL_HEADERS.get(ctx.level, ctx.level.upper())
    if ctx.kind == "realert":
        return f"{level} (reminder {ctx.round}): still not acknowledged after {_ago(now - ctx.received_at)}"
    if ctx.kind == "failover":
        return f"{level} (you are next): the practitioner alerted first could not be reached on Telegram"
    if ctx.kind == "backup":
        treating = ctx.treating_name or "the treating practitioner"
        return f"{level} (backup): {treating} has not acknowledged after {_ago(now - ctx.received_at)}"
    return f"{level}: aftercare alert"


def _treatment_line(ctx: AlertContext) -> str:
    if ctx.treatment_at is None:
        return "not on record"
    # Counted to when the patient wrote: what matters clinically is how far after treatment the symptom was.
    elapsed = ctx.received_at - ctx.treatment_at
    day = elapsed.days + 1  # the day of treatment is "day 1"
    parts = [ctx.area or "?", ctx.method or "?", f"{_when(ctx.treatment_at)} (day {day}, {_ago(elapsed)} ago)"]
    if ctx.product_batch:
        parts.append(f"batch {ctx.product_batch}")
    return ", ".join(parts)


def _findings_line(findings: Sequence[dict]) -> str:
    items = []
    for finding in findings:
        if finding.get("negated"):
            continue
        name = str(finding.get("symptom", "?")).replace("_", " ")
        modifiers = list(finding.get("severity") or ()) + list(finding.get("trend") or ())
        if finding.get("area"):
            modifiers.append(str(finding["area"]))
        items.append(f"{name} ({', '.join(modifiers)})" if modifiers else name)
    return "; ".join(items)


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%d %b %Y %H:%M UTC")


def _ago(delta: dt.timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"
