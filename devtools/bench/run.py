"""`make bench`: latency, throughput, alerts, memory, start-up and training time, ours and stock Rasa, in one run.

    python -m devtools.bench.run [--quick] [--out results/bench] [--no-training] [--stock auto|train|skip]

Everything runs on loopback with the production profile (endpoints.production.yml: PostgreSQL tracker store,
Redis lock store) and fresh PostgreSQL databases that are dropped at the end. Every process it starts is stopped
on the way out, including on Ctrl-C or an error. The README's "Benchmarks" section explains how to read the table.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from bot.run.processes import Processes, action_server_args, free_port, rasa_server_args
from bot.settings import DEFAULT_CHECKIN_SCHEDULE_HOURS, PROJECT_ROOT, ConfigError, Settings
from devtools.bench import capacity, report, scripts
from devtools.bench.load import Ledger, Patients, RestLoad, best, first_answer
from devtools.bench.setup import (
    PRODUCTION_ENDPOINTS,
    REST_PRACTITIONER_CHAT,
    Databases,
    init_stock,
    machine,
    register_clinic,
    server_env,
    stock_endpoints,
    stock_model,
    stock_project,
    time_training,
)
from devtools.bench.stats import cpu_breakdown, ratio
from devtools.bench.telegram_path import TOKEN, TelegramBench
from devtools.processes import cpu_seconds, machine_cpu_seconds, memory
from devtools.telegram_standin import BotApiStandIn

MODEL = PROJECT_ROOT / "models" / "aftercare.tar.gz"
DEFAULT_RASA_DATA = ("data/nlu", "data/stories", "data/rules", "data/triage/advice_responses.yml")
RED_FLAGS = tuple(s.turns[s.red_flag_turn] for s in scripts.OURS if s.red_flag_turn >= 0)


@dataclass(frozen=True)
class Load:
    quick: bool
    warmup_conversations: int
    latency_conversations: int
    telegram_conversations: int
    telegram_think_s: float
    alert_burst: int
    concurrency: Sequence[int]
    seconds_per_level: float
    rest_patients: int

    @classmethod
    def for_mode(cls, quick: bool) -> "Load":
        if quick:
            return cls(True, 1, 3, 2, 1.0, 1, (4,), 3.0, 16)
        return cls(False, 3, 30, 20, 2.0, 20, (1, 8, 32), 15.0, 200)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _say(message: str) -> None:
    print(f">> {message}", flush=True)


class Bench:
    def __init__(
        self,
        load: Load,
        work: Path,
        processes: Processes,
        databases: Databases,
        stock: str,
        measure_training: bool,
        rasa_data: Sequence[str] = DEFAULT_RASA_DATA,
    ) -> None:
        self.load = load
        self.measure_training = measure_training and not load.quick
        self.rasa_data = tuple(rasa_data)
        self.work = work
        self.processes = processes
        self.databases = databases
        self.stock_mode = stock
        self.notes: List[str] = []
        self.procs: Dict[str, Dict] = {}
        self.base_env = server_env(databases, work)
        self.ports = {"actions": free_port(), "rasa-1": free_port(), "rasa-2": free_port(), "stock": free_port()}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def _remember(self, label: str, name: str, **extra) -> None:
        entry = self.procs.setdefault(label, {})
        entry.update(extra)
        if name in self.processes.children and self.processes[name].running():
            entry["memory"] = memory(self.processes[name].pid)

    def _cpu(self, names: Sequence[str]) -> Dict:
        used = {name: cpu_seconds(self.processes[name].pid) for name in names}
        used["load client"] = cpu_seconds(os.getpid(), with_descendants=False)  # its children are measured above
        return {"machine": machine_cpu_seconds(), "processes": used}

    async def _sustained(self, rest: RestLoad, script_set, patients: Patients, names: Sequence[str]) -> List[Dict]:
        """Every concurrency level in turn, with where the CPU went meanwhile."""
        levels = []
        for concurrency in self.load.concurrency:
            before = self._cpu(names)
            level = await rest.sustained(script_set, patients, concurrency, self.load.seconds_per_level)
            level["cpu"] = cpu_breakdown(before, self._cpu(names), level["messages"])
            levels.append(level)
        return levels

    # --- ours -----------------------------------------------------------------------------------------------------
    def _spawn_ours(self, worker: str) -> float:
        env = {**self.base_env, **self.databases.rasa_env(self.databases.tracker, f"{self.url('actions')}/webhook")}
        # The HTTP API on (make run has it off): the event check reads every conversation's tracker back.
        args = rasa_server_args(self.ports[worker], MODEL, PRODUCTION_ENDPOINTS, enable_api=True)
        child = self.processes.spawn(worker, args, env=env)
        return child.spawned_at

    def _spawn_stock(self, project: Path) -> float:
        env = {**self.base_env, **self.databases.rasa_env(self.databases.stock_tracker)}
        args = rasa_server_args(self.ports["stock"], stock_model(project), stock_endpoints(self.work))
        return self.processes.spawn("stock", args, env=env, cwd=project).spawned_at

    def _alive(self, *names: str):
        def check() -> None:
            for name in names:
                self.processes.check_alive(name)

        return check

    async def _startup(self, name: str, started: float, *deps: str) -> float:
        return await first_answer(
            self.url(name), f"bench-probe-{name}", "hello", started, timeout=300, alive=self._alive(name, *deps)
        )

    async def run(self) -> Dict:
        load = self.load
        result: Dict = {
            "started_at": _now(),
            "machine": machine(),
            "load": asdict(load),
            "stores": "PostgreSQL tracker store + Redis lock store (endpoints.production.yml), "
            "clinic database on PostgreSQL",
        }
        _say("creating the databases and registering the clinic's patients")
        self.databases.create()
        clinic = register_clinic(
            self.databases.clinic_url, load.rest_patients, load.telegram_conversations + load.alert_burst
        )
        stock_project_dir = self._prepare_stock(result)

        _say("starting our action server and Rasa worker 1" + (", worker 2 and stock Rasa" if load.quick else ""))
        actions = self.processes.spawn("actions", action_server_args(self.ports["actions"]), env=self.base_env)
        started = actions.spawned_at
        self._spawn_ours("rasa-1")
        if load.quick:  # all at once: start-up figures are then not meaningful, but the test stays short
            worker2_started = self._spawn_ours("rasa-2")
            stock_started = self._spawn_stock(stock_project_dir) if stock_project_dir else None
            self.notes.append("--quick starts every process at once: start-up times are not comparable")
        ours_start = await self._startup("rasa-1", started, "actions")
        self._remember("ours: rasa worker 1", "rasa-1", startup_s=round(ours_start, 2))

        ledger = Ledger()
        rest = RestLoad([self.url("rasa-1")], ledger)
        try:
            patients = Patients(clinic.rest_senders)
            _say("ours, REST: warm-up and reply latency, one patient at a time")
            await rest.conversations(scripts.take(scripts.OURS, load.warmup_conversations), patients)
            ours_latency = await rest.conversations(scripts.take(scripts.OURS, load.latency_conversations), patients)
            telegram = await self._telegram(clinic, ledger, lambda script: self._rest_latencies(rest, script, patients))

            _say("ours, 1 worker: sustained throughput")
            one = await self._sustained(rest, scripts.OURS, patients, ("rasa-1", "actions"))
            self._remember("ours: rasa worker 1", "rasa-1")
            if not load.quick:
                _say("starting Rasa worker 2")
                worker2_started = self._spawn_ours("rasa-2")
            worker2_start = await self._startup("rasa-2", worker2_started, "actions")
            self._remember("ours: rasa worker 2", "rasa-2", startup_s=round(worker2_start, 2))
            _say("ours, 2 workers (each message to the next worker): sustained throughput")
            rest.urls = [self.url("rasa-1"), self.url("rasa-2")]
            two = await self._sustained(rest, scripts.OURS, patients, ("rasa-1", "rasa-2", "actions"))
            for label, name in (
                ("ours: rasa worker 1", "rasa-1"),
                ("ours: rasa worker 2", "rasa-2"),
                ("ours: action server", "actions"),
            ):
                self._remember(label, name)
            _say("checking every conversation's tracker against what was sent")
            events = await ledger.check(self.url("rasa-1"), rest.client)
        finally:
            await rest.aclose()
        for name in ("rasa-1", "rasa-2", "actions"):
            self.processes.stop(name)
        result["ours"] = {
            "rest_latency": ours_latency,
            "telegram": telegram,
            "throughput_1_worker": one,
            "throughput_2_workers": two,
            "events": events,
        }

        result["stock"] = await self._stock(stock_project_dir, stock_started if load.quick else None)
        result["training"] = self._training(stock_project_dir)
        result["processes"] = self.procs
        result["summary"] = self._summary(result)
        result["capacity"] = self._capacity(result)
        result["verdicts"] = report.verdicts(result)
        result["notes"] = self.notes
        return result

    @staticmethod
    async def _rest_latencies(rest: RestLoad, script, patients: Patients) -> List[float]:
        latencies, _ = await rest.converse(script, patients)
        return latencies

    async def _telegram(self, clinic, ledger: Ledger, over_rest) -> Dict:
        load = self.load
        conversations = list(
            zip(scripts.take(scripts.OURS, load.telegram_conversations), clinic.telegram[: load.telegram_conversations])
        )
        burst = clinic.telegram[load.telegram_conversations :]
        env = {**self.base_env, "RASA_URL": self.url("rasa-1")}
        async with BotApiStandIn(token=TOKEN) as tg:
            for patient in clinic.telegram:
                tg.open_chat(patient.chat_id, "Patient")
                tg.open_chat(patient.practitioner_chat, "Doctor")
            tg.open_chat(REST_PRACTITIONER_CHAT, "Doctor")  # alerts from the REST phase get delivered too
            bench = TelegramBench(tg, self.processes, env, ledger)
            try:
                _say("Telegram path: starting the gateway and linking the patients' chats")
                first = conversations[0][1]
                startup = await bench.start_gateway(first, "hi")
                self._remember("ours: telegram gateway", "gateway", startup_s=round(startup, 2))
                for _, patient in conversations[1:]:
                    await bench.link(patient)
                for patient in burst:
                    await bench.link(patient)
                _say("Telegram path: conversations, then a burst of red flags")
                measured = await bench.conversations(conversations, load.telegram_think_s, over_rest)
                measured["red_flag_burst_errors"] = await bench.red_flag_burst(burst, RED_FLAGS, gap=0.5)
                measured["alerts"] = await bench.alerts(timeout=30.0)
                self._remember("ours: telegram gateway", "gateway")
            finally:
                self.processes.stop("gateway")
        return measured

    # --- stock ------------------------------------------------------------------------------------------------------
    def _prepare_stock(self, result: Dict) -> Optional[Path]:
        project = stock_project(result["machine"]["rasa"])
        if stock_model(project):
            return project
        if self.stock_mode != "train":
            self.notes.append(f"stock Rasa SKIPPED: no trained stock model in {project} (`make bench` trains it)")
            return None
        _say(f"training the stock `rasa init` assistant once, into {project}")
        seconds = init_stock(project, self.base_env, self.work / "stock-init.log")
        self.notes.append(f"stock model trained into the cache by `rasa init` in {seconds:.0f} s")
        return project

    async def _stock(self, project: Optional[Path], started: Optional[float]) -> Optional[Dict]:
        if project is None or self.stock_mode == "skip":
            return None
        load = self.load
        if started is None:
            _say("starting stock Rasa")
            started = self._spawn_stock(project)
        startup = await self._startup("stock", started)
        self._remember("stock: rasa", "stock", startup_s=round(startup, 2))
        rest = RestLoad([self.url("stock")], Ledger())
        try:
            senders = Patients([f"stock-{n}" for n in range(load.rest_patients)])
            _say("stock, REST: warm-up, reply latency, sustained throughput")
            await rest.conversations(scripts.take(scripts.STOCK, load.warmup_conversations), senders)
            latency = await rest.conversations(scripts.take(scripts.STOCK, load.latency_conversations), senders)
            throughput = await self._sustained(rest, scripts.STOCK, senders, ("stock",))
            self._remember("stock: rasa", "stock")
        finally:
            await rest.aclose()
            self.processes.stop("stock")
        return {"rest_latency": latency, "throughput": throughput}

    # --- training ---------------------------------------------------------------------------------------------------
    def _training(self, stock_dir: Optional[Path]) -> Dict:
        if not self.measure_training:
            return {}
        out = self.work / "training"
        _say("timing a fresh training of our model (rasa train --force)")
        training = {
            "ours": {
                "seconds": round(
                    time_training(
                        ["--data", *self.rasa_data, "--out", str(out), "--fixed-model-name", "bench"],
                        PROJECT_ROOT,
                        self.base_env,
                        self.work / "train-ours.log",
                    ),
                    1,
                )
            }
        }
        if stock_dir is not None:
            _say("timing a fresh training of the stock model")
            training["stock"] = {
                "seconds": round(
                    time_training(
                        ["--out", str(out), "--fixed-model-name", "stock"],
                        stock_dir,
                        self.base_env,
                        self.work / "train-stock.log",
                    ),
                    1,
                )
            }
        return training

    # --- summary ----------------------------------------------------------------------------------------------------
    @staticmethod
    def _capacity(result: Dict) -> Optional[Dict]:
        """Cores per 1,000 active patients at this run's CPU per message (devtools.bench.capacity)."""
        try:
            schedule = Settings.from_env().checkin_schedule_hours  # the clinic's own schedule when it set one
        except ConfigError:
            schedule = DEFAULT_CHECKIN_SCHEDULE_HOURS
        turns = [len(script.turns) for script in scripts.OURS]
        return capacity.plan(
            _server_cpu_ms(best(result["ours"]["throughput_1_worker"])),
            (result["ours"].get("telegram") or {}).get("gateway_cpu_ms_per_message"),
            schedule,
            sum(turns) / len(turns),
        )

    @staticmethod
    def _summary(result: Dict) -> Dict:
        ours, stock = result["ours"], result.get("stock") or {}
        rest_p95 = ours["rest_latency"]["p95_ms"]
        tg = ours.get("telegram") or {}
        tg_p95 = (tg.get("first_message") or {}).get("p95_ms")
        paired_p95 = (tg.get("rest_same_minutes") or {}).get("p95_ms")
        tg_p50 = (tg.get("first_message") or {}).get("p50_ms")
        paired_p50 = (tg.get("rest_same_minutes") or {}).get("p50_ms")
        best_one, best_two = best(ours["throughput_1_worker"]), best(ours["throughput_2_workers"])
        best_stock = best(stock.get("throughput") or [])
        events = ours["events"]
        return {
            "ours_stock_rest_p95": ratio(rest_p95, (stock.get("rest_latency") or {}).get("p95_ms")),
            # Against the REST conversations interleaved with the Telegram ones (same minutes, same scripts).
            "telegram_adds_p95_ms": None if tg_p95 is None or paired_p95 is None else round(tg_p95 - paired_p95, 1),
            "telegram_adds_p50_ms": None if tg_p50 is None or paired_p50 is None else round(tg_p50 - paired_p50, 1),
            "alert_after_reply_p95_ms": ((tg.get("alerts") or {}).get("after_patient_reply") or {}).get("p95_ms"),
            "throughput_ours_stock": ratio(
                best_one and best_one["messages_per_s"], best_stock and best_stock["messages_per_s"]
            ),
            "two_workers_one": ratio(best_two and best_two["messages_per_s"], best_one and best_one["messages_per_s"]),
            "two_workers_one_by_level": {
                str(a["concurrency"]): ratio(b["messages_per_s"], a["messages_per_s"])
                for a, b in zip(ours["throughput_1_worker"], ours["throughput_2_workers"])
            },
            "events_wrong": events["lost"] + events["extra"] + events["reordered"],
            # Less sensitive to other work on the machine than messages/s: CPU each message costs the server side.
            "cpu_ms_per_message_ours_stock": ratio(_server_cpu_ms(best_one), _server_cpu_ms(best_stock)),
            "rasa_worker_memory_ours_stock": ratio(_rss(result, "ours: rasa worker 1"), _rss(result, "stock: rasa")),
            "two_workers_one_ceiling": _two_worker_ceiling(best_one),
        }


