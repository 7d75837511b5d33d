"""The project's spaCy pipeline: blank English -> sentencizer -> spelling -> entity_ruler -> negex ->
negation_scope -> clinical_context.

Built from data in the repo by `python -m bot.nlp.build` (no downloads); loaded by path, by Rasa's SpacyNLP and
by `load()` here. negspacy registers its "negex" factory only when imported and has no entry point, so every
loader must import this module first (bot.rasa_nlu does).
"""

from pathlib import Path
from typing import Iterable, List, Optional, Tuple, Union

import negspacy.negation  # noqa: F401  (registers the "negex" factory)
import spacy
import yaml
from negspacy.termsets import termset
from spacy.language import Language
from spacy.tokens import Doc, Span

from bot.nlp import context, spelling  # noqa: F401  (register the "spelling" and "clinical_context" factories)
from bot.nlp import vocabulary as v
from bot.nlp.patterns import LEXICON_DIR, all_patterns, lexicon_words, word_meanings

# Patient language on top of negspacy's clinical termset. Terminations end a negation's reach: in
# "no pus, just a bit red" the comma and "just" keep "red" from being negated. Erring towards *not* negating is
# the safe direction: a finding wrongly kept can only raise the level, a finding wrongly negated can hide a red flag.
EXTRA_PRECEDING = [
    "haven't got",
    "havent got",
    "have not got",
    "haven't had",
    "havent had",
    "not had",
    "no more",
    "none",
    "zero",
    "no real",
    "nothing like",
    "no sign",
    "no signs",
    "not any",
    "isn't any",
    "isnt any",
    "aren't any",
    "arent any",
    "without any",
    "free from",
    "nope no",
    "nothing",
]
# Not "isn't" / "is not": "the redness isn't gone yet" must keep the redness.
EXTRA_FOLLOWING = [
    "is gone",
    "has gone",
    "have gone",
    "gone now",
    "has stopped",
    "went away",
    "has gone away",
    "disappeared",
    "resolved",
    "gone",
    "fine",
    "is fine",
    "are fine",
    "all fine",
    "is normal",
    "ok",
    "okay",
    "is ok",
    "is okay",
    "all good",
    "no problem",
    "no problems",
    "no issues",
    "none at the moment",
    "none now",
    "none right now",
    "none today",
    "went days ago",
    "went a few days ago",
    "went yesterday",
    "has went",
]
EXTRA_TERMINATION = [
    ",",
    ";",
    ":",
    "-",
    "–",
    "and",
    "just",
    "only",
    "though",
    "but",
    "still",
    "now",
    "except",
    "the",
    "my",
    "which",
    "whereas",
    "while",
    "plus",
    "also",
    "&",
]
# "no," / "no." as an answer to a question is not a negation of what follows.
EXTRA_PSEUDO = [
    "no ,",
    "no .",
    "no !",
    "no worse",
    "no better",
    "not sure",
    "not too sure",
    "no idea",
    "barely breathe",
    "hardly breathe",
    "can't get my breath",
    "cant get my breath",
    "can't get enough air",
    "cant get enough air",
    "can't breathe",
    "cant breathe",
    "cannot breathe",
    "can not breathe",
    "can't swallow",
    "cant swallow",
    "cannot swallow",
    "not able to breathe",
    "can't stop",
    "cant stop",
    "won't stop",
    "wont stop",
    "not stopping",
    "doesn't stop",
    "doesnt stop",
    "not going down",
    "not getting better",
    "not improving",
    "not gone",
    "not settling",
    "not fading",
    "no better",
    "isn't gone",
    "isnt gone",
    "hasn't gone",
    "hasnt gone",
    "not gone yet",
    "not going away",
    "won't go away",
    "wont go away",
    # "the red has gone past where they needled" moves on, it has not gone away
    "gone past",
    "has gone past",
    "gone beyond",
    "has gone beyond",
    "gone onto",
    "gone into",
    # "the swelling has gone down" improves, "gone up" worsens: neither is gone
    "gone down",
    "has gone down",
    "have gone down",
    "gone up",
    "has gone up",
    "have gone up",
    "has gone onto",
    "has gone into",
]

