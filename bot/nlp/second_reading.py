"""The second reading: a learned model that reads a patient's message as a whole and says how likely it is to
need a practitioner (escalate) and how likely it is an emergency.

Why: the rules read a message through word lists, and the long tail of how patients put things ("my pillow had
yellow crust on it", "she's been off all morning and keeps rubbing her eye") keeps slipping past them. Five
blind sets, each written by someone who had never seen the lexicon, found 10-25 % of their red flags missed at
the first run however many words were added after each. This model is trained on every labelled message we have
(the regression set and the blind sets whose first run is over; data/triage/second_reading.yml lists them) and
is used only to fail closed: the criteria escalate when it is confident, never de-escalate what the rules found.

What it reads: the words (tf-idf word 1-2-grams and character 2-5-grams, which survive typos) and what our own
spaCy pipeline understood (each entity as a token with its role: "symptom_discharge_negated",
"symptom_vision_change_hypothetical"), so that "no pus" and "what if there's pus" are not read as "pus". Two
logistic regressions with balanced class weights: escalate (urgent or emergency) and emergency.

Leave-one-set-out on blind_1..5 when this was written (each held-out set predicted by a model trained on the
others): escalation recall 96-99 % at probability 0.3 with 3-6 % of calm messages over it; emergency recall
93-100 % at 0.2 with none of the calm ones over it. The thresholds live in data/triage/criteria.yml.

Build: `python -m bot.nlp.second_reading --out build/second_reading/model.joblib` (make train runs it).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import yaml

from bot.nlp import vocabulary as v
from bot.nlp.linear_text import LinearTextModel
from bot.triage.model import SecondReading

logger = logging.getLogger(__name__)
ESCALATE = ("urgent", "emergency")
_ENTITY_LABELS_AS_TOKENS = (v.SYMPTOM, v.SEVERITY, v.TREND)
_ENTITY_LABELS_PRESENT = (v.PAIN_SCORE, v.TEMPERATURE, v.TIME, "body_area")


def entity_tokens(entities: Iterable[Mapping[str, Any]]) -> str:
    """What the parser understood, as tokens: value and role for symptoms, severities and trends; only that it
    was there (and its role) for numbers, times and body areas."""
    tokens: List[str] = []
    for entity in entities:
        label, role = entity.get("entity"), entity.get("role") or "own"
        if label in _ENTITY_LABELS_AS_TOKENS:
            tokens += [f"{label}_{entity.get('value')}_{role}", f"{label}_{role}"]
        elif label in _ENTITY_LABELS_PRESENT:
            tokens.append(f"{label}_{role}")
    return " ".join(tokens) or "_nothing"


class _Texts:
    """Picks the text out of (text, entity tokens) pairs (a named class so that the model pickles)."""

    def fit(self, rows: Any, labels: Any = None) -> "_Texts":
        return self

    def transform(self, rows: Sequence[Tuple[str, str]]) -> List[str]:
        return [text for text, _ in rows]

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        return {}


class _Tokens(_Texts):
    def transform(self, rows: Sequence[Tuple[str, str]]) -> List[str]:
        return [tokens for _, tokens in rows]


def _classifier(c: float, seed: int):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    features = make_union(
        make_pipeline(_Texts(), TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
        make_pipeline(_Texts(), TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
        make_pipeline(_Tokens(), TfidfVectorizer(token_pattern=r"\S+", lowercase=False)),
    )
    return make_pipeline(features, LogisticRegression(C=c, max_iter=5000, class_weight="balanced", random_state=seed))


@dataclass
class SecondReader:
    """Both models; `read(text, entities)` -> SecondReading."""

    escalate_model: Any
    emergency_model: Any
    trained_on: Tuple[str, ...] = ()
    # The two pipelines as LinearTextModels (scikit-learn's predict_proba costs 6 ms a message, this 0.6 ms):
    # built on first use, never pickled with them.
    _linear: Optional[Tuple[LinearTextModel, LinearTextModel]] = field(
        default=None, init=False, repr=False, compare=False
    )

    def linear(self) -> Tuple[LinearTextModel, LinearTextModel]:
        """Both models as LinearTextModels, built once (load() builds them, so no patient waits for it)."""
        if getattr(self, "_linear", None) is None:
            self._linear = (LinearTextModel(self.escalate_model), LinearTextModel(self.emergency_model))
        return self._linear

    def read(self, text: str, entities: Iterable[Mapping[str, Any]] = ()) -> SecondReading:
        escalate, emergency = self.linear()
        row = (text or "", entity_tokens(entities))
        return SecondReading(
            escalate=round(escalate.probability_of(row, True), 4),
            emergency=round(emergency.probability_of(row, True), 4),
        )

    def read_with_scikit_learn(self, text: str, entities: Iterable[Mapping[str, Any]] = ()) -> Tuple[float, float]:
        """The pipelines' own probabilities (unrounded): what `read` must agree with."""
        row = [(text or "", entity_tokens(entities))]
        return (
            float(self.escalate_model.predict_proba(row)[0][1]),
            float(self.emergency_model.predict_proba(row)[0][1]),
        )

    def __getstate__(self) -> Dict[str, Any]:
        return {**self.__dict__, "_linear": None}

    __call__ = read


