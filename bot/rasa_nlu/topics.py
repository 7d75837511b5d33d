"""TopicSelector: which aftercare answer (ask_aftercare/<topic>) a question gets, in place of Rasa's
ResponseSelector.

Why not the ResponseSelector: with ~30 examples a topic and no word vectors (the spaCy pipeline is built from our
own lexicon, nothing downloaded), it levelled off at 84-86 % on the held-out questions whatever we tried (layers,
epochs, dropout, a transformer layer). A linear model over word and character n-grams and the clinic's word
groups (tf-idf, logistic regression) reads the same data better, trains in seconds and is easy to reason about:
the words of the question, weighted, vote for a topic.

The output has the ResponseSelector's shape (message["response_selector"]["ask_aftercare"]), so Rasa's own
`utter_ask_aftercare` action, the rules and the conversation tests work unchanged.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Text

import joblib
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RESPONSES_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.shared.constants import UTTER_PREFIX
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlp.linear_text import fast_or_none

logger = logging.getLogger(__name__)
MODEL_FILE = "topic_selector.joblib"


class VocabularyTagger:
    """Turns a text into the names of the word groups it mentions ("prosecco tonight" -> "drink_words"), from the
    lookup tables of the NLU data (data/nlu/aftercare_vocabulary.yml). A word no training question uses still
    points to its topic through its group. A plain class with picklable state: it is saved with the model."""

    def __init__(self, groups: Dict[str, Sequence[str]]) -> None:
        self.patterns = {
            name: re.compile(
                r"\b(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b", re.IGNORECASE
            )
            for name, words in sorted(groups.items())
            if words
        }

    def fit(self, texts: Sequence[str], labels: Any = None) -> "VocabularyTagger":
        return self

    def transform(self, texts: Sequence[str]) -> List[str]:
        return [
            " ".join(name for name, pattern in self.patterns.items() if pattern.search(text)) or "_none"
            for text in texts
        ]

    def get_params(self, deep: bool = True) -> Dict[str, Any]:  # scikit-learn's estimator protocol
        return {}


def build_classifier(c: float, seed: int, groups: Dict[str, Sequence[str]]):
    """Word 1-2-grams, character 2-5-grams (typos, "moisturiser"/"moisturizer") and the word groups mentioned,
    each tf-idf weighted, into one logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    features = [
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True),
    ]
    if groups:
        features.append(make_pipeline(VocabularyTagger(groups), TfidfVectorizer(token_pattern=r"\S+")))
    return make_pipeline(make_union(*features), LogisticRegression(C=c, max_iter=3000, random_state=seed))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class TopicSelector(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"retrieval_intent": "ask_aftercare", "C": 10.0, "ranking_length": 5, "random_seed": 42}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        classifier: Any = None,
        responses: Optional[Dict[Text, List[Dict[Text, Any]]]] = None,
    ) -> None:
        self.config = config
        self.retrieval_intent = config["retrieval_intent"]
        self._model_storage = model_storage
        self._resource = resource
        self.classifier = classifier
        # The same classifier read with dictionaries (bot.nlp.linear_text): ~0.5 ms a message instead of ~5 ms;
        # a classifier of another shape is read by scikit-learn as before.
        self.fast = fast_or_none(classifier) if classifier is not None else None
        self.responses = responses or {}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "TopicSelector":
        return cls({**cls.get_default_config(), **config}, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [
            (m.get(TEXT), m.get(INTENT_RESPONSE_KEY))
            for m in training_data.training_examples
            if m.get(INTENT) == self.retrieval_intent and m.get(TEXT) and m.get(INTENT_RESPONSE_KEY)
        ]
        if len({key for _, key in examples}) < 2:
            raise ValueError(
                f"TopicSelector needs examples of at least two {self.retrieval_intent}/<topic> "
                f"intents in the NLU data; found {len(examples)} example(s)."
            )
        groups = {
            table["name"]: table["elements"]
            for table in training_data.lookup_tables
            if isinstance(table.get("elements"), list)
        }
        self.classifier = build_classifier(float(self.config["C"]), int(self.config["random_seed"]), groups)
        self.classifier.fit([text for text, _ in examples], [key for _, key in examples])
        self.fast = fast_or_none(self.classifier)
        self.responses = {
            name: list(items)
            for name, items in training_data.responses.items()
            if name.startswith(f"{UTTER_PREFIX}{self.retrieval_intent}/")
        }
        self.persist()
        return self._resource

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump({"classifier": self.classifier, "responses": self.responses}, Path(directory) / MODEL_FILE)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "TopicSelector":
        try:
            with model_storage.read_from(resource) as directory:
                saved = joblib.load(Path(directory) / MODEL_FILE)
        except (ValueError, FileNotFoundError):
            logger.warning("TopicSelector has no trained model: aftercare questions get no topic until retrained")
            saved = {}
        return cls(
            {**cls.get_default_config(), **config},
            model_storage,
            resource,
            saved.get("classifier"),
            saved.get("responses"),
        )

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        if self.classifier is None:
            return messages
        for message in messages:
            text = message.get(TEXT) or ""
            if self.fast is not None:
                probabilities = self.fast.probabilities(text)
            else:
                probabilities = self.classifier.predict_proba([text])[0]
            ranked = sorted(zip(self.classifier.classes_, probabilities), key=lambda pair: -pair[1])
            key, confidence = ranked[0]
            utter_action = f"{UTTER_PREFIX}{key}"
            selector = dict(message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {})
            selector[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] = [self.retrieval_intent]
            selector[self.retrieval_intent] = {
                RESPONSE_SELECTOR_PREDICTION_KEY: {
                    RESPONSE_SELECTOR_RESPONSES_KEY: self.responses.get(utter_action, []),
                    PREDICTED_CONFIDENCE_KEY: float(confidence),
                    INTENT_RESPONSE_KEY: key,
                    RESPONSE_SELECTOR_UTTER_ACTION_KEY: utter_action,
                },
                RESPONSE_SELECTOR_RANKING_KEY: [
                    {PREDICTED_CONFIDENCE_KEY: float(p), INTENT_RESPONSE_KEY: k}
                    for k, p in ranked[: int(self.config["ranking_length"])]
                ],
            }
            message.set(RESPONSE_SELECTOR_PROPERTY_NAME, selector, add_to_output=True)
        return messages
