"""The spelling step of the pipeline: a misspelled lexicon word ("feaver", "vission", "bleading") is read as the
word the patient meant, so the entity ruler finds it.

Only unknown words are corrected, and only towards words of our own lexicon: a token that is an English word
(symspellpy's 82,765-word frequency list, which ships inside the package), a word of the NLU training data or a
lexicon word is left alone, so "version" never becomes "vision" and "fiver" never becomes "fever". The correction
goes into the token's NORM, which the entity ruler matches on; the text and its offsets do not change.

Why this direction is safe: a wrong correction can only add a finding the patient did not mean (a practitioner
glances at it); a missed correction can hide a red flag.
"""

from functools import lru_cache
from importlib import resources
from typing import Dict, FrozenSet, Iterable, Optional, Tuple

from spacy.language import Language
from spacy.tokens import Doc

# Short words have too many neighbours: "pus" -> "bus", "cut"... Typos of these are listed in the lexicon instead.
MIN_LENGTH = 4
# Up to this many edits (Damerau OSA: a swap of two letters is one edit) by word length; from 6 letters, a second
# edit only when the first letter is right ("dubble" -> double, "swelin" -> swelling).
_MAX_EDITS = ((4, 1), (6, 2))
_SECOND_EDIT_NEEDS_FIRST_LETTER_BELOW = 7


def max_edits(length: int) -> int:
    allowed = 0
    for minimum, edits in _MAX_EDITS:
        if length >= minimum:
            allowed = edits
    return allowed


@lru_cache(maxsize=1)
def english_words() -> FrozenSet[str]:
    text = (resources.files("symspellpy") / "frequency_dictionary_en_82_765.txt").read_text(encoding="utf-8")
    return frozenset(line.split(" ", 1)[0] for line in text.splitlines() if line)


def osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance, or limit + 1 when it exceeds `limit` (cheap early exits)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


class Corrector:
    """Unknown word -> the closest target word within max_edits, ties broken by sharing the first letter, then
    alphabetically (deterministic)."""

    def __init__(
        self, targets: Iterable[str], known: Iterable[str] = (), meanings: Optional[Dict[str, Iterable[str]]] = None
    ):
        self.targets: Tuple[str, ...] = tuple(
            sorted({t.lower() for t in targets if len(t) >= MIN_LENGTH and t.isalpha()})
        )
        self._targets_set = frozenset(self.targets)
        english = english_words()
        self.known = frozenset(w.lower() for w in known) | english | self._targets_set
        # The lexicon lists common typos ("painfull", "swolen"); read them as the word meant, so that phrases
        # written with the right word ("really painful") match them too.
        # Only towards a word that means the same ("blury" -> "blurry", never "bluey"; "sorer" keeps its "more").
        meanings = {word: frozenset(ids) for word, ids in (meanings or {}).items()}
        proper = [t for t in self.targets if t in english]
        self._typos: Dict[str, str] = {}
        for typo in self.targets:
            if typo not in english and meanings.get(typo):
                near = [p for p in proper if meanings.get(p) == meanings[typo] and osa_distance(typo, p, 1) <= 1]
                if near:
                    self._typos[typo] = min(near, key=lambda p: (p[0] != typo[0], p))
        self._cache: Dict[str, Optional[str]] = {}

    def correct(self, word: str) -> Optional[str]:
        word = word.lower()
        if word in self._typos:
            return self._typos[word]
        if word not in self._targets_set:
            for ending in ("es", "s"):  # "infections" -> "infection": a plural of a lexicon word is that word
                if word.endswith(ending) and word[: -len(ending)] in self._targets_set:
                    return word[: -len(ending)]
        if len(word) < MIN_LENGTH or not word.isalpha() or word in self.known:
            return None
        if word not in self._cache:
            self._cache[word] = self._closest(word)
        return self._cache[word]

    def _closest(self, word: str) -> Optional[str]:
        limit = max_edits(len(word))
        best: Optional[Tuple[int, int, str]] = None
        for target in self.targets:
            distance = osa_distance(word, target, limit)
            if distance == 2 and len(word) < _SECOND_EDIT_NEEDS_FIRST_LETTER_BELOW and target[0] != word[0]:
                continue
            if distance <= limit:
                key = (distance, 0 if target[0] == word[0] else 1, target)
                best = key if best is None or key < best else best
        return best[2] if best else None


@Language.factory("spelling", default_config={"targets": [], "known": [], "meanings": {}})
class Spelling:
    """Sets NORM of misspelled lexicon words to the lexicon word (see the module docstring)."""

    def __init__(self, nlp: Language, name: str, targets: list, known: list, meanings: dict):
        self.corrector = Corrector(targets, known, meanings)

    def __call__(self, doc: Doc) -> Doc:
        for token in doc:
            corrected = self.corrector.correct(token.text)
            if corrected:
                token.norm_ = corrected
        return doc
