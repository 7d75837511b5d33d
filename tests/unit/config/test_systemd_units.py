"""The production profile's systemd units (deploy/systemd): what they start, that they restart with a backoff,
stay on loopback, keep files private, pin the log level, and give each process only the secrets it needs."""

import importlib
import re
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[3] / "deploy" / "systemd"


def directives(name):
    """key -> list of values ([Service] and the rest; systemd allows a key more than once)."""
    out = {}
    text = (UNITS / name).read_text(encoding="utf-8").replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, value = line.split("=", 1)
            out.setdefault(key.strip(), []).append(value.strip())
    return out


@pytest.mark.parametrize(
    "name",
    ["aftercare-actions@.service", "aftercare-rasa@.service", "aftercare-gateway.service", "aftercare-web.service"],
)
def test_every_unit_restarts_with_a_backoff_and_keeps_its_files_private(name):
    unit = directives(name)
    assert unit["Restart"] == ["always"]
    assert unit["RestartSec"] == ["1s"] and unit["RestartMaxDelaySec"] == ["30s"]
    assert unit["UMask"] == ["0077"] and unit["NoNewPrivileges"] == ["yes"] and unit["ProtectSystem"] == ["strict"]
    assert "LOG_LEVEL=INFO" in " ".join(unit["Environment"])  # DEBUG would log what patients wrote
    assert unit["User"] == ["aftercare"]


def test_the_action_server_unit_runs_our_action_server_on_a_port():
    unit = directives("aftercare-actions@.service")
    (start,) = unit["ExecStart"]
    assert re.search(r"-m bot\.run\.action_server --port %i$", start)
    importlib.import_module("bot.run.action_server")  # the module the unit starts exists
    assert not any("gateway" in f for f in unit["EnvironmentFile"])  # no Telegram token


def test_rasa_runs_on_loopback_without_its_http_api_and_without_the_clinic_database():
    unit = directives("aftercare-rasa@.service")
    (start,) = unit["ExecStart"]
    assert " -i 127.0.0.1 " in start and "--enable-api" not in start
    assert "endpoints.production.yml" in start and (UNITS.parents[1] / "endpoints.production.yml").is_file()
    assert unit["EnvironmentFile"] == ["/etc/aftercare/rasa-%i.env"]  # not clinic.env, not gateway.env


def test_only_the_gateway_gets_the_telegram_settings():
    gateway = directives("aftercare-gateway.service")
    (start,) = gateway["ExecStart"]
    assert start.endswith("-m bot.run.gateway")
    assert "/etc/aftercare/gateway.env" in gateway["EnvironmentFile"]
    for other in ("aftercare-actions@.service", "aftercare-rasa@.service"):
        assert "/etc/aftercare/gateway.env" not in directives(other)["EnvironmentFile"]


def test_the_web_console_unit_runs_the_console_with_its_own_settings():
    unit = directives("aftercare-web.service")
    (start,) = unit["ExecStart"]
    assert start.endswith("-m bot.run.web")
    importlib.import_module("bot.run.web")  # the module the unit starts exists
    assert unit["EnvironmentFile"] == ["/etc/aftercare/clinic.env", "/etc/aftercare/web.env"]  # not gateway.env