def _server_cpu_ms(level: Optional[Dict]) -> Optional[float]:
    """CPU ms per message of the assistant's own processes (not the load client) at a throughput level."""
    if not level or not level.get("cpu"):
        return None
    values = [ms for name, ms in level["cpu"]["cpu_ms_per_message"].items() if name != "load client"]
    return None if None in values else sum(values)


def _rss(result: Dict, label: str) -> Optional[float]:
    return ((result.get("processes") or {}).get(label, {}).get("memory") or {}).get("rss_mib")


def _two_worker_ceiling(one_worker: Optional[Dict]) -> Optional[float]:
    """The most two workers/one can reach on this machine: the one-worker run kept it `busy` % busy (every process,
    the database and the load client included), so all of it busy gives at most 100 / busy times the messages."""
    busy = ((one_worker or {}).get("cpu") or {}).get("machine_busy_pct")
    return round(100 / busy, 2) if busy else None


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # `make` being stopped cleans up exactly like Ctrl-C


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the assistant against stock Rasa on this machine.")
    parser.add_argument("--quick", action="store_true", help="a tiny load (the test uses it); numbers mean little")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "results" / "bench")
    parser.add_argument(
        "--stock",
        choices=("auto", "train", "skip"),
        default=None,
        help="stock Rasa: train it when not cached (default without --quick), use it only when "
        "cached (default with --quick), or leave it out",
    )
    parser.add_argument("--no-training", action="store_true", help="do not time a fresh training")
    parser.add_argument("--rasa-data", nargs="+", default=list(DEFAULT_RASA_DATA), help="our training data")
    args = parser.parse_args(argv)
    if not MODEL.exists():
        print(f"No trained model at {MODEL}: run `make train` first (`make bench` does).", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)
    load = Load.for_mode(args.quick)
    stock_mode = args.stock or ("auto" if args.quick else "train")
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=args.out))
    databases = Databases()
    processes = Processes(work / "logs")
    started = time.perf_counter()
    try:
        bench = Bench(load, work, processes, databases, stock_mode, not args.no_training, args.rasa_data)
        if args.no_training or args.quick:
            bench.notes.append("training time not measured (" + ("--quick" if args.quick else "--no-training") + ")")
        result = asyncio.run(bench.run())
    except KeyboardInterrupt:
        print("\n>> interrupted: stopping every process the benchmark started", file=sys.stderr)
        return 130
    finally:
        processes.stop_all()
        try:
            databases.drop()
        except Exception as error:  # never hide the run's own error behind a clean-up one
            print(f">> could not drop the benchmark databases ({type(error).__name__}: {error})", file=sys.stderr)
    result["duration_s"] = round(time.perf_counter() - started, 1)
    result["logs"] = str(work)
    text = report.table(result)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    name = "bench-quick" if args.quick else "bench"
    for path in (args.out / f"{name}.json", args.out / f"{name}-{stamp}.json"):
        path.write_text(json.dumps(result, indent=2))
    (args.out / f"{name}.txt").write_text(text + "\n")
    print()
    print(text)
    print(f"\n>> written {args.out / (name + '.json')} (and a timestamped copy); logs in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
