"""The import contracts in pyproject.toml ([tool.importlinter]) catch what they are written for.

`make test` runs `lint-imports` on the real code before pytest. Here the same config file is run against a small
tree of stand-in packages named like ours: clean, it passes; with one import that breaks a contract (also a lazy
one inside a function, the shape of the ImportError that once crashed `aftercare triage`, and an indirect one
through a module no contract names) the run fails and names the contract and the import chain.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Dict

import pytest
import tomli

from bot.run.processes import BIN

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "pyproject.toml"

# Every module the contracts name, as empty modules: the clean tree.
CLEAN_TREE: Dict[str, str] = {
    "bot/__init__.py": "",
    "bot/usecases/__init__.py": "",
    "bot/usecases/triage.py": "from bot.triage import engine\nfrom bot.store import repository\n",
    "bot/views.py": "from bot.store import repository\n",
    "bot/escalation/__init__.py": "",
    "bot/escalation/states.py": "import enum\n",
    "bot/escalation/policy.py": "from bot.escalation import states\n",
    "bot/escalation/alerts.py": "",
    "bot/checkins/__init__.py": "",
    "bot/checkins/schedule.py": "",
    "bot/checkins/texts.py": "from bot.checkins import schedule\n",
    "bot/screening/__init__.py": "",
    "bot/cli/__init__.py": "from bot.usecases import triage\n",
    "bot/run/__init__.py": "",
    "bot/bootstrap/__init__.py": "from bot.usecases import triage\n",
    "bot/web/__init__.py": "from bot.usecases import triage\n",
    "bot/helpers.py": "",
    "bot/triage/__init__.py": "",
    "bot/triage/engine.py": "import re\nimport yaml\n",
    "bot/store/__init__.py": "",
    "bot/store/repository.py": "import sqlalchemy\nfrom bot.triage import engine\n",
    "bot/telegram/__init__.py": "",
    "bot/telegram/gateway.py": "import telegram\nfrom bot import bootstrap\n",
    "bot/outbox/__init__.py": "",
    "bot/outbox/worker.py": "import sqlalchemy\nfrom bot.store import repository\n",
    "bot/outbox/retry.py": "",
    "bot/outbox/errors.py": "",
    "actions/__init__.py": "",
    "actions/action_triage.py": "import rasa_sdk\nfrom bot import bootstrap\n",
    "devtools/__init__.py": "",
    "devtools/evaluate.py": "from bot.usecases import triage\n",
}

LAZY = "def analyze(text):\n    from {module} import {name}\n    return {name}(text)\n"


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    # cwd=tree: lint-imports puts the working directory first on sys.path, so these packages shadow the real ones.
    return subprocess.run(
        [str(BIN / "lint-imports"), "--config", str(CONFIG), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
    )


def make_tree(root: Path, files: Dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


# What each contract must forbid (issue 11). Weakening one is a decision to write down here, not a silent edit.
REQUIRED = [
    ({"bot.triage"}, {"bot.store", "bot.telegram", "rasa", "rasa_sdk", "sqlalchemy", "telegram", "spacy"}),
    ({"bot"}, {"actions"}),
    ({"actions"}, {"bot.telegram", "telegram"}),
    ({"bot", "actions"}, {"devtools"}),
    (
        {"bot.store"},
        {"bot.telegram", "telegram", "bot.escalation", "bot.checkins", "bot.screening", "bot.usecases", "bot.views"},
    ),
    (
        {"bot.escalation", "bot.checkins", "bot.screening"},
        {"bot.store", "sqlalchemy", "telegram", "bot.usecases"},
    ),
    ({"bot.usecases", "bot.views"}, {"bot.telegram", "telegram", "rasa", "rasa_sdk", "bot.cli", "bot.run"}),
    ({"bot.telegram", "actions"}, {"bot.cli"}),
    ({"bot.outbox"}, {"bot.telegram", "telegram", "bot.escalation", "bot.checkins"}),
    ({"bot.outbox.retry", "bot.outbox.errors"}, {"bot.store", "sqlalchemy"}),
]


def test_the_config_has_the_required_contracts():
    config = tomli.loads(CONFIG.read_text(encoding="utf-8"))["tool"]["importlinter"]
    assert set(config["root_packages"]) == {"bot", "actions", "devtools"}
    assert config["include_external_packages"] is True
    contracts = [(set(c["source_modules"]), set(c["forbidden_modules"]), c) for c in config["contracts"]]
    for sources, forbidden in REQUIRED:
        matching = [c for s, f, c in contracts if s == sources and forbidden <= f]
        assert matching, f"no contract forbids {sorted(forbidden)} to {sorted(sources)}"
        for contract in matching:
            assert contract["type"] == "forbidden" and not contract.get("allow_indirect_imports"), contract


def test_the_clean_tree_keeps_every_contract(tmp_path):
    result = lint_imports(make_tree(tmp_path, CLEAN_TREE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    "contract, changed, chain",
    [
        pytest.param(
            "entry points go through the use cases",
            {"bot/web/__init__.py": "from bot.store import repository\n"},
            "bot.web -> bot.store.repository",
            id="console-writes-the-tables",
        ),
        pytest.param(
            "the web console knows no Telegram library",
            {"bot/web/__init__.py": "import telegram\n"},
            "bot.web -> telegram",
            id="console-imports-telegram",
        ),
        pytest.param(
            "bot.triage is pure",
            {"bot/triage/engine.py": LAZY.format(module="sqlalchemy", name="text")},
            "bot.triage.engine -> sqlalchemy",
            id="triage-imports-sqlalchemy-lazily",
        ),
        pytest.param(
            "bot.triage is pure",
            {"bot/triage/engine.py": "from bot import helpers\n", "bot/helpers.py": "import spacy\n"},
            "bot.helpers -> spacy",
            id="triage-imports-spacy-through-a-helper",
        ),
        pytest.param(
            "bot.triage is pure",
            {"bot/triage/engine.py": "from bot.store import repository\n"},
            "bot.triage.engine -> bot.store.repository",
            id="triage-imports-the-store",
        ),
        pytest.param(
            "bot never imports actions",
            {"bot/cli/nlu.py": LAZY.format(module="actions.action_triage", name="intent_confidence")},
            "bot.cli.nlu -> actions.action_triage",
            id="bot-imports-actions-lazily",
        ),
        pytest.param(
            "actions never talk to Telegram",
            {"actions/action_triage.py": "from bot.telegram import gateway\n"},
            "actions.action_triage -> bot.telegram.gateway",
            id="actions-import-the-gateway",
        ),
        pytest.param(
            "actions never talk to Telegram",
            {"actions/alerts.py": "import telegram\n"},
            "actions.alerts -> telegram",
            id="actions-import-telegram",
        ),
        pytest.param(
            "bot and actions never import devtools",
            {"bot/bootstrap/gateway.py": "from devtools import evaluate\n"},
            "bot.bootstrap.gateway -> devtools.evaluate",
            id="bot-imports-devtools",
        ),
        pytest.param(
            "bot.store only stores",
            {"bot/store/outbox.py": "import telegram\n"},
            "bot.store.outbox -> telegram",
            id="store-imports-telegram",
        ),
        pytest.param(
            "bot.store only stores",
            {"bot/store/repository.py": "from bot.escalation import policy\n"},
            "bot.store.repository -> bot.escalation.policy",
            id="store-decides-who-is-alerted",
        ),
        pytest.param(
            "bot.store only stores",
            {"bot/store/repository.py": LAZY.format(module="bot.usecases.triage", name="ClinicService")},
            "bot.store.repository -> bot.usecases.triage",
            id="store-imports-a-use-case-lazily",
        ),
        pytest.param(
            "entry points go through the use cases",
            {"bot/cli/__init__.py": "from bot.store import repository\n"},
            "bot.cli -> bot.store.repository",
            id="cli-writes-the-tables",
        ),
        pytest.param(
            "entry points go through the use cases",
            {"bot/telegram/gateway.py": LAZY.format(module="bot.store.repository", name="audit")},
            "bot.telegram.gateway -> bot.store.repository",
            id="gateway-writes-the-tables-lazily",
        ),
        pytest.param(
            "the policies are pure",
            {"bot/escalation/policy.py": "import sqlalchemy\n"},
            "bot.escalation.policy -> sqlalchemy",
            id="policy-imports-the-database",
        ),
        pytest.param(
            "use cases and views know no messenger",
            {"bot/usecases/triage.py": "import telegram\n"},
            "bot.usecases.triage -> telegram",
            id="use-case-imports-telegram",
        ),
        pytest.param(
            "the Telegram gateway and the Rasa actions never import a command-line tool",
            {"bot/telegram/gateway.py": "from bot import cli\n"},
            "bot.telegram.gateway -> bot.cli",
            id="gateway-imports-a-cli",
        ),
        pytest.param(
            "bot.outbox knows no Telegram",
            {"bot/outbox/worker.py": LAZY.format(module="telegram", name="Bot")},
            "bot.outbox.worker -> telegram",
            id="outbox-imports-telegram-lazily",
        ),
        pytest.param(
            "bot.outbox knows no Telegram",
            {
                "bot/outbox/worker.py": "from bot.escalation import alerts\n",
                "bot/escalation/__init__.py": "",
                "bot/escalation/alerts.py": "",
            },
            "bot.outbox.worker -> bot.escalation.alerts",
            id="outbox-imports-an-alert-source",
        ),
        pytest.param(
            "bot.outbox's retry rule and send errors are pure",
            {"bot/outbox/retry.py": "from bot.outbox import worker\n"},
            "bot.outbox.worker -> sqlalchemy",
            id="retry-rule-imports-the-database-through-the-worker",
        ),
    ],
)
def test_a_broken_contract_fails_the_run(tmp_path, contract, changed, chain):
    result = lint_imports(make_tree(tmp_path, {**CLEAN_TREE, **changed}))
    assert result.returncode != 0, result.stdout + result.stderr
    broken = [line for line in result.stdout.splitlines() if line.endswith(" BROKEN")]
    assert [line for line in broken if line.startswith(contract)], result.stdout
    assert chain in result.stdout, result.stdout
