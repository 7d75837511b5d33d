"""The triage core stays pure: importing it must not pull in Rasa, SQLAlchemy or Telegram."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
TRIAGE = ROOT / "bot" / "triage"
FORBIDDEN = ("rasa", "rasa_sdk", "sqlalchemy", "telegram", "spacy")
CORE = (
    "bot.triage.model",
    "bot.triage.criteria",
    "bot.triage.engine",
    "bot.triage.findings",
    "bot.triage.screen",
    "bot.triage.advice",
)


@pytest.mark.parametrize("path", sorted(TRIAGE.glob("*.py")), ids=lambda p: p.name)
def test_no_forbidden_import_statements(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"rasa", "rasa_sdk", "sqlalchemy", "telegram"}, path


def test_importing_the_core_loads_no_framework_in_a_fresh_interpreter() -> None:
    code = (
        "import json, sys\n"
        f"for name in {CORE!r}: __import__(name)\n"
        "from bot.triage.criteria import load_criteria\n"
        "from bot.triage.engine import triage\n"
        "from bot.triage.model import Report, PatientContext, Finding\n"
        "triage(Report(findings=(Finding('redness'),)), PatientContext(), load_criteria())\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
