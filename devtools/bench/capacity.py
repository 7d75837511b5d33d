"""Cores a clinic group needs per 1,000 active patients, from the CPU each message costs (make bench).

The load comes from the check-in schedule (CHECKIN_SCHEDULE_HOURS): every check-in is answered with one short
conversation, and a patient also writes on their own a few times, mostly in the first days. What is assumed is
written down here, with the figure it gives, so a clinic can redo the sum with its own numbers:

- a conversation is as long as the benchmark's (its scripts' mean number of patient messages);
- 2 conversations a patient starts on their own, both in the first week;
- the day's messages arrive in 12 waking hours, and the busiest hour brings twice that hour's average;
- a core is planned at 60 % busy, so that replies stay quick at the peak.

Two populations: patients anywhere in the programme (first check-in to the last), and the heavier first week.
The CPU is the assistant's own processes: Rasa worker and action server (from the sustained REST run) and the
Telegram gateway (from the Telegram run, less what it spends polling when idle, measured just before). PostgreSQL
and Redis come on top (the bench's "rest of the machine").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence

OWN_CONVERSATIONS = 2
WAKING_HOURS = 12.0
PEAK_HOUR_FACTOR = 2.0
PLANNED_UTILISATION = 0.6
FIRST_WEEK_HOURS = 168


@dataclass(frozen=True)
class Capacity:
    messages_per_patient_day: float
    peak_messages_per_s_per_1000: float
    cores_per_1000: float
    patients_per_core: int


def _capacity(messages_per_patient_day: float, cpu_ms_per_message: float) -> Capacity:
    per_day_1000 = 1000 * messages_per_patient_day
    peak_per_s = per_day_1000 / (WAKING_HOURS * 3600) * PEAK_HOUR_FACTOR
    cores = peak_per_s * cpu_ms_per_message / 1000 / PLANNED_UTILISATION
    return Capacity(
        round(messages_per_patient_day, 2),
        round(peak_per_s, 4),
        round(cores, 4),
        int(1000 / cores) if cores > 0 else 0,
    )


def plan(
    server_cpu_ms: Optional[float],
    gateway_cpu_ms: Optional[float],
    checkin_schedule_hours: Sequence[int],
    messages_per_conversation: float,
) -> Optional[Dict[str, object]]:
    """Cores per 1,000 active patients for the whole programme and for the first week; None without a CPU figure."""
    if not server_cpu_ms or not checkin_schedule_hours:
        return None
    cpu_ms_per_message = server_cpu_ms + (gateway_cpu_ms or 0.0)
    programme_days = max(max(checkin_schedule_hours) / 24, 1.0)
    conversations = len(checkin_schedule_hours) + OWN_CONVERSATIONS
    first_week = sum(1 for hours in checkin_schedule_hours if hours <= FIRST_WEEK_HOURS) + OWN_CONVERSATIONS
    return {
        "cpu_ms_per_message": round(cpu_ms_per_message, 1),
        "server_cpu_ms": round(server_cpu_ms, 1),
        "gateway_cpu_ms": None if gateway_cpu_ms is None else round(gateway_cpu_ms, 1),
        "checkin_schedule_hours": list(checkin_schedule_hours),
        "messages_per_conversation": round(messages_per_conversation, 2),
        "assumptions": {
            "own_conversations": OWN_CONVERSATIONS,
            "waking_hours": WAKING_HOURS,
            "peak_hour_factor": PEAK_HOUR_FACTOR,
            "planned_utilisation": PLANNED_UTILISATION,
        },
        "programme": _capacity(conversations * messages_per_conversation / programme_days, cpu_ms_per_message).__dict__,
        "first_week": _capacity(first_week * messages_per_conversation / 7, cpu_ms_per_message).__dict__,
    }


def _or_unmeasured(value: Optional[float]) -> str:
    return "not measured" if value is None else f"{value}"


def lines(capacity: Optional[Dict[str, object]]) -> Sequence[str]:
    """The table's section."""
    if not capacity:
        return ["Capacity: no CPU figure for our assistant in this run"]
    a = capacity["assumptions"]
    out = [
        f"Capacity (at {capacity['cpu_ms_per_message']} ms of CPU per message: Rasa worker + action server "
        f"{capacity['server_cpu_ms']}, Telegram gateway {_or_unmeasured(capacity['gateway_cpu_ms'])}; "
        f"check-ins at {', '.join(str(h) for h in capacity['checkin_schedule_hours'])} h, each answered in "
        f"{capacity['messages_per_conversation']} messages, {a['own_conversations']} conversations of the patient's "
        f"own; a day's messages in {a['waking_hours']:g} h, peak hour x{a['peak_hour_factor']:g}, cores "
        f"{a['planned_utilisation']:.0%} busy):",
    ]
    for key, label in (
        ("programme", "patients anywhere in the programme"),
        ("first_week", "patients in their first week"),
    ):
        c = capacity[key]
        out.append(
            f"  {label:<36} {c['messages_per_patient_day']:>6} messages/patient/day, peak "
            f"{c['peak_messages_per_s_per_1000']:.3f} messages/s per 1,000: {c['cores_per_1000']:.3f} cores per "
            f"1,000 patients ({c['patients_per_core']:,} patients per core)"
        )
    out.append("  PostgreSQL and Redis come on top.")
    if capacity["first_week"]["patients_per_core"] >= 10_000:
        out.append(
            "  At these figures CPU does not limit a clinic group: each Rasa worker's memory (above) does, and two "
            "workers are the least for a restart without silence."
        )
    return out
