"""The benchmark's printed table, built from the JSON result (so the two never disagree)."""

from __future__ import annotations

from typing import Dict, List, Optional

from devtools.bench import capacity

TARGETS = {
    "ours_stock_rest_p95": ("ours/stock REST p95", "<=", 1.2),
    "cpu_ms_per_message_ours_stock": ("CPU per message ours/stock", "<=", 1.1),
    "throughput_ours_stock": ("throughput ours/stock", ">=", 1.0),
    "rasa_worker_memory_ours_stock": ("memory per Rasa worker ours/stock", "<=", 1.0),
    "telegram_adds_p95_ms": ("Telegram path adds to REST p95 (ms, same minutes)", "<=", 30.0),
    "alert_after_reply_p95_ms": ("alert after the patient's reply, p95 (ms)", "<=", 50.0),
    "two_workers_one": ("throughput two workers/one", ">=", 1.7),
    "events_wrong": ("lost + extra + reordered events", "<=", 0),
}


def verdicts(result: Dict) -> List[Dict]:
    out = []
    for key, (label, sense, target) in TARGETS.items():
        value = result["summary"].get(key)
        met = None if value is None else (value <= target if sense == "<=" else value >= target)
        out.append({"key": key, "label": label, "value": value, "target": f"{sense} {target:g}", "met": met})
    return out


