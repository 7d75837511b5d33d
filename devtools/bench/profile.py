"""`make profile`: where the CPU of a message goes, ours and stock Rasa, by stage, measured with py-spy.

    python -m devtools.bench.profile [--seconds 20] [--concurrency 4] [--out results/bench/profile]

The same set-up as `make bench` (production profile: PostgreSQL tracker store, Redis lock store; a fresh clinic
database), one kind of conversation at a time (questions, reports with their clarifying answers, red flags; and
stock Rasa's `rasa init` conversations). During each phase py-spy samples every server process, pausing it for
each sample (Python frames; native time counts for the Python frame that called it), and writes a flame graph
(SVG) and the raw stacks. Not --nonblocking: reading a running process's stacks lost the frames above Sanic's
event loop on most of the action server's samples, which then read as "channel" (63 % of them in one profile;
a --native run of the same load put 99 % under the request handler). Each stack is put in one stage: the
innermost frame that belongs to a known stage (a DIET call that ends in TensorFlow is DIET's; a SQL query under
the tracker store is the tracker store's). CPU ms per message of a stage = the process's CPU ms per message
(from /proc) x the stage's share of that process's samples.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from bot.run.processes import BIN, Processes, action_server_args, free_port, rasa_server_args
from bot.settings import PROJECT_ROOT
from devtools.bench import scripts
from devtools.bench.load import Ledger, Patients, RestLoad, first_answer
from devtools.bench.setup import (
    PRODUCTION_ENDPOINTS,
    Databases,
    register_clinic,
    server_env,
    stock_endpoints,
    stock_model,
)
from devtools.bench.setup import stock_project as stock_project_dir
from devtools.processes import cpu_seconds

MODEL = PROJECT_ROOT / "models" / "aftercare.tar.gz"
PY_SPY = BIN / "py-spy"

# (stage, pattern over one frame "function (file:line)"). A stack's stage is that of its innermost matching frame.
STAGES: Tuple[Tuple[str, str], ...] = (
    # Rasa: NLU components
    ("second reading (learned model)", r"bot/nlp/second_reading\.py"),
    ("nlu: spaCy pipeline (ours: spelling, ruler, negation, context)", r"(bot/nlp/|spacy/|thinc/|symspellpy|negspacy)"),
    ("nlu: ClinicalEntities + SafetyRouter", r"bot/rasa_nlu/components\.py|bot/triage/screen\.py"),
    ("nlu: TopicSelector", r"bot/rasa_nlu/topics\.py"),
    ("nlu: DIETClassifier", r"rasa/nlu/classifiers/diet_classifier\.py|rasa/utils/tensorflow"),
    ("nlu: CountVectorsFeaturizer", r"count_vectors_featurizer\.py"),
    ("nlu: LexicalSyntacticFeaturizer", r"lexical_syntactic_featurizer\.py"),
    ("nlu: RegexFeaturizer", r"regex_featurizer\.py"),
    ("nlu: tokenizer", r"rasa/nlu/tokenizers/"),
    ("nlu: SpacyNLP / SpacyEntityExtractor", r"rasa/nlu/utils/spacy_utils\.py|spacy_entity_extractor\.py"),
    ("nlu: fallback, synonyms, other", r"rasa/nlu/"),
    ("policies (rules, memoization, ensemble)", r"rasa/core/policies/"),
    ("tracker store (load/save)", r"rasa/core/tracker_store\.py|bot/rasa_nlu/tracker_store\.py"),
    ("lock store", r"rasa/core/lock_store\.py|rasa/core/lock\.py|bot/rasa_nlu/lock_store\.py"),
    ("action call (to the action server)", r"rasa/core/actions/action\.py|rasa/utils/endpoints\.py"),
    ("responses / NLG", r"rasa/core/nlg/"),
    ("tracker and events (in memory)", r"rasa/shared/core/(trackers|events|domain|conversation)\.py"),
    ("graph / processor", r"rasa/engine/|rasa/core/processor\.py|rasa/core/agent\.py"),
    ("channel (REST, Sanic)", r"rasa/core/channels/|sanic/"),
    # action server
    ("actions: database (bot.store, SQL)", r"bot/store/"),
    ("actions: triage core", r"bot/triage/"),
    ("actions: use cases, views", r"bot/usecases/|bot/views\.py|bot/escalation/"),
    ("actions: action bodies", r"\(actions/"),
    ("actions: rasa_sdk (endpoint, tracker, events)", r"rasa_sdk/"),
)
# Libraries several stages call: a stack is theirs only when no stage above shows who called them.
LIBRARY_STAGES: Tuple[Tuple[str, str], ...] = (
    ("database (SQLAlchemy, psycopg2; caller not sampled)", r"sqlalchemy/|psycopg2"),
)
_COMPILED = [(stage, re.compile(pattern)) for stage, pattern in STAGES]
_LIBRARIES = [(stage, re.compile(pattern)) for stage, pattern in LIBRARY_STAGES]


def stage_of(frames: Sequence[str]) -> str:
    """The stage of one stack (root first): its innermost frame that matches a stage, else a library's."""
    for compiled in (_COMPILED, _LIBRARIES):
        for frame in reversed(frames):
            for stage, pattern in compiled:
                if pattern.search(frame):
                    return stage
    return "other (interpreter, asyncio, libraries)"


