"""Custom Rasa NLU components. The only module of `bot` (with bot.nlp.pipeline) that knows Rasa's NLU API.

ClinicalEntities  Rasa's SpacyEntityExtractor keeps only label and text: it drops negspacy's negation and the
                  entity ruler's canonical id. This component puts them back (value = canonical, role =
                  "negated"), normalises numbers (hours ago, pain score, °C) and adds implied trends.
SafetyRouter      The red-flag screen must run on every message whatever DIET thinks: when the message mentions
                  a symptom (or a red-flag word) the intent is routed to report_symptom / emergency, so the
                  triage action sees it. The original intent is kept under "safety_override" for the record.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.utils.spacy_utils import SpacyModel
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

import bot.nlp.pipeline  # noqa: F401  (registers negex + negation_scope before SpacyNLP loads the pipeline)
from bot.nlp import vocabulary as v
from bot.nlp.analyze import entities_from_doc
from bot.nlp.second_reading import read_or_none
from bot.rasa_nlu import speedups

speedups.apply()  # Rasa imports this module when it loads the model: the cut applies in every Rasa process

SPACY_EXTRACTOR = "SpacyEntityExtractor"
EMERGENCY_SYMPTOMS = v.EMERGENCY_SYMPTOMS
# Intents a symptom mention must not be left in: they lead to replies that ignore the symptom.
ROUTED_FROM = frozenset(
    {"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "out_of_scope", "nlu_fallback", "inform"}
)
# The guide's expected reactions: a question that mentions only these ("how do I care for peeling skin?") is a
# question, not a report. Anything else mentioned in a question still goes to triage.
EXPECTED_REACTIONS = frozenset(
    {
        "redness",
        "swelling",
        "warmth",
        "peeling",
        "tightness",
        "acne",
        "sensitivity",
        "itching",
        "bleeding",
        "bruising",
        "hair_shedding",
    }
)


def _may_hide_a_report(intent: Optional[str]) -> bool:
    """Intents a report in unforeseen words ends up in: a question, something off-topic, or nothing DIET knows.
    Short replies (inform, affirm, thanks, ...) are answers in a conversation, not reports."""
    return intent in ("out_of_scope", "nlu_fallback", None) or intent.startswith("ask_aftercare")


_QUESTION = re.compile(
    r"\?|^\s*(how|what|when|whats|what's|can|could|should|shall|is|are|will|would|do|does|"
    r"why|which|may|any tips|tips)\b",
    re.IGNORECASE,
)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False, model_from="SpacyNLP")
class ClinicalEntities(GraphComponent):
    """Carries negation and canonical values from our spaCy pipeline into Rasa's entities."""

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "ClinicalEntities":
        return cls()

    def process_training_data(self, training_data: TrainingData, model: SpacyModel) -> TrainingData:
        return training_data

    def process(self, messages: List[Message], model: SpacyModel) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            enriched = entities_from_doc(model.model(text))
            by_span = {(e["start"], e["end"], e["entity"]): e for e in enriched}
            kept: List[Dict[str, Any]] = []
            for entity in message.get(ENTITIES, []):
                if entity.get("extractor") != SPACY_EXTRACTOR:
                    kept.append(entity)
                    continue
                ours = by_span.pop((entity["start"], entity["end"], entity["entity"]), None)
                if ours is not None:  # None: a number the parser rejected ("45 degrees"), not an entity
                    kept.append({**entity, **ours, "extractor": SPACY_EXTRACTOR})
            # Left over: implied modifiers ("hotter" -> warmth + increasing) share the span of their symptom.
            kept.extend(
                {**e, "extractor": type(self).__name__}
                for e in by_span.values()
                if e["entity"] in (v.TREND, v.SEVERITY)
            )
            message.set(ENTITIES, kept, add_to_output=True)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SafetyRouter(GraphComponent):
    """Routes any message that mentions a symptom or red-flag word to triage, whatever DIET predicted."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # second_reading: path of the built second reading (relative to where Rasa runs, like SpacyNLP's model);
        # a message it reads as needing a practitioner with at least `second_reading_route_at` goes to triage.
        return {"question_confidence": 0.8, "second_reading": None, "second_reading_route_at": 0.5}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.question_confidence = float(config.get("question_confidence", 0.8))
        self.route_at = float(config.get("second_reading_route_at", 0.5))
        path = config.get("second_reading")
        self.reader = None
        if path:
            from bot.nlp import second_reading

            self.reader = second_reading.load(str(path))

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SafetyRouter":
        return cls({**cls.get_default_config(), **config})

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            target = self.route(message.get(TEXT) or "", message.get(INTENT) or {}, message.get(ENTITIES, []))
            if target:
                intent = message.get(INTENT) or {}
                message.set(
                    "safety_override",
                    {"from": intent.get("name"), "confidence": intent.get("confidence")},
                    add_to_output=True,
                )
                message.set(INTENT, {"name": target, "confidence": intent.get("confidence") or 0.0}, add_to_output=True)
                ranking = message.get(INTENT_RANKING_KEY) or []
                message.set(
                    INTENT_RANKING_KEY,
                    [
                        {"name": target, "confidence": intent.get("confidence") or 0.0},
                        *[r for r in ranking if r.get("name") != target],
                    ],
                    add_to_output=True,
                )
        return messages

    def route(self, text: str, intent: Dict[str, Any], entities: List[Dict[str, Any]]) -> Optional[str]:
        """The intent to use instead of the predicted one, or None to keep it."""
        name = intent.get("name")
        confidence = intent.get("confidence") or 0.0
        target = self._route_by_words(text, name, confidence, entities)
        if target is None and _may_hide_a_report(name) and self._reads_as_report(text, entities):
            return "report_symptom"  # words no list knows, but the second reading says a practitioner should see it
        return target

    def _reads_as_report(self, text: str, entities: List[Dict[str, Any]]) -> bool:
        reading = read_or_none(self.reader, text, entities)  # none: the words go where DIET and the lists send them
        return reading is not None and reading.escalate >= self.route_at

    def _route_by_words(
        self, text: str, name: Optional[str], confidence: float, entities: List[Dict[str, Any]]
    ) -> Optional[str]:
        from bot.triage.screen import screen

        symptoms = [e for e in entities if e.get("entity") == v.SYMPTOM]
        present = {e["value"] for e in symptoms if e.get("role") not in (v.NEGATED_ROLE, *v.CONTEXT_ROLES)}
        # A what-if, someone else's or a long-past symptom explains its red-flag words: "how would I spot an
        # infection?" stays a question; the patient's own words still go to triage.
        in_context = {e["value"] for e in symptoms if e.get("role") in v.CONTEXT_ROLES}
        hits = set(screen(text)) - in_context
        if (present | hits) & EMERGENCY_SYMPTOMS and name != "emergency":
            return "emergency"
        if name in ROUTED_FROM and in_context:
            return "report_symptom"  # "thanks! what if it gets infected?": triage says what to watch for
        if name in ("report_symptom", "emergency") or not (present or hits):
            return None
        if name in ROUTED_FROM:
            return "report_symptom"
        # An aftercare question that only mentions expected reactions is answered as a question when DIET is
        # sure and it is phrased as one. Red-flag words, other symptoms, or doubt send it to triage.
        if name and name.startswith("ask_aftercare"):
            if (
                not hits
                and present <= EXPECTED_REACTIONS
                and confidence >= self.question_confidence
                and _QUESTION.search(text)
            ):
                return None
        return "report_symptom"
