"""From a spaCy doc (or raw text) to Rasa-style entity dicts with canonical values and negation.

This is the single place that turns the pipeline's output into what the rest of the system reads, used by the
Rasa component (bot.rasa_nlu), by the gateway's safety net when Rasa is down, and by tests.

An entity dict: {"entity": label, "value": canonical value, "start": int, "end": int, "text": the patient's
words, "role": "negated" (only when negated)}. Numbers are normalised: time_expression -> hours ago (float),
pain_score -> "0".."10", temperature -> °C.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from spacy.tokens import Span

from bot.nlp import values
from bot.nlp import vocabulary as v


def entities_from_doc(doc, now: Optional[datetime] = None) -> List[Dict]:
    entities: List[Dict] = []
    for ent in doc.ents:
        label, ident, words = ent.label_, ent.ent_id_ or "", ent.text
        if label not in v.ENTITY_LABELS:
            continue  # "cold sore", "hot shower": matched only so that "sore" and "hot" are not
        value: object = ident
        implied = None
        if label == v.SYMPTOM and "|" in ident:
            value, implied = ident.split("|", 1)
        elif label == v.TIME:
            value = values.parse_hours_ago(words, now)
        elif label == v.PAIN_SCORE:
            score = values.parse_pain_score(words)
            value = None if score is None else str(score)
        elif label == v.TEMPERATURE:
            celsius = values.parse_temperature_c(words)
            value = None if celsius is None else str(celsius)
        if value in (None, ""):
            continue  # the ruler matched words whose number makes no sense ("45 degrees"): not an entity
        entity = {"entity": label, "value": value, "start": ent.start_char, "end": ent.end_char, "text": words}
        if ent._.negex:
            entity["role"] = v.NEGATED_ROLE
        elif Span.has_extension("context") and ent._.context:
            entity["role"] = ent._.context
        entities.append(entity)
        if implied:  # a modifier carried by the symptom's own words shares its span (and its negation)
            label = v.TREND if implied in v.TRENDS else v.SEVERITY
            entities.append({**entity, "entity": label, "value": implied})
    return entities


@lru_cache(maxsize=2)
def _pipeline(path: str):
    from bot.nlp import pipeline

    return pipeline.load(path)


def default_model_path() -> Path:
    from bot.settings import Settings

    return Settings.from_env().spacy_model_path


def analyze_text(text: str, model_path: Optional[Path] = None, now: Optional[datetime] = None) -> List[Dict]:
    """Entities of `text` using the built pipeline (see `make spacy`)."""
    path = Path(model_path or default_model_path())
    if not (path / "meta.json").exists():
        raise FileNotFoundError(f"spaCy pipeline not found at {path}: run `make spacy` to build it.")
    return entities_from_doc(_pipeline(str(path))(text), now)


def summarize(entities: List[Dict]) -> List[Tuple[str, object, bool]]:
    """(label, value, negated) triples: handy for tests and the CLI."""
    return [(e["entity"], e["value"], e.get("role") == v.NEGATED_ROLE) for e in entities]
