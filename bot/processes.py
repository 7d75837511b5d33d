"""Child processes on loopback ports, for the end-to-end tests and the benchmark.

Each child gets its own process group (so stopping it also stops anything it spawned) and a log file; `wait_http`
polls a URL until it answers 200 and fails fast, with the log's tail, when the child dies first. `memory`
reads resident memory from /proc (Linux), summed over the child's process tree.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional

import httpx

from bot.settings import PROJECT_ROOT

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def action_server_args(port: int) -> List[str]:
    return [str(BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(port)]


def rasa_server_args(port: int, model: Path, endpoints: Path, credentials: Optional[Path] = None) -> List[str]:
    args = [str(BIN / "rasa"), "run", "--enable-api", "-i", "127.0.0.1", "-p", str(port), "-m", str(model),
            "--endpoints", str(endpoints)]
    if credentials is not None:
        args += ["--credentials", str(credentials)]
    return args


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log_path: Path
    spawned_at: float  # time.perf_counter()

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


class Processes:
    """The children started by one test session or one benchmark run. `stop_all()` (or `with`) ends them all."""

    def __init__(self, log_dir: Path, env: Optional[Mapping[str, str]] = None, cwd: Path = PROJECT_ROOT) -> None:
        self.log_dir = log_dir
        self.env = dict(env if env is not None else os.environ)
        self.cwd = cwd
        self.children: Dict[str, Child] = {}

    def __enter__(self) -> "Processes":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_all()

    def __getitem__(self, name: str) -> Child:
        return self.children[name]

    def spawn(self, name: str, args: List[str], env: Optional[Mapping[str, str]] = None,
              cwd: Optional[Path] = None) -> Child:
        if name in self.children and self.children[name].running():
            raise RuntimeError(f"{name} is already running")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with open(log_path, "ab") as log:
            process = subprocess.Popen(args, cwd=cwd or self.cwd, env={**self.env, **(env or {})}, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        child = self.children[name] = Child(name, process, log_path, time.perf_counter())
        return child

    def check_alive(self, name: str) -> None:
        child = self.children[name]
        if not child.running():
            raise RuntimeError(f"{name} exited (code {child.process.returncode}):\n{child.log_tail()}")

    def wait_http(self, name: str, url: str, timeout: float = 240.0, poll: float = 0.2,
                  on_wait: Optional[Callable[[], None]] = None) -> None:
        """Wait until GET `url` answers 200; raise (with the child's log) if the child exits or time runs out.
        `on_wait` is called before each further try (make run prints a progress dot)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive(name)
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if on_wait is not None:
                on_wait()
            time.sleep(poll)
        raise RuntimeError(f"{name} not ready after {timeout:.0f}s:\n{self.children[name].log_tail()}")

    def stop(self, name: str, timeout: float = 15.0) -> None:
        child = self.children.pop(name, None)
        if child is None or not child.running():
            return
        _signal_group(child.pid, signal.SIGTERM)
        try:
            child.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(child.pid, signal.SIGKILL)
            child.process.wait(timeout=5)

    def stop_all(self) -> None:
        # TERM everyone first, so the children shut down in parallel rather than one after the other.
        for child in self.children.values():
            if child.running():
                _signal_group(child.pid, signal.SIGTERM)
        for name in list(self.children):
            self.stop(name)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


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
    return {"rss_mib": round(sum(_status_kb(p, "VmRSS") for p in pids) / 1024, 1),
            "peak_rss_mib": round(sum(_status_kb(p, "VmHWM") for p in pids) / 1024, 1),
            "processes": len(pids)}


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
