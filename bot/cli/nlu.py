"""Parse text with the trained Rasa model, in-process: the same NLU path the live assistant runs.

Used by `aftercare triage` and `make eval`. Loading the model takes a few seconds (TensorFlow); parsing is fast.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bot.settings import PROJECT_ROOT
from bot.usecases.triage import intent_confidence, intent_name

DEFAULT_MODEL = PROJECT_ROOT / "models" / "aftercare.tar.gz"


class ModelMissing(RuntimeError):
    pass


class RasaNLU:
    def __init__(self, model_path: Path = DEFAULT_MODEL):
        if not Path(model_path).is_file():
            raise ModelMissing(f"no trained Rasa model at {model_path}: run `make train` (or `make run`) first.")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        for noisy in ("rasa", "tensorflow", "absl"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
        from rasa.core.agent import Agent
        from rasa.utils.log_utils import configure_structlog

        # Rasa's structlog logs every parsed message (the patient's words) at DEBUG by default.
        configure_structlog(logging.WARNING)

        # SpacyNLP resolves its model path relative to the working directory, as `rasa run` does.
        cwd = os.getcwd()
        os.chdir(PROJECT_ROOT)
        try:
            self._loop = asyncio.new_event_loop()
            self._agent = Agent.load(str(model_path))
        finally:
            os.chdir(cwd)

    def parse(self, text: str) -> Dict[str, Any]:
        return self._loop.run_until_complete(self._agent.parse_message(text))

    def analyze(self, text: str) -> Tuple[List[Dict[str, Any]], Optional[float], Optional[str]]:
        """(entities, DIET's intent confidence, intent): the analyzer interface of bot.triage.evaluate."""
        parsed = self.parse(text)
        return parsed.get("entities") or [], intent_confidence(parsed), intent_name(parsed)


_shared: Optional[RasaNLU] = None


def analyze(text: str) -> Tuple[List[Dict[str, Any]], Optional[float], Optional[str]]:
    """Module-level analyzer over the default model, loaded on first use (for `make eval`)."""
    global _shared
    if _shared is None:
        _shared = RasaNLU()
    return _shared.analyze(text)
