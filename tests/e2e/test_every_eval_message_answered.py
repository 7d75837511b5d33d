"""Nothing unanswered: every message of every evaluation set (data/triage_eval/*.jsonl) gets a reply over the REST
channel from the real Rasa and action servers, besides the first-contact disclaimer."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.test_rest_conversations import say

pytestmark = [pytest.mark.e2e, pytest.mark.rasa]

EVAL_DIR = Path(__file__).resolve().parents[2] / "data" / "triage_eval"


def eval_messages():
    for path in sorted(EVAL_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield path.stem, json.loads(line)["text"]


def test_every_evaluation_message_gets_a_reply(servers):
    messages = list(eval_messages())
    assert len(messages) >= 600, "the evaluation sets are missing"

    def reply(item):
        # A new conversation each: a message must be answered on its own, not as the answer to a question.
        return item, say(servers, f"eval-{uuid.uuid4().hex[:10]}", item[1])

    with ThreadPoolExecutor(max_workers=4) as pool:
        unanswered = [item for item, replies in pool.map(reply, messages) if not any(r.strip() for r in replies)]
    assert not unanswered, f"{len(unanswered)} of {len(messages)} messages got no reply: {unanswered[:10]}"
