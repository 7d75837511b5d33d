"""Child processes on loopback ports, for `make run` (bot.run.launcher), the end-to-end tests and the benchmark.

Each child gets its own process group (so stopping it also stops anything it spawned) and a log file; `wait_http`
polls a URL until it answers 200 and fails fast, with the log's tail, when the child dies first. `Supervisor`
restarts children that exit, with exponential backoff (make run). Measuring them (memory, CPU time) is the
benchmark's business: devtools/processes.py.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence

import httpx

from bot.settings import PROJECT_ROOT

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def action_server_args(port: int) -> List[str]:
    """Our action server (bot/run/action_server.py): `rasa run actions`'s application on 127.0.0.1, refusing requests
    without the shared secret, which it reads from ACTION_SERVER_TOKEN in its environment (never from here)."""
    return [sys.executable, "-m", "bot.run.action_server", "--port", str(port)]


def rasa_server_args(
    port: int, model: Path, endpoints: Path, credentials: Optional[Path] = None, enable_api: bool = False
) -> List[str]:
    """Rasa on loopback. Without `enable_api` (make run, the tests) only the channels' webhooks are served: no
    tracker reads or writes, no model loading from a URL. The benchmark turns the API on to read trackers back;
    Rasa then takes no token from the environment, so it is open to local processes while the benchmark runs."""
    args = [
        str(BIN / "rasa"),
        "run",
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-m",
        str(model),
        "--endpoints",
        str(endpoints),
    ]
    if enable_api:
        args.insert(2, "--enable-api")
    if credentials is not None:
        args += ["--credentials", str(credentials)]
    return args


# Rasa's REST channel answers GET here once the model is loaded (the server only listens after loading it): the
# readiness URL that works without --enable-api (whose /status is gone then).
RASA_READY_PATH = "/webhooks/rest/"


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

    def spawn(
        self, name: str, args: List[str], env: Optional[Mapping[str, str]] = None, cwd: Optional[Path] = None
    ) -> Child:
        if name in self.children and self.children[name].running():
            raise RuntimeError(f"{name} is already running")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                args,
                cwd=cwd or self.cwd,
                env={**self.env, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        child = self.children[name] = Child(name, process, log_path, time.perf_counter())
        return child

    def check_alive(self, name: str) -> None:
        child = self.children[name]
        if not child.running():
            raise RuntimeError(f"{name} exited (code {child.process.returncode}):\n{child.log_tail()}")

    def wait_http(
        self,
        name: str,
        url: str,
        timeout: float = 240.0,
        poll: float = 0.2,
        on_wait: Optional[Callable[[], None]] = None,
    ) -> None:
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


@dataclass(frozen=True)
class ChildSpec:
    """How to (re)start one child: what Processes.spawn is given."""

    name: str
    args: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Watch:
    delay: float  # the wait before the next restart
    started: float  # supervisor clock when the current process was started
    due: Optional[float] = None  # when the pending restart is due (None: running, or not noticed yet)


class Supervisor:
    """Keeps children running: one that exits is restarted after a wait that starts at `initial` seconds and doubles
    with each restart up to `maximum` (1, 2, 4, 8, 16, 30, 30 … s); a child that had run for `reset_after` seconds
    before it exited starts again from `initial`. Each exit and restart is logged with the child's name and exit
    code (never anything the child printed) and counted in `restarts`.

    `check()` is one look at every child (unit-tested with a fake clock and fake processes); `start()` runs it
    every `poll` seconds in a daemon thread until `stop()`. Stop the supervisor before stopping the children, or it
    restarts them."""

    def __init__(
        self,
        processes: "Processes",
        specs: Sequence[ChildSpec],
        initial: float = 1.0,
        maximum: float = 30.0,
        reset_after: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        log: Optional[logging.Logger] = None,
    ) -> None:
        self.processes = processes
        self.specs = list(specs)
        self.initial, self.maximum, self.reset_after = initial, maximum, reset_after
        self.clock = clock
        self.log = log or logging.getLogger(__name__)
        self.restarts: Dict[str, int] = {spec.name: 0 for spec in self.specs}
        now = clock()
        self._watch = {spec.name: _Watch(initial, now) for spec in self.specs}
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()

    def check(self) -> None:
        with self._lock:
            for spec in self.specs:
                if not self._stop.is_set():
                    self._check(spec)

    def _check(self, spec: ChildSpec) -> None:
        watch, now = self._watch[spec.name], self.clock()
        child = self.processes.children.get(spec.name)
        if child is not None and child.running():
            return
        if watch.due is None:  # it has just exited
            if now - watch.started >= self.reset_after:
                watch.delay = self.initial  # it had been running fine: this is a new incident
            code = child.process.returncode if child is not None else None
            watch.due = now + watch.delay
            self.log.warning(
                "%s exited (%s); restart %d in %.0f s",
                spec.name,
                describe_exit(code),
                self.restarts[spec.name] + 1,
                watch.delay,
            )
            return
        if now < watch.due:
            return
        watch.due, watch.started = None, now
        delay, watch.delay = watch.delay, min(watch.delay * 2, self.maximum)
        self.restarts[spec.name] += 1
        try:
            started = self.processes.spawn(spec.name, list(spec.args), env=spec.env)
        except OSError as error:  # e.g. the executable vanished: try again after the next, longer wait
            self.log.error("%s could not be restarted (%s); next try in %.0f s", spec.name, error.strerror, watch.delay)
            watch.due = now + watch.delay
            return
        self.log.warning(
            "%s restarted (restart %d, pid %d, after waiting %.0f s)",
            spec.name,
            self.restarts[spec.name],
            started.pid,
            delay,
        )

    def start(self, poll: float = 0.5) -> "Supervisor":
        def loop() -> None:
            while not self._stop.wait(poll):
                try:
                    self.check()
                except Exception:  # never let the watcher die silently
                    self.log.exception("supervisor check failed")

        self._thread = threading.Thread(target=loop, name="supervisor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:  # a check in progress has finished: nothing is restarted after this
            pass


def describe_exit(code: Optional[int]) -> str:
    """ "exit code 3", "killed by SIGKILL (exit code -9)" or "exit code unknown"."""
    if code is None:
        return "exit code unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name} (exit code {code})"
        except ValueError:
            pass
    return f"exit code {code}"


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
