"""Evaluate the whole triage path (NLU analyzer -> service -> findings -> engine) on labelled message sets.

    python -m devtools.evaluate --data data/triage_eval/messages.jsonl data/triage_eval/blind_1.jsonl --out results/eval

Each set is scored on its own (results in OUT/<set name>/). Each line of a data file: {"text": ..., "days_since":
number?, "method": ...?, "area": ...?, "expected" (or "expect"): "none|normal|monitor|urgent|emergency"}.

Safety gates, per set (exit code 1 when any fails):
  escalation recall   every expected urgent/emergency message is predicted urgent or emergency  (must be 100 %)
  emergency recall    every expected emergency is predicted emergency                           (must be 100 %)
  calm kept calm      expected normal and none messages (reactions, questions) not escalated    (at least 90 %)

The analyzer is injectable: `analyze(text) -> (entities, intent_confidence[, intent])`. By default it is the trained
Rasa model (`bot.cli.nlu.analyze`: the same NLU path as the live assistant), imported only when needed so that
tests can run without spaCy or Rasa. A message is decided by the same service call the triage action makes.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from bot.triage.criteria import Criteria, load_criteria
from bot.triage.model import Decision, Level, PatientContext
from bot.usecases.triage import ClinicService, Reader

log = logging.getLogger(__name__)

LEVELS: Tuple[str, ...] = tuple(level.value for level in Level)  # none, normal, monitor, urgent, emergency
_RANK = {level.value: level.rank for level in Level}

ESCALATION_RECALL_MIN = 1.0
EMERGENCY_RECALL_MIN = 1.0
CALM_NOT_ESCALATED_MIN = 0.90

# (entities, intent confidence) or (entities, intent confidence, intent name)
Analyzer = Callable[[str], Tuple]
Classifier = Callable[[str, Optional[float], Optional[str], Optional[str]], Decision]


@dataclass(frozen=True)
class Example:
    text: str
    expected: str
    days_since: Optional[float] = None
    method: Optional[str] = None
    area: Optional[str] = None


def load_analyzer(spec: str = "bot.cli.nlu:analyze") -> Analyzer:
    """Import `module:function` lazily: the default pulls in spaCy, which tests and `--help` do not need."""
    module_name, _, function_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, function_name or "analyze")
    except (ImportError, AttributeError) as exc:
        raise SystemExit(
            f"analyzer {spec!r} is not available ({exc}); it must be a function "
            "analyze(text) -> (entities, intent_confidence)"
        ) from None


def default_analyzer() -> Analyzer:
    return load_analyzer()


def make_classifier(analyzer: Analyzer, criteria: Criteria, reader: Optional[Reader] = None) -> Classifier:
    """classify(text, days_since, method, area) -> Decision, the path a real message takes (the triage action's
    service call, with the patient's record standing in for days_since, method and area). `reader` is the learned
    second reading; None judges the rules alone."""
    service = ClinicService(criteria, reader=reader)

    def classify(
        text: str, days_since: Optional[float] = None, method: Optional[str] = None, area: Optional[str] = None
    ) -> Decision:
        entities, confidence, *rest = analyzer(text)
        hours = None if days_since is None else float(days_since) * 24.0
        context = PatientContext(hours_since_treatment=hours, area=area, method=method)
        return service.assess(
            None, text, entities, confidence, intent=rest[0] if rest else None, fallback_context=context
        ).decision

    return classify


def load_examples(path: Path) -> List[Example]:
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        expected = row.get("expected", row.get("expect"))
        if expected not in LEVELS:
            raise ValueError(f"{path}:{number}: 'expected' must be one of {LEVELS}, got {expected!r}")
        examples.append(
            Example(
                text=row["text"],
                expected=expected,
                days_since=row.get("days_since"),
                method=row.get("method"),
                area=row.get("area"),
            )
        )
    return examples


# --- metrics ----------------------------------------------------------------------------------------------------


def _ratio(numerator: int, denominator: int) -> Optional[float]:
    return None if denominator == 0 else numerator / denominator


def confusion(pairs: Sequence[Tuple[str, str]]) -> List[List[int]]:
    """matrix[expected][predicted] over LEVELS."""
    index = {level: i for i, level in enumerate(LEVELS)}
    matrix = [[0] * len(LEVELS) for _ in LEVELS]
    for expected, predicted in pairs:
        matrix[index[expected]][index[predicted]] += 1
    return matrix


def metrics(pairs: Sequence[Tuple[str, str]]) -> Dict:
    """All the numbers from (expected, predicted) level pairs. Ratios are None when undefined (no examples)."""
    per_level = {}
    for level in LEVELS:
        tp = sum(1 for e, p in pairs if e == level and p == level)
        predicted = sum(1 for _, p in pairs if p == level)
        actual = sum(1 for e, _ in pairs if e == level)
        per_level[level] = {"precision": _ratio(tp, predicted), "recall": _ratio(tp, actual), "support": actual}
    escalate = [(e, p) for e, p in pairs if _RANK[e] >= _RANK["urgent"]]
    emergencies = [(e, p) for e, p in pairs if e == "emergency"]
    normals = [(e, p) for e, p in pairs if e == "normal"]
    calm = [(e, p) for e, p in pairs if _RANK[e] <= _RANK["normal"]]
    return {
        "count": len(pairs),
        "accuracy": _ratio(sum(1 for e, p in pairs if e == p), len(pairs)),
        "per_level": per_level,
        "escalation_recall": _ratio(sum(1 for _, p in escalate if _RANK[p] >= _RANK["urgent"]), len(escalate)),
        "emergency_recall": _ratio(sum(1 for _, p in emergencies if p == "emergency"), len(emergencies)),
        "under_triage_rate": _ratio(sum(1 for e, p in pairs if _RANK[p] < _RANK[e]), len(pairs)),
        "over_triage_rate": _ratio(sum(1 for e, p in pairs if _RANK[p] > _RANK[e]), len(pairs)),
        "normal_not_escalated": _ratio(sum(1 for _, p in normals if _RANK[p] < _RANK["urgent"]), len(normals)),
        "calm_not_escalated": _ratio(sum(1 for _, p in calm if _RANK[p] < _RANK["urgent"]), len(calm)),
        "confusion": {"labels": list(LEVELS), "matrix": confusion(pairs)},
    }


def gate_failures(result: Dict) -> List[str]:
    """Which safety gates fail. An undefined ratio (no such examples) does not pass silently: it fails."""
    failures = []
    for name, minimum in (
        ("escalation_recall", ESCALATION_RECALL_MIN),
        ("emergency_recall", EMERGENCY_RECALL_MIN),
        ("calm_not_escalated", CALM_NOT_ESCALATED_MIN),
    ):
        value = result[name]
        if value is None or value < minimum:
            failures.append(f"{name} = {_pct(value)} (needs >= {minimum:.0%})")
    return failures


# --- running ----------------------------------------------------------------------------------------------------


def evaluate(examples: Iterable[Example], classify: Classifier) -> Tuple[Dict, List[Dict]]:
    rows = []
    for example in examples:
        decision = classify(example.text, example.days_since, example.method, example.area)
        rows.append(
            {
                "text": example.text,
                "expected": example.expected,
                "predicted": decision.level.value,
                "criteria": list(decision.criteria),
                "missing": list(decision.missing),
                "days_since": example.days_since,
                "method": example.method,
                "area": example.area,
            }
        )
    return metrics([(r["expected"], r["predicted"]) for r in rows]), rows


def _pct(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def format_table(result: Dict) -> str:
    lines = [f"{'level':<10} {'precision':>9} {'recall':>7} {'support':>7}"]
    for level in LEVELS:
        row = result["per_level"][level]
        lines.append(f"{level:<10} {_pct(row['precision']):>9} {_pct(row['recall']):>7} {row['support']:>7}")
    lines += [
        "",
        f"messages               {result['count']}",
        f"accuracy               {_pct(result['accuracy'])}",
        f"escalation recall      {_pct(result['escalation_recall'])}",
        f"emergency recall       {_pct(result['emergency_recall'])}",
        f"under-triage rate      {_pct(result['under_triage_rate'])}",
        f"over-triage rate       {_pct(result['over_triage_rate'])}",
        f"normal not escalated   {_pct(result['normal_not_escalated'])}",
        f"normal+none calm       {_pct(result['calm_not_escalated'])}   (reactions and questions not escalated)",
    ]
    return "\n".join(lines)


def plot_confusion(result: Dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display on servers/CI
    import matplotlib.pyplot as plt

    labels, matrix = result["confusion"]["labels"], result["confusion"]["matrix"]
    fig, ax = plt.subplots(figsize=(6, 5))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=30)
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("expected")
    ax.set_title("Triage confusion matrix")
    peak = max((max(row) for row in matrix), default=0)
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            ax.text(j, i, str(count), ha="center", va="center", color="white" if count > peak / 2 else "black")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_sets(
    data: Sequence[Path],
    out: Path,
    analyzer: Optional[Analyzer] = None,
    criteria: Optional[Criteria] = None,
    stream=None,
    reader: Optional[Reader] = None,
) -> int:
    """Evaluate each set on its own into OUT/<set name>/; 1 when any set fails a gate."""
    stream = stream or sys.stdout
    classify = make_classifier(analyzer or default_analyzer(), criteria or load_criteria(), reader)
    codes = []
    for path in data:
        print(f"\n=== {path.stem} ({path}) ===", file=stream)
        codes.append(run(path, out / path.stem, classify=classify, stream=stream))
    return max(codes, default=0)


def run(
    data: Path,
    out: Path,
    analyzer: Optional[Analyzer] = None,
    criteria: Optional[Criteria] = None,
    stream=None,
    classify: Optional[Classifier] = None,
    reader: Optional[Reader] = None,
) -> int:
    """Evaluate, write results.json and confusion_matrix.png into `out`, print the table; return the exit code."""
    stream = stream or sys.stdout
    classify = classify or make_classifier(analyzer or default_analyzer(), criteria or load_criteria(), reader)
    result, rows = evaluate(load_examples(data), classify)
    out.mkdir(parents=True, exist_ok=True)
    failures = gate_failures(result)
    under = [r for r in rows if _RANK[r["predicted"]] < _RANK[r["expected"]]]
    payload = {"data": str(data), "metrics": result, "gate_failures": failures, "under_triaged": under, "rows": rows}
    (out / "results.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    plot_confusion(result, out / "confusion_matrix.png")
    print(format_table(result), file=stream)
    misses = [r for r in rows if _missed_escalation(r) or _false_alarm(r)]
    for row in misses:
        kind = "MISSED " if _missed_escalation(row) else "ALARM  "
        print(f"  {kind}{row['expected']:>9} -> {row['predicted']:<9} {row['text'][:110]!r}", file=stream)
    for failure in failures:
        print(f"GATE FAILED: {failure}", file=stream)
    print(f"results: {out / 'results.json'}, {out / 'confusion_matrix.png'}", file=stream)
    return 1 if failures else 0


def _missed_escalation(row: Dict) -> bool:
    if row["expected"] == "emergency":
        return row["predicted"] != "emergency"
    return _RANK[row["expected"]] >= _RANK["urgent"] and _RANK[row["predicted"]] < _RANK["urgent"]


def _false_alarm(row: Dict) -> bool:
    return _RANK[row["expected"]] <= _RANK["normal"] and _RANK[row["predicted"]] >= _RANK["urgent"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="JSONL files of labelled messages")
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="directory for results.json and the PNG (one sub-directory per set when several)",
    )
    parser.add_argument("--criteria", type=Path, default=None, help="criteria YAML (default: data/triage)")
    parser.add_argument(
        "--analyzer",
        default="bot.cli.nlu:analyze",
        help="module:function returning (entities, intent_confidence) for a text",
    )
    parser.add_argument(
        "--second-reading",
        type=Path,
        default=None,
        help="the built second reading (default: the settings' SECOND_READING_PATH, built by make train)",
    )
    parser.add_argument(
        "--rules-only", action="store_true", help="judge the rules without the second reading (a before-figure)"
    )
    args = parser.parse_args(argv)
    analyzer = load_analyzer(args.analyzer)
    criteria = load_criteria(args.criteria) if args.criteria else None
    reader = None if args.rules_only else _second_reader(args.second_reading)
    if len(args.data) == 1:
        return run(args.data[0], args.out, analyzer=analyzer, criteria=criteria, reader=reader)
    return run_sets(args.data, args.out, analyzer=analyzer, criteria=criteria, reader=reader)


def _second_reader(path: Optional[Path]) -> Reader:
    from bot.nlp import second_reading
    from bot.settings import Settings

    try:
        return second_reading.load(str(path or Settings.from_env().second_reading_path))
    except FileNotFoundError as error:
        raise SystemExit(str(error)) from None


if __name__ == "__main__":
    sys.exit(main())
