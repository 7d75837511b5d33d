"""Measuring processes from /proc (Linux), for the benchmark (devtools/bench) and the tests: resident memory and
CPU time of a process summed over its process tree, and the whole machine's CPU time. Starting and stopping them
is bot/run/processes.py.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List


def _descendants(pid: int) -> List[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                queue.extend(int(p) for p in (task / "children").read_text().split())
            except OSError:
                continue
    return found


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(pid: int) -> Dict[str, float]:
    """Resident memory of a process and its descendants, in MiB: now (VmRSS) and the peak (VmHWM)."""
    pids = _descendants(pid)
    return {
        "rss_mib": round(sum(_status_kb(p, "VmRSS") for p in pids) / 1024, 1),
        "peak_rss_mib": round(sum(_status_kb(p, "VmHWM") for p in pids) / 1024, 1),
        "processes": len(pids),
    }


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int, with_descendants: bool = True) -> float:
    """User + system CPU time a process (and, by default, its descendants) has used so far."""
    total = 0
    for p in _descendants(pid) if with_descendants else [pid]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of the full line)
        except (OSError, IndexError, ValueError):
            continue
    return total / _TICKS


def machine_cpu_seconds() -> Dict[str, float]:
    """CPU time of the whole machine so far, all cores together: busy and total (from /proc/stat)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return {"busy": 0.0, "total": 0.0}
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return {"busy": (sum(values[:8]) - idle) / _TICKS, "total": sum(values[:8]) / _TICKS}