def stages_from_raw(raw: str) -> Counter:
    """Samples per stage from py-spy's raw (collapsed) output: 'frame;frame;... count' per line."""
    samples: Counter = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            samples[stage_of(stack.split(";"))] += int(count)
    return samples


def per_message(samples: Counter, cpu_ms_per_message: float) -> Dict[str, float]:
    total = sum(samples.values()) or 1
    return {stage: round(cpu_ms_per_message * n / total, 2) for stage, n in samples.most_common()}


class Recorder:
    """py-spy on a running process for one phase: a flame graph and the raw stacks."""

    def __init__(self, pid: int, out: Path, seconds: float, rate: int) -> None:
        common = [str(PY_SPY), "record", "--pid", str(pid), "--rate", str(rate)]
        common += ["--duration", str(int(seconds))]
        self.raw = out.with_suffix(".txt")
        self.svg = out.with_suffix(".svg")
        self.children = [
            subprocess.Popen(common + ["--format", fmt, "-o", str(path)], stdout=subprocess.DEVNULL, stderr=log)
            for fmt, path, log in (
                ("raw", self.raw, open(out.with_suffix(".raw.log"), "w")),
                ("flamegraph", self.svg, open(out.with_suffix(".svg.log"), "w")),
            )
        ]

    def wait(self) -> Counter:
        for child in self.children:
            child.wait(timeout=120)
        return stages_from_raw(self.raw.read_text()) if self.raw.exists() else Counter()


async def phase(
    name: str,
    rest: RestLoad,
    script_set: Sequence,
    patients: Patients,
    pids: Dict[str, int],
    out: Path,
    seconds: float,
    concurrency: int,
    rate: int,
) -> Dict:
    print(f">> {name}: {seconds:.0f} s at concurrency {concurrency}, py-spy on {', '.join(pids)}", flush=True)
    before = {proc: cpu_seconds(pid) for proc, pid in pids.items()}
    recorders = {proc: Recorder(pid, out / f"{name}-{proc}", seconds, rate) for proc, pid in pids.items()}
    level = await rest.sustained(script_set, patients, concurrency, seconds)
    result: Dict = {"messages": level["messages"], "messages_per_s": level["messages_per_s"], "processes": {}}
    for proc, recorder in recorders.items():
        samples = await asyncio.to_thread(recorder.wait)
        if not samples:
            print(f"!! py-spy recorded no samples of {proc} (see {recorder.raw.with_suffix('.raw.log')})", flush=True)
        cpu_ms = 1000.0 * (cpu_seconds(pids[proc]) - before[proc]) / max(1, level["messages"])
        result["processes"][proc] = {
            "cpu_ms_per_message": round(cpu_ms, 2),
            "samples": sum(samples.values()),
            "stages_ms_per_message": per_message(samples, cpu_ms),
            "flame_graph": str(recorder.svg),
        }
    return result