def _f(value: Optional[float], digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _latency_row(label: str, summary: Optional[Dict]) -> str:
    if not summary:
        return f"  {label:<40}{'skipped':>8}"
    return (
        f"  {label:<40}{summary['count']:>8}{_f(summary['p50_ms']):>10}{_f(summary['p95_ms']):>10}"
        f"{_f(summary['p99_ms']):>10}"
    )


def table(result: Dict) -> str:
    m, load = result["machine"], result["load"]
    git = m["git"]
    lines = [
        f"Aftercare benchmark ({'quick' if load['quick'] else 'full'}) - {result['started_at']}",
        f"Machine: {m['cores']} cores, {m['cpu']}, {m['memory_gib']} GiB; load average at start "
        f"{', '.join(f'{x:.2f}' for x in m['load_average_at_start'])}",
        f"Versions: python {m['python']}, rasa {m['rasa']}, rasa-sdk {m['rasa_sdk']}, PTB {m['python_telegram_bot']}; "
        f"commit {git['commit'][:10]}{' (uncommitted changes)' if git['dirty'] else ''} on {git['branch']}",
        f"Stores: {result['stores']}",
        "",
        f"Reply latency (ms)                      {'n':>8}{'p50':>10}{'p95':>10}{'p99':>10}",
    ]
    ours, stock = result["ours"], result.get("stock") or {}
    lines.append(_latency_row("ours, REST (1 worker)", ours["rest_latency"]))
    tg = ours.get("telegram") or {}
    lines.append(_latency_row("ours, REST, between the Telegram ones", tg.get("rest_same_minutes")))
    lines.append(_latency_row("ours, Telegram path, first message", tg.get("first_message")))
    lines.append(_latency_row("ours, Telegram path, whole reply", tg.get("whole_reply")))
    lines.append(_latency_row("  of which update to 'typing…' (gateway)", tg.get("update_to_typing")))
    lines.append(_latency_row("stock rasa init, REST", stock.get("rest_latency")))
    alerts = tg.get("alerts") or {}
    lines += [
        "",
        f"Practitioner alert (ms)                 {'n':>8}{'p50':>10}{'p95':>10}{'p99':>10}",
        _latency_row("after the patient's update", alerts.get("after_patient_update")),
        _latency_row("after the patient's reply", alerts.get("after_patient_reply")),
        f"  red flags sent {alerts.get('red_flags', 0)}, alerts missing {alerts.get('missing', 0)}",
    ]

    levels = sorted(
        {lvl["concurrency"] for key in ("throughput_1_worker", "throughput_2_workers") for lvl in ours.get(key, [])}
        | {lvl["concurrency"] for lvl in stock.get("throughput", [])}
    )
    lines += ["", "Throughput (messages/s; errors)  concurrent patients: " + "".join(f"{c:>14}" for c in levels)]
    for label, runs in (
        ("stock rasa init, 1 worker", stock.get("throughput")),
        ("ours, 1 worker", ours.get("throughput_1_worker")),
        ("ours, 2 workers (round-robin)", ours.get("throughput_2_workers")),
    ):
        by_level = {lvl["concurrency"]: lvl for lvl in runs or []}
        cells = "".join(
            f"{_f(by_level[c]['messages_per_s']) + ' (' + str(by_level[c]['errors']) + ')':>14}"
            if c in by_level
            else f"{'-':>14}"
            for c in levels
        )
        lines.append(f"  {label:<53}{cells}")

    lines.append(
        "  CPU at each run's best level (% of all cores; the rest of the machine includes PostgreSQL, Redis "
        "and any other work):"
    )
    for label, runs in (
        ("stock", stock.get("throughput")),
        ("ours, 1 worker", ours.get("throughput_1_worker")),
        ("ours, 2 workers", ours.get("throughput_2_workers")),
    ):
        top = max(runs or [], key=lambda lvl: lvl["messages_per_s"], default=None)
        if top and top.get("cpu"):
            cpu = top["cpu"]
            per_message = ", ".join(f"{name} {_f(ms)}" for name, ms in cpu["cpu_ms_per_message"].items())
            lines.append(
                f"    {label}: machine busy {_f(cpu['machine_busy_pct'])}%, measured processes "
                f"{_f(cpu['measured_processes_pct'])}%, rest {_f(cpu['rest_of_machine_pct'])}%; "
                f"CPU ms per message: {per_message}"
            )
    events = ours.get("events") or {}
    lines += [
        "",
        f"Event check (trackers vs what was sent): {events.get('conversations', 0)} conversations, "
        f"{events.get('messages', 0)} messages; lost {events.get('lost')}, extra {events.get('extra')}, "
        f"reordered {events.get('reordered')}; skipped after request errors "
        f"{events.get('conversations_skipped_after_errors')}",
    ]

    lines += ["", *capacity.lines(result.get("capacity"))]

    lines += ["", f"Process                                 {'RSS MiB':>10}{'peak MiB':>10}{'start s':>10}"]
    for name, info in result["processes"].items():
        mem = info.get("memory") or {}
        lines.append(
            f"  {name:<38}{_f(mem.get('rss_mib')):>10}{_f(mem.get('peak_rss_mib')):>10}{_f(info.get('startup_s')):>10}"
        )
    lines.append("  (start s: from spawning the process, with its dependencies, to its first answered message)")
    training = result.get("training") or {}
    lines += [
        "",
        "Training (fresh, --force): "
        + (
            ", ".join(
                f"{name} {_f(value.get('seconds'))} s"
                if value.get("seconds") is not None
                else f"{name} {value.get('note')}"
                for name, value in training.items()
            )
            or "skipped"
        ),
    ]

    lines += ["", "Targets"]
    for v in result["verdicts"]:
        state = "n/a" if v["met"] is None else ("met" if v["met"] else "MISSED")
        lines.append(f"  {v['label']:<52}{_f(v['value'], 2):>10}  target {v['target']:<8} {state}")
    adds_p50 = result["summary"].get("telegram_adds_p50_ms")
    if adds_p50 is not None:
        lines.append(
            f"  (not a target) Telegram path adds to REST p50: {adds_p50:.1f} ms; a p95 of a few dozen "
            "turns on a busy machine is mostly noise"
        )
    ceiling = result["summary"].get("two_workers_one_ceiling")
    if ceiling is not None:
        lines.append(
            f"  (limit) two workers/one cannot pass {ceiling:.2f} on {result['machine']['cores']} cores: the workers "
            "share them with the action server, PostgreSQL, Redis and the load client (cores / CPU per message "
            "of everything, at the one-worker run's figures)"
        )
    for note in result.get("notes", []):
        lines.append(f"Note: {note}")
    return "\n".join(lines)
