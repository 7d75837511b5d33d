"""Evaluation metrics, safety gates and the CLI run, with a tiny fake analyzer (no spaCy, no Rasa)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

from devtools import evaluate as ev


def fake_analyzer(text: str) -> Tuple[List[Dict], Optional[float]]:
    """Knows four words. 'no X' is negated. 'huh' lowers the confidence."""
    entities = []
    words = {"red": "redness", "pus": "discharge", "breathe": "breathing_difficulty", "bruise": "bruising"}
    for word, symptom in words.items():
        start = text.find(word)
        if start >= 0:
            entity = {"entity": "symptom", "value": symptom, "start": start, "end": start + len(word)}
            if text[max(0, start - 3) : start] == "no ":
                entity["role"] = "negated"
            entities.append(entity)
    return entities, (0.3 if "huh" in text else 0.9)


def test_metrics_on_hand_counted_pairs() -> None:
    pairs = [
        ("normal", "normal"),
        ("normal", "urgent"),
        ("urgent", "urgent"),
        ("urgent", "monitor"),
        ("emergency", "emergency"),
        ("emergency", "urgent"),
        ("monitor", "monitor"),
        ("none", "none"),
    ]
    m = ev.metrics(pairs)
    assert m["count"] == 8
    assert m["accuracy"] == pytest.approx(5 / 8)
    assert m["per_level"]["urgent"] == {"precision": pytest.approx(1 / 3), "recall": pytest.approx(1 / 2), "support": 2}
    assert m["per_level"]["normal"]["precision"] == 1.0 and m["per_level"]["normal"]["recall"] == 0.5
    # expected urgent/emergency: 4; predicted urgent or emergency among them: urgent, emergency, urgent -> 3
    assert m["escalation_recall"] == pytest.approx(3 / 4)
    assert m["emergency_recall"] == pytest.approx(1 / 2)
    assert m["under_triage_rate"] == pytest.approx(2 / 8)
    assert m["over_triage_rate"] == pytest.approx(1 / 8)
    assert m["normal_not_escalated"] == pytest.approx(1 / 2)
    matrix = m["confusion"]["matrix"]
    labels = m["confusion"]["labels"]
    assert matrix[labels.index("emergency")][labels.index("urgent")] == 1
    assert sum(map(sum, matrix)) == 8


def test_gates() -> None:
    perfect = ev.metrics([("urgent", "emergency"), ("emergency", "emergency"), ("normal", "monitor")])
    assert ev.gate_failures(perfect) == []
    missed = ev.metrics([("urgent", "monitor"), ("emergency", "emergency"), ("normal", "normal")])
    assert [f.split(" ")[0] for f in ev.gate_failures(missed)] == ["escalation_recall"]
    # No emergencies in the data: the gate cannot be shown to pass, so it fails rather than passing silently.
    assert "emergency_recall" in " ".join(ev.gate_failures(ev.metrics([("normal", "normal")])))


def write_data(tmp_path: Path, rows: List[Dict]) -> Path:
    path = tmp_path / "messages.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


ROWS = [
    {"text": "bit red", "days_since": 0.5, "expected": "normal"},
    {"text": "there is pus", "days_since": 2, "method": "microinjection", "area": "face", "expected": "urgent"},
    {"text": "I cant breathe", "expected": "emergency"},
    {"text": "no pus, thanks", "days_since": 1, "expected": "none"},
    {"text": "small bruise", "days_since": 1, "method": "microinjection", "expected": "monitor"},
]


def test_run_writes_results_and_png_and_passes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    stream = io.StringIO()
    code = ev.run(write_data(tmp_path, ROWS), out, analyzer=fake_analyzer, stream=stream)
    assert code == 0, stream.getvalue()
    payload = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert payload["metrics"]["accuracy"] == 1.0
    assert [r["predicted"] for r in payload["rows"]] == ["normal", "urgent", "emergency", "none", "monitor"]
    assert (out / "confusion_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "escalation recall      100.0%" in stream.getvalue()


def test_run_fails_when_an_escalation_is_missed(tmp_path: Path) -> None:
    rows = ROWS + [{"text": "feels odd", "days_since": 1, "expected": "urgent"}]  # the fake sees nothing
    stream = io.StringIO()
    assert ev.run(write_data(tmp_path, rows), tmp_path / "out", analyzer=fake_analyzer, stream=stream) == 1
    assert "GATE FAILED: escalation_recall" in stream.getvalue()
    payload = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert [r["text"] for r in payload["under_triaged"]] == ["feels odd"]


def test_classifier_uses_the_record_time_and_fails_closed_on_low_confidence(tmp_path: Path) -> None:
    classify = ev.make_classifier(fake_analyzer, ev.load_criteria())
    assert classify("red", 1.0, None, "face").level.value == "normal"
    assert classify("red", 4.0, None, "face").level.value == "urgent"  # redness past 72 h
    # An unsure intent does not escalate an expected reaction it parsed (red flags on their own still do).
    assert classify("red huh", 1.0, None, "face").level.value == "normal"
    assert classify("small bruise", 1.0, "microneedling", "face").level.value == "urgent"
    assert classify("small bruise", 1.0, "combined", "face").level.value == "monitor"


def test_bad_label_is_reported_with_line_number(tmp_path: Path) -> None:
    path = write_data(tmp_path, [ROWS[0], {"text": "x", "expected": "fine"}])
    with pytest.raises(ValueError, match=r"messages.jsonl:2"):
        ev.load_examples(path)


def test_cli_with_an_injected_analyzer(tmp_path: Path, capsys) -> None:
    data = write_data(tmp_path, ROWS)
    spec = f"{__name__}:fake_analyzer"
    assert ev.main(["--data", str(data), "--out", str(tmp_path / "cli"), "--analyzer", spec]) == 0
    assert "emergency recall       100.0%" in capsys.readouterr().out
    assert (tmp_path / "cli" / "results.json").is_file()


def test_missing_analyzer_is_a_clear_error() -> None:
    with pytest.raises(SystemExit, match="analyze\\(text\\)"):
        ev.load_analyzer("bot.nlp.no_such_module:analyze")


def test_the_evaluation_set_is_well_formed_and_big_enough() -> None:
    path = Path(__file__).resolve().parents[2] / "data" / "triage_eval" / "messages.jsonl"
    examples = ev.load_examples(path)
    assert len(examples) >= 300
    counts = {level: sum(1 for e in examples if e.expected == level) for level in ev.LEVELS}
    assert counts["emergency"] >= 20 and counts["urgent"] >= 60 and counts["normal"] >= 60
    assert counts["monitor"] >= 30 and counts["none"] >= 10
    assert len({e.text for e in examples}) == len(examples), "duplicate messages"
    for e in examples:
        assert e.method in (None, "microneedling", "microinjection", "combined"), e
        assert e.area in (None, "face", "scalp"), e
        assert e.days_since is None or e.days_since >= 0, e
    assert {e.area for e in examples} >= {"face", "scalp"}