async def run(args, work: Path, processes: Processes, databases: Databases) -> Dict:
    out: Path = args.out
    base_env = server_env(databases, work)
    databases.create()
    clinic = register_clinic(databases.clinic_url, 64, 0)
    ports = {"actions": free_port(), "rasa": free_port(), "stock": free_port()}
    processes.spawn("actions", action_server_args(ports["actions"]), env=base_env)
    env = {**base_env, **databases.rasa_env(databases.tracker, f"http://127.0.0.1:{ports['actions']}/webhook")}
    processes.spawn("rasa", rasa_server_args(ports["rasa"], MODEL, PRODUCTION_ENDPOINTS), env=env)
    results: Dict = {"ours": {}, "stock": None}
    rest = RestLoad([f"http://127.0.0.1:{ports['rasa']}"], Ledger())
    try:
        await _wait_ready(rest.urls[0], "rasa", processes)
        patients = Patients(clinic.rest_senders)
        await rest.conversations(scripts.take(scripts.OURS, 6), patients)  # warm-up
        pids = {"rasa": processes["rasa"].pid, "actions": processes["actions"].pid}
        for kind in ("question", "normal", "red_flag"):
            chosen = tuple(s for s in scripts.OURS if s.kind == kind)
            results["ours"][kind] = await phase(
                f"ours-{kind}", rest, chosen, patients, pids, out, args.seconds, args.concurrency, args.rate
            )
    finally:
        await rest.aclose()
        processes.stop("rasa")
        processes.stop("actions")
    project = stock_project_dir(_rasa_version())
    if stock_model(project):
        env = {**base_env, **databases.rasa_env(databases.stock_tracker)}
        processes.spawn(
            "stock", rasa_server_args(ports["stock"], stock_model(project), stock_endpoints(work)), env=env, cwd=project
        )
        rest = RestLoad([f"http://127.0.0.1:{ports['stock']}"], Ledger())
        try:
            await _wait_ready(rest.urls[0], "stock", processes)
            senders = Patients([f"stock-{n}" for n in range(64)])
            await rest.conversations(scripts.take(scripts.STOCK, 6), senders)
            results["stock"] = await phase(
                "stock",
                rest,
                scripts.STOCK,
                senders,
                {"rasa": processes["stock"].pid},
                out,
                args.seconds,
                args.concurrency,
                args.rate,
            )
        finally:
            await rest.aclose()
            processes.stop("stock")
    return results


async def _wait_ready(url: str, name: str, processes: Processes) -> None:
    await first_answer(
        url, f"probe-{name}", "hello", time.perf_counter(), 300, alive=lambda: processes.check_alive(name)
    )


def _rasa_version() -> str:
    import rasa

    return rasa.__version__


def table(results: Dict) -> str:
    """Stages as rows, phases as columns: CPU ms per message."""
    columns: List[Tuple[str, Dict]] = []
    for kind, phase_result in results["ours"].items():
        for proc, data in phase_result["processes"].items():
            columns.append((f"ours {kind} {proc}", data))
    if results.get("stock"):
        columns.append(("stock rasa", results["stock"]["processes"]["rasa"]))
    stages: Dict[str, None] = {}
    for _, data in columns:
        stages.update(dict.fromkeys(data["stages_ms_per_message"]))
    ordered = sorted(stages, key=lambda s: -max(d["stages_ms_per_message"].get(s, 0) for _, d in columns))
    width = max(len(s) for s in ordered) if ordered else 10
    heads = [name.replace("ours ", "").replace(" ", "/") for name, _ in columns]
    lines = [f"{'CPU ms per message':<{width}} " + " ".join(f"{h:>18}" for h in heads)]
    for stage in ordered:
        cells = [data["stages_ms_per_message"].get(stage) for _, data in columns]
        lines.append(f"{stage:<{width}} " + " ".join(f"{'' if c is None else c:>18}" for c in cells))
    lines.append(f"{'total (from /proc)':<{width}} " + " ".join(f"{d['cpu_ms_per_message']:>18}" for _, d in columns))
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "results" / "bench" / "profile")
    args = parser.parse_args(argv)
    if not MODEL.exists():
        print(f"No trained model at {MODEL}: run `make train` first.", file=sys.stderr)
        return 2
    if not PY_SPY.exists():
        print(f"py-spy is not installed at {PY_SPY}: run `make venv` (it is a dev dependency).", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="profile-", dir=args.out.parent))
    databases, processes = Databases(), Processes(work / "logs")
    try:
        results = asyncio.run(run(args, work, processes, databases))
    finally:
        processes.stop_all()
        databases.drop()
    text = table(results)
    (args.out / "stages.json").write_text(json.dumps(results, indent=2))
    (args.out / "stages.txt").write_text(text + "\n")
    print()
    print(text)
    print(f"\n>> flame graphs and raw stacks in {args.out}; table in {args.out / 'stages.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
