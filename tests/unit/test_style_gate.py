"""`make lint` (run first by `make test`) fails on what it is there to catch: ruff's lint rules and its formatter,
with the project's own configuration (pyproject.toml [tool.ruff]). The import contracts have their own test
(test_import_contracts.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bot.run.processes import BIN

ROOT = Path(__file__).resolve().parents[2]


def ruff(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "ruff"), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def project_copy(tmp_path: Path, source: str) -> Path:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "example.py").write_text(source, encoding="utf-8")
    return tmp_path


def test_the_project_passes_its_own_gate():
    assert ruff("check", "--quiet", ".", cwd=ROOT).returncode == 0
    assert ruff("format", "--check", "--quiet", ".", cwd=ROOT).returncode == 0


def test_an_unused_import_fails_the_lint(tmp_path):
    tree = project_copy(tmp_path, "import os\n\n\ndef f() -> int:\n    return 1\n")
    result = ruff("check", ".", cwd=tree)
    assert result.returncode != 0 and "F401" in result.stdout


def test_unformatted_code_fails_the_format_check(tmp_path):
    tree = project_copy(tmp_path, "def f( a ):\n    return {'a':a}\n")
    result = ruff("format", "--check", ".", cwd=tree)
    assert result.returncode != 0 and "example.py" in result.stdout
