"""A fitted text classifier (tf-idf blocks -> logistic regression) as plain dictionaries, to score one message.

Why: scikit-learn's predict_proba on a single short message spends nearly all of its time in per-call checks and
sparse-matrix bookkeeping: ~3 ms per model for the second reading and ~5 ms for the topic selector, on every
message (make profile). This does the same arithmetic (the same analyzers, term counts, sublinear tf, idf, l2 norm
per block, then the logistic or softmax function) with dictionary lookups, so the probabilities are the same to
rounding; the tests hold them to the pipeline's own.

The shape it knows: Pipeline(FeatureUnion(blocks), LogisticRegression), where each block is a TfidfVectorizer or
a Pipeline of stateless steps ending in one (a step that picks a field, a word-group tagger).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Dict, List, Tuple

import numpy as np


class UnknownShape(ValueError):
    """The fitted model is not one this scorer can read: rebuild it (make train)."""


def _block(part: Any) -> Tuple[List[Any], Any]:
    """(stateless steps before the vectorizer, the vectorizer) of one FeatureUnion member."""
    steps = [step for _, step in getattr(part, "steps", [("vectorizer", part)])]
    return steps[:-1], steps[-1]


class LinearTextModel:
    def __init__(self, pipeline: Any) -> None:
        union, regression = pipeline.steps[0][1], pipeline.steps[-1][1]
        if len(pipeline.steps) != 2 or getattr(union, "transformer_weights", None):
            raise UnknownShape("expected Pipeline(FeatureUnion(...), LogisticRegression)")
        self.classes = list(regression.classes_)
        self.coef = np.asarray(regression.coef_, dtype=float)
        self.intercept = np.asarray(regression.intercept_, dtype=float)
        # predict_proba is the logistic of the one decision for two classes ("auto"), a softmax over all of them for
        # more ("auto" with lbfgs and the other multinomial solvers); any other reading is left to scikit-learn.
        multi_class, solver = getattr(regression, "multi_class", "auto"), getattr(regression, "solver", "lbfgs")
        if multi_class != "auto" or (len(self.classes) > 2 and solver == "liblinear"):
            raise UnknownShape(f"a logistic regression read as {multi_class!r} with {solver!r}")
        self.blocks: List[Tuple[List[Any], Any, bool, Dict[str, Tuple[int, float]]]] = []
        offset = 0
        for _, part in union.transformer_list:
            before, vectorizer = _block(part)
            if vectorizer.norm != "l2" or not vectorizer.use_idf or vectorizer.binary:
                raise UnknownShape("a tf-idf block that is not l2-normed idf counts")
            idf = vectorizer.idf_.tolist()  # a property that sums a matrix on each access: read once
            columns = {term: (offset + index, idf[index]) for term, index in vectorizer.vocabulary_.items()}
            self.blocks.append((before, vectorizer.build_analyzer(), vectorizer.sublinear_tf, columns))
            offset += len(columns)
        if offset != self.coef.shape[1]:
            raise UnknownShape("the blocks' vocabularies do not add up to the regression's features")
        # One row of weights (a yes/no model): plain floats, cheaper than numpy for a message's few dozen terms.
        self._weights = self.coef[0].tolist() if self.coef.shape[0] == 1 else None

    def decision(self, row: Any) -> np.ndarray:
        """The regression's decision function for one input (what the pipeline's first step would receive)."""
        indices: List[int] = []
        values: List[float] = []
        for before, analyzer, sublinear, columns in self.blocks:
            document = row
            for step in before:
                document = step.transform([document])[0]
            counts = Counter(term for term in analyzer(document) if term in columns)
            block = [
                (columns[term][0], ((1.0 + math.log(count)) if sublinear else float(count)) * columns[term][1])
                for term, count in counts.items()
            ]
            norm = math.sqrt(sum(value * value for _, value in block))
            if norm:
                indices += [index for index, _ in block]
                values += [value / norm for _, value in block]
        if self._weights is not None:
            return np.asarray([sum(self._weights[i] * x for i, x in zip(indices, values)) + float(self.intercept[0])])
        if not indices:
            return self.intercept.copy()
        return self.coef[:, indices] @ np.asarray(values) + self.intercept

    def probabilities(self, row: Any) -> List[float]:
        """predict_proba's row for one input, in the order of `classes`."""
        z = self.decision(row)
        if len(self.classes) == 2:
            positive = _logistic(float(z[0]))
            return [1.0 - positive, positive]
        top = float(np.max(z))
        exp = np.exp(z - top)
        return (exp / exp.sum()).tolist()

    def probability_of(self, row: Any, label: Any = True) -> float:
        return self.probabilities(row)[self.classes.index(label)]


def _logistic(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def fast_or_none(pipeline: Any) -> Any:
    """A LinearTextModel for `pipeline`, or None when the pipeline has a shape it does not know."""
    try:
        return LinearTextModel(pipeline)
    except (UnknownShape, AttributeError):
        return None
