"""bot.run.processes.Supervisor: `make run` restarts a child that dies, with exponential backoff, and says so (name and
exit code, nothing the child printed). Fake processes and a fake clock for the policy; real (tiny) processes for
the thread and for stopping."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional

import pytest

from bot.run.processes import ChildSpec, Processes, Supervisor, describe_exit


@dataclass
class FakePopen:
    returncode: Optional[int] = None


@dataclass
class FakeChild:
    pid: int
    process: FakePopen = field(default_factory=FakePopen)

    def running(self) -> bool:
        return self.process.returncode is None

    def exit(self, code: int) -> None:
        self.process.returncode = code


class FakeProcesses:
    def __init__(self) -> None:
        self.children: Dict[str, FakeChild] = {}
        self.spawned: List[tuple] = []
        self._pids = iter(range(100, 10_000))

    def spawn(self, name: str, args: List[str], env: Optional[Mapping[str, str]] = None) -> FakeChild:
        self.spawned.append((name, tuple(args), dict(env or {})))
        child = self.children[name] = FakeChild(next(self._pids))
        return child


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup():
    processes, clock = FakeProcesses(), Clock()
    specs = [ChildSpec("actions", ["rasa", "run", "actions"], {"A": "1"}), ChildSpec("rasa", ["rasa", "run"])]
    for spec in specs:
        processes.spawn(spec.name, list(spec.args), spec.env)
    processes.spawned.clear()
    return processes, clock, Supervisor(processes, specs, clock=clock)


def crash_and_time_restart(
    processes: FakeProcesses, clock: Clock, supervisor: Supervisor, name: str, code: int = 1
) -> float:
    """Kill `name`, then advance the clock in 0.5 s steps until it is restarted; the wait it got."""
    before = len(processes.spawned)
    processes.children[name].exit(code)
    supervisor.check()  # notices the exit
    noticed = clock.now
    while len(processes.spawned) == before:
        clock.now += 0.5
        supervisor.check()
        assert clock.now - noticed <= 60, "never restarted"
    return clock.now - noticed


def test_a_running_child_is_left_alone(setup) -> None:
    processes, clock, supervisor = setup
    for _ in range(10):
        clock.now += 5
        supervisor.check()
    assert processes.spawned == [] and supervisor.restarts == {"actions": 0, "rasa": 0}


def test_a_dead_child_is_restarted_with_its_own_arguments_and_environment(setup) -> None:
    processes, clock, supervisor = setup
    crash_and_time_restart(processes, clock, supervisor, "actions")
    assert processes.spawned == [("actions", ("rasa", "run", "actions"), {"A": "1"})]
    assert processes.children["actions"].running() and processes.children["rasa"].running()
    assert supervisor.restarts == {"actions": 1, "rasa": 0}


def test_the_wait_doubles_from_1_s_up_to_30_s(setup) -> None:
    processes, clock, supervisor = setup
    waits = [crash_and_time_restart(processes, clock, supervisor, "rasa") for _ in range(8)]
    assert waits == [1, 2, 4, 8, 16, 30, 30, 30]
    assert supervisor.restarts["rasa"] == 8


def test_a_child_that_ran_fine_for_a_minute_starts_again_from_1_s(setup) -> None:
    processes, clock, supervisor = setup
    assert [crash_and_time_restart(processes, clock, supervisor, "actions") for _ in range(3)] == [1, 2, 4]
    clock.now += 61  # a minute of running
    supervisor.check()
    assert crash_and_time_restart(processes, clock, supervisor, "actions") == 1


def test_each_exit_and_restart_is_logged_with_the_name_and_exit_code(setup, caplog) -> None:
    processes, clock, supervisor = setup
    with caplog.at_level(logging.WARNING, logger="bot.run.processes"):
        crash_and_time_restart(processes, clock, supervisor, "actions", code=-9)
        crash_and_time_restart(processes, clock, supervisor, "actions", code=3)
    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        "actions exited (killed by SIGKILL (exit code -9)); restart 1 in 1 s",
        "actions restarted (restart 1, pid 102, after waiting 1 s)",
        "actions exited (exit code 3); restart 2 in 2 s",
        "actions restarted (restart 2, pid 103, after waiting 2 s)",
    ]


def test_describe_exit() -> None:
    assert describe_exit(0) == "exit code 0"
    assert describe_exit(-15) == "killed by SIGTERM (exit code -15)"
    assert describe_exit(None) == "exit code unknown"


def test_a_failed_restart_is_tried_again_later(setup, caplog) -> None:
    processes, clock, supervisor = setup
    real_spawn = processes.spawn
    calls = []

    def failing_once(name, args, env=None):
        calls.append(name)
        if len(calls) == 1:
            raise FileNotFoundError(2, "No such file or directory")
        return real_spawn(name, args, env)

    processes.spawn = failing_once  # type: ignore[method-assign]
    processes.children["rasa"].exit(1)
    with caplog.at_level(logging.WARNING, logger="bot.run.processes"):
        for _ in range(20):
            clock.now += 0.5
            supervisor.check()
    assert calls == ["rasa", "rasa"] and processes.children["rasa"].running()
    assert any("could not be restarted (No such file or directory)" in r.getMessage() for r in caplog.records)


def test_real_children_restarted_by_the_thread_and_all_stopped_at_the_end(tmp_path, caplog) -> None:
    """A real child that exits at once with code 3 is restarted (fast backoff here) while a long-running one is left
    alone; after stop() nothing is restarted and stop_all() leaves no process behind."""
    flappy = ChildSpec("flappy", [sys.executable, "-c", "import sys; print('secret words'); sys.exit(3)"])
    steady = ChildSpec("steady", [sys.executable, "-c", "import time; time.sleep(600)"])
    processes = Processes(tmp_path)
    supervisor = Supervisor(processes, [flappy, steady], initial=0.05, maximum=0.2)
    for spec in (flappy, steady):
        processes.spawn(spec.name, list(spec.args))
    steady_pid = processes["steady"].pid
    with caplog.at_level(logging.WARNING, logger="bot.run.processes"):
        supervisor.start(poll=0.02)
        try:
            deadline = time.monotonic() + 20
            while supervisor.restarts["flappy"] < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            supervisor.stop()
    restarts = supervisor.restarts["flappy"]
    assert restarts >= 3 and supervisor.restarts["steady"] == 0 and processes["steady"].pid == steady_pid
    time.sleep(0.5)
    assert supervisor.restarts["flappy"] == restarts  # stopped: no more restarts
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "flappy exited (exit code 3)" in messages and "secret words" not in messages
    children = [processes[name].process for name in ("flappy", "steady")]
    processes.stop_all()
    assert all(child.poll() is not None for child in children)
