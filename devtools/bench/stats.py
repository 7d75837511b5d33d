"""Percentiles and the event-order check, kept free of I/O so they are easy to test."""

from __future__ import annotations

import difflib
import math
from collections import Counter
from typing import Dict, Mapping, Optional, Sequence


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """Nearest-rank percentile (q in 0..100): always a value that was measured, None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(seconds: Sequence[float]) -> Dict[str, Optional[float]]:
    """count, p50/p95/p99 and max in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "count": len(ms),
        "p50_ms": _round(percentile(ms, 50)),
        "p95_ms": _round(percentile(ms, 95)),
        "p99_ms": _round(percentile(ms, 99)),
        "max_ms": _round(max(ms) if ms else None),
    }


def _round(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 1)


def ratio(numerator: Optional[float], denominator: Optional[float]) -> Optional[float]:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def compare_events(sent: Mapping[str, Sequence[str]], recorded: Mapping[str, Sequence[str]]) -> Dict[str, object]:
    """Each conversation's user messages as the tracker holds them against what was sent, in order.

    lost: sent but not in the tracker; extra: in the tracker more often than sent (duplicated);
    reordered: conversations holding exactly what was sent, but in another order.
    """
    lost = extra = reordered = 0
    bad = []
    for sender, texts in sent.items():
        held = list(recorded.get(sender, ()))
        texts = list(texts)
        if held == texts:
            continue
        bad.append(sender)
        if Counter(held) == Counter(texts):
            reordered += 1
            continue
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=texts, b=held, autojunk=False).get_opcodes():
            if tag in ("delete", "replace"):
                lost += i2 - i1
            if tag in ("insert", "replace"):
                extra += j2 - j1
    return {
        "conversations": len(sent),
        "messages": sum(len(t) for t in sent.values()),
        "conversations_wrong": len(bad),
        "lost": lost,
        "extra": extra,
        "reordered": reordered,
        "examples": bad[:5],
    }


def cpu_breakdown(before: Mapping, after: Mapping, messages: int) -> Dict[str, object]:
    """Where the CPU went between two snapshots ({"machine": {"busy", "total"}, "processes": {name: s}}).

    Percentages are of the whole machine (100 = every core busy). "rest_of_machine" is everything else that ran
    meanwhile: PostgreSQL, Redis, and any other work on the machine, which makes the other figures noisy."""
    total = after["machine"]["total"] - before["machine"]["total"]
    busy = after["machine"]["busy"] - before["machine"]["busy"]
    used = {name: after["processes"][name] - before["processes"][name] for name in after["processes"]}
    ours = sum(used.values())
    pct = (lambda seconds: round(100 * seconds / total, 1)) if total > 0 else (lambda seconds: None)
    return {
        "machine_busy_pct": pct(busy),
        "measured_processes_pct": pct(ours),
        "rest_of_machine_pct": pct(max(0.0, busy - ours)),
        "cpu_ms_per_message": {name: round(1000 * s / messages, 1) if messages else None for name, s in used.items()},
    }