# Words allowed between a negation cue and the finding it negates ("I don't have any fever"). Anything else in
# between ("no pus whatsoever redness spreading") and the negation is dropped: scope is kept short on purpose.
SCOPE_GAP_WORDS = {
    "have",
    "has",
    "had",
    "got",
    "get",
    "getting",
    "any",
    "a",
    "an",
    "or",
    "nor",
    "real",
    "really",
    "much",
    "more",
    "sign",
    "signs",
    "of",
    "obvious",
    "visible",
    "see",
    "notice",
    "noticed",
    "feel",
    "feeling",
    "felt",
    "is",
    "are",
    "was",
    "there",
    "'s",
    "seem",
    "seems",
    "to",
    "be",
    "been",
    "as",
    "such",
    "evidence",
    "like",
    "too",
    "very",
    "at",
    "all",
    "i",
    "i'm",
    "im",
    "am",
    "do",
    "did",
    "does",
    "n't",
    "not",
    "no",
    "think",
    "that",
    "so",
    "far",
    "yet",
    "experienced",
    "experiencing",
    "having",
    "major",
    "big",
    "significant",
    "actual",
    "/",
    "it",
    "it's",
    "its",
    "they",
    "they're",
    "theyre",
}
SCOPE_MAX_TOKENS = 6
NEGATABLE = [v.SYMPTOM, v.SEVERITY, v.TREND]


def _termset() -> dict:
    ts = termset("en_clinical").get_patterns()
    ts["preceding_negations"] = ts["preceding_negations"] + EXTRA_PRECEDING
    ts["following_negations"] = ts["following_negations"] + EXTRA_FOLLOWING
    ts["termination"] = ts["termination"] + EXTRA_TERMINATION
    ts["pseudo_negations"] = ts["pseudo_negations"] + EXTRA_PSEUDO
    return ts


@Language.factory("negation_scope", default_config={"max_tokens": SCOPE_MAX_TOKENS})
class NegationScope:
    """Undo negex negations whose cue is too far from the finding or separated by other content words."""

    def __init__(self, nlp: Language, name: str, max_tokens: int):
        self.nlp = nlp
        self.max_tokens = max_tokens

    def __call__(self, doc: Doc) -> Doc:
        negex = self.nlp.get_pipe("negex")
        preceding, following, _ = negex.process_negations(doc)
        entity_tokens = {i for ent in doc.ents for i in range(ent.start, ent.end)}
        for ent in doc.ents:
            if not ent._.negex:
                continue
            if not (
                self._cue_before(doc, ent, preceding, entity_tokens)
                or self._cue_after(doc, ent, following, entity_tokens)
            ):
                ent._.negex = False
        return doc

    def _close(self, doc: Doc, start: int, end: int, entity_tokens: set) -> bool:
        gap = [t for t in doc[start:end] if t.i not in entity_tokens]
        return len(gap) <= self.max_tokens and all(t.lower_ in SCOPE_GAP_WORDS for t in gap)

    def _cue_before(self, doc: Doc, ent: Span, cues: List[Tuple], entity_tokens: set) -> bool:
        return any(
            end <= ent.start
            and doc[end - 1].sent.start == ent.sent.start
            and self._close(doc, end, ent.start, entity_tokens)
            for _, start, end in cues
        )

    def _cue_after(self, doc: Doc, ent: Span, cues: List[Tuple], entity_tokens: set) -> bool:
        return any(start >= ent.end and self._close(doc, ent.end, start, entity_tokens) for _, start, end in cues)


def create(patterns: Optional[Iterable[dict]] = None) -> Language:
    """A fresh pipeline, built from the lexicon (or the given patterns)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    known = yaml.safe_load((LEXICON_DIR / "spelling.yml").read_text(encoding="utf-8")).get("known") or []
    nlp.add_pipe(
        "spelling",
        config={"targets": sorted(lexicon_words()), "known": [str(w) for w in known], "meanings": word_meanings()},
    )
    ruler = nlp.add_pipe("entity_ruler", config={"overwrite_ents": True, "phrase_matcher_attr": "NORM"})
    ruler.add_patterns(list(patterns if patterns is not None else all_patterns()))
    nlp.add_pipe("negex", config={"neg_termset": _termset(), "ent_types": NEGATABLE})
    nlp.add_pipe("negation_scope")
    # Numbers too: "if my temp hits 38" is no temperature of 38.
    nlp.add_pipe(
        "clinical_context",
        config={
            **context.create_config(LEXICON_DIR / "context.yml"),
            "ent_types": NEGATABLE + [v.TEMPERATURE, v.PAIN_SCORE],
        },
    )
    return nlp


def load(path: Union[Path, str]) -> Language:
    return spacy.load(path)
