"""`aftercare triage`: JSON Lines in, one decision per line out, through the trained Rasa NLU and the engine.

echo '{"text": "there is pus and it is spreading", "days_since": 3}' | aftercare triage
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from bot.bootstrap import clinic_service
from bot.cli.nlu import DEFAULT_MODEL, ModelMissing, RasaNLU
from bot.settings import ConfigError, Settings
from bot.triage.criteria import CriteriaError
from bot.triage.model import PatientContext


def register(subparsers: "argparse._SubParsersAction") -> None:
    parser = subparsers.add_parser(
        "triage",
        help="triage JSON Lines from stdin (text, days_since?, method?)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="trained Rasa model (make train)")
    parser.set_defaults(func=run)


def _error(line_no: int, message: str) -> dict:
    return {"line": line_no, "error": message}


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        service = clinic_service(settings, with_store=False)
        nlu = RasaNLU(args.model)
    except (ModelMissing, CriteriaError, ConfigError) as error:
        print(f"aftercare triage: {error}", file=sys.stderr)
        return 2
    for line_no, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            text = item["text"]
            if not isinstance(text, str):
                raise TypeError
            days = item.get("days_since")
            hours = None if days is None else float(days) * 24.0
        except (ValueError, KeyError, TypeError):
            print(json.dumps(_error(line_no, 'expected {"text": "...", "days_since": number?, "method": "..."?}')))
            continue
        entities, confidence, intent = nlu.analyze(text)
        context = PatientContext(hours_since_treatment=hours, method=item.get("method"), area=item.get("area"))
        # The same service call as the triage action: what this prints is what a patient's message would get.
        outcome = service.assess(None, text, entities, confidence, intent=intent, fallback_context=context)
        print(
            json.dumps(
                {
                    "level": outcome.decision.level.value,
                    "criteria": list(outcome.decision.criteria),
                    "findings": [asdict(f) for f in outcome.report.findings],
                }
            ),
            flush=True,
        )
    return 0