def read_or_none(reader: Optional[Callable[..., SecondReading]], text: str, entities: Iterable[Mapping[str, Any]]):
    """The reading of `text`, or None when there is no reader, no words, or the reader fails: it only ever adds to
    what the rules decide, so a broken model file must never cost the patient the rules' answer."""
    if reader is None or not (text or "").strip():
        return None
    try:
        return reader(text, entities)
    except Exception as error:
        logger.error("second reading failed, the rules decide alone: %s", type(error).__name__)
        return None


@dataclass(frozen=True)
class Labelled:
    text: str
    expected: str
    entities: Tuple[Mapping[str, Any], ...] = ()


def train(examples: Sequence[Labelled], c: float = 10.0, seed: int = 42, trained_on: Sequence[str] = ()):
    """Both models from labelled messages (each needs at least one positive and one negative example)."""
    rows = [(e.text, entity_tokens(e.entities)) for e in examples]
    escalate = [e.expected in ESCALATE for e in examples]
    emergency = [e.expected == "emergency" for e in examples]
    for name, labels in (("escalate", escalate), ("emergency", emergency)):
        if all(labels) or not any(labels):
            raise ValueError(f"the second reading's {name} model needs both kinds of example; got {len(labels)} alike")
    return SecondReader(
        _classifier(c, seed).fit(rows, escalate), _classifier(c, seed).fit(rows, emergency), tuple(trained_on)
    )


def training_sets(config_path: Path) -> List[Path]:
    """The labelled sets the config lists under train_on (paths relative to the project root, two levels above
    data/triage/); none of them may be one the config holds out for judging."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    names = config.get("train_on")
    if not isinstance(names, list) or not names:
        raise ValueError(f"{config_path}: 'train_on' must list the labelled sets to learn from")
    held_out = set(config.get("held_out") or ())
    judged = sorted(held_out.intersection(names))
    if judged:
        raise ValueError(f"{config_path}: {', '.join(judged)} is held out for judging and cannot be learnt from")
    root = config_path.resolve().parents[2]
    paths = [root / name for name in names]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ValueError(f"{config_path}: listed set(s) not found: {', '.join(missing)}")
    return paths


def load_labelled(paths: Sequence[Path], analyze) -> List[Labelled]:
    """Every message of the sets with what `analyze(text)` (our spaCy pipeline) finds in it."""
    examples = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                text = row["text"]
                examples.append(Labelled(text, row.get("expect", row.get("expected")), tuple(analyze(text))))
    return examples


def save(reader: SecondReader, path: Path) -> None:
    import joblib

    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(reader, path)


@lru_cache(maxsize=2)
def load(path: str) -> SecondReader:
    """The built reader; a clear error when it has not been built."""
    import joblib

    if not Path(path).is_file():
        raise FileNotFoundError(f"the second reading model is not built at {path}: run `make train`.")
    reader = joblib.load(path)
    reader.linear()
    return reader


def main(argv: Optional[List[str]] = None) -> int:
    from bot.nlp.analyze import analyze_text
    from bot.settings import PROJECT_ROOT

    parser = argparse.ArgumentParser(description="Train the second reading from the labelled sets.")
    parser.add_argument("--config", type=Path, default=PROJECT_ROOT / "data" / "triage" / "second_reading.yml")
    parser.add_argument("--spacy", type=Path, default=None, help="the built spaCy pipeline (default: settings)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        paths = training_sets(args.config)
    except ValueError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2
    # Through the imported module, not __main__: the pickled classes must be found again as bot.nlp.second_reading.
    from bot.nlp import second_reading

    examples = second_reading.load_labelled(paths, lambda text: analyze_text(text, args.spacy))
    reader = second_reading.train(examples, trained_on=[p.name for p in paths])
    second_reading.save(reader, args.out)
    print(f"   second reading: {len(examples)} labelled messages from {len(paths)} sets -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
