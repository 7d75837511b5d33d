"""The action server as `make run` starts it (bot.run.processes.action_server_args -> bot/run/action_server.py): on
loopback only, refusing every request without the shared secret, serving those with it, and quiet about what
patients wrote even when LOG_LEVEL=DEBUG."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator

import httpx
import pytest

from bot.run.processes import Processes, action_server_args, free_port

TOKEN = secrets.token_urlsafe(24)
SAID = "SECRET-WORDS green pus from the needle holes"


def listening_addresses(pid: int, port: int) -> set:
    """The local addresses on which `port` is in LISTEN state, from the process's view of /proc/net/tcp{,6}."""
    found = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Dict]:
    tmp = tmp_path_factory.mktemp("actions")
    port = free_port()
    env = {
        **os.environ,
        "ACTION_SERVER_TOKEN": TOKEN,
        "DATABASE_URL": f"sqlite:///{tmp / 'clinic.db'}",
        "AFTERCARE_DATA_DIR": str(tmp / "var"),
        "LOG_LEVEL": "DEBUG",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    with Processes(tmp, env) as processes:
        processes.spawn("actions", action_server_args(port))
        processes.wait_http("actions", f"http://127.0.0.1:{port}/health", timeout=120)
        yield {"url": f"http://127.0.0.1:{port}", "port": port, "child": processes["actions"]}


def action_call(name: str = "action_session_start") -> Dict:
    """What Rasa POSTs to /webhook to run an action (a new conversation, one user message)."""
    return {
        "next_action": name,
        "sender_id": "patient-1",
        "version": "3.6.2",
        "tracker": {
            "sender_id": "patient-1",
            "slots": {},
            "latest_message": {"text": SAID, "intent": {}, "entities": []},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": None,
        },
        "domain": {"slots": {}, "responses": {}, "intents": [], "entities": [], "actions": []},
    }


def test_the_webhook_refuses_requests_without_the_secret(server) -> None:
    url = server["url"]
    assert httpx.post(f"{url}/webhook", json=action_call(), timeout=30).status_code == 401
    assert (
        httpx.post(f"{url}/webhook", params={"token": "guess" * 5}, json=action_call(), timeout=30).status_code == 401
    )
    assert (
        httpx.post(
            f"{url}/webhook", headers={"Authorization": f"Bearer {TOKEN}"}, json=action_call(), timeout=30
        ).status_code
        == 401
    )  # only where Rasa puts it
    assert httpx.get(f"{url}/actions", timeout=30).status_code == 401  # the list of actions too


def test_with_the_secret_the_action_runs(server) -> None:
    response = httpx.post(f"{server['url']}/webhook", params={"token": TOKEN}, json=action_call(), timeout=60)
    assert response.status_code == 200, response.text
    events = [event["event"] for event in response.json()["events"]]
    assert events[0] == "session_started" and events[-1] == "action"
    actions = httpx.get(f"{server['url']}/actions", params={"token": TOKEN}, timeout=30)
    assert {"name": "action_triage"} in actions.json()


def test_health_is_open_and_no_web_page_may_call_it(server) -> None:
    response = httpx.get(f"{server['url']}/health", headers={"Origin": "https://evil.example"}, timeout=30)
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_it_listens_on_loopback_only(server) -> None:
    assert listening_addresses(server["child"].pid, server["port"]) == {"0100007F"}  # 127.0.0.1, not 0.0.0.0


def test_debug_does_not_log_what_patients_wrote_nor_the_secret(server) -> None:
    httpx.post(f"{server['url']}/webhook", params={"token": TOKEN}, json=action_call(), timeout=60)
    httpx.post(f"{server['url']}/webhook", json=action_call(), timeout=60)
    log = server["child"].log_tail(200_000)
    assert "SECRET-WORDS" not in log and TOKEN not in log
    assert " DEBUG " not in log
    assert "refused a request to POST /webhook" in log


def test_without_a_secret_it_does_not_start(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ACTION_SERVER_TOKEN"}
    result = subprocess.run(
        action_server_args(free_port()),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 2 and "ACTION_SERVER_TOKEN is not set" in result.stderr
    assert sys.executable == action_server_args(1)[0] and TOKEN not in " ".join(action_server_args(1))
