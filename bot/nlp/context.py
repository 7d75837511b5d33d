"""Clinical context of each symptom: is it the patient's own, current problem?

ConText (Harkema et al. 2009; the algorithm medspaCy implements): trigger phrases open a scope forward or backward
within the sentence; termination phrases close it. A symptom inside a scope gets `Span._.context`:
"hypothetical" ("what if I get a fever?"), "other_experiencer" ("my friend had pus") or "historical" ("I had cold
sores years ago"); None means the patient's own, current problem. The rules are data: data/lexicon/context.yml.

The same component settles what negex cannot see across clauses and sentences: a denial that only describes the
past is lifted when the patient then says it is there now ("no pus yesterday, today there is some"); a bare "no"
answering the patient's own question denies ("Pain? no.", "fever - no"); and someone writing for the patient ("I'm
writing for my mother, she had the injections today") reports the patient's own symptoms, not someone else's.

Why not medspaCy itself: medspacy 1.0.0 brings QuickUMLS, leveldb, unqlite, nltk and PyRuSH (Cython builds) into a
Rasa install for this one component; the algorithm is small and its rules here are our patients' words.
"""

import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span

from bot.nlp import vocabulary as v

CATEGORIES = ("other_experiencer", "hypothetical", "historical")  # first wins when several apply
RULES_FILE = Path(__file__).resolve().parents[2] / "data" / "lexicon" / "context.yml"

if not Span.has_extension("context"):
    Span.set_extension("context", default=None)

# "no pus yesterday, today there is": a denial tied to the past, then the present without a denial.
_PAST = {"yesterday", "earlier", "before", "initially", "first", "morning", "night", "yday"}
_PRESENT = ("now", "today", "tonight", "currently", "right now", "at the moment", "this evening", "this afternoon")
_DENIAL = re.compile(r"\b(no|not|none|never|nothing|without|n't|nt|gone|stopped)\b")
# "Is swelling after 3 days a concern? I don't have any, just asking for next time": with one of these in the
# message, a symptom in a question that says nothing of the patient's own is a what-if.
_ASKING_IN_GENERAL = re.compile(
    r"\b(just asking|just wondering|for next time|out of interest|hypothetically|just reading|"
    r"reading stuff|i'?m fine|i am fine|"
    r"asking for a friend|in general|i don'?t have (any|it|that)|not that i have)\b"
)
# Someone writing for the patient ("I'm writing for my mother, she had the injections today"): their words about
# that person are the patient's own report, not someone else's story.
_PROXY = re.compile(r"\b(on behalf of|writing for|messaging for|texting for|writing about my|i'?m (his|her) carer)\b")
# ...or tells of a relative's treatment with us just now ("my son had the scalp one ... today his scalp is oozing").
_RELATIVE = r"(dad|mum|mom|mother|father|son|daughter|husband|wife|partner|grandma|granddad|nan)"
_RELATIVE_TREATED = re.compile(
    r"\b((he|she|they) had (the|his|her|their|injections|microneedling|it done)|they did (the|his|her)|"
    rf"{_RELATIVE}\b[^.!?]{{0,12}}\bhad (the|his|her))\b"
)
# ...and it is now: a time word of the last days, or it began "after her injection" / "after we got home".
_JUST_NOW = re.compile(
    r"\b(today|yesterday|this morning|last night|tonight|day \d+|\d+ (days?|hours?|hrs?) ago|just now|this week|"
    r"now|still|(mon|tues|wednes|thurs|fri|satur|sun)day)\b"
)
_SINCE_TREATMENT = re.compile(
    rf"\b(after|since|when) we (got|came) (home|back)\b|\b{_RELATIVE}\b[^.!?]{{0,12}}\b(after|since) "
    r"(the|his|her|a|an|their)?\s*(\w+ )?(treatment|injection|injections|microneedling|procedure|session|appointment)\b"
)
# ...or says how a close relative is right now ("my husband's scalp has a big lump"): a relative's present-tense
# symptoms in this clinic's chat are the patient's own, told by the person beside them.
_RELATIVE_NOW = re.compile(
    rf"\b(my|our) {_RELATIVE}(s|'s)?\b[^.!?]{{0,50}}?\b(is|are|has|have|keeps|says|say|seems|looks|cant|can't|"
    r"cannot|just)\b"
)
# Told as a story of someone else or of what one read, not as happening now.
_STORY = re.compile(r"\b(read|heard|online|friend|cousin|colleague|someone|people)\b")
_LONG_AGO = re.compile(r"\b(last (year|month)|(years?|months?) ago|a while back)\b")


def _long_ago(lowered: str) -> bool:
    """Told of the past only: "last year" with no "today", "now" or "this morning" beside it ("my son had the
    scalp one 2 months ago and today his scalp is oozing" is now)."""
    return bool(_LONG_AGO.search(lowered)) and not _JUST_NOW.search(lowered)


_FINE = re.compile(r"\b(fine|ok|okay|good|well|no problems?)\b")
_OWN_NOW = re.compile(r"\b(i have|i've got|ive got|i got|my|mine|there is|there's|theres|i am|i'm|im)\b")


def load_rules(path: Path = RULES_FILE) -> Dict:
    rules = yaml.safe_load(path.read_text(encoding="utf-8"))
    for category in CATEGORIES:
        spec = rules.get(category) or {}
        for direction in ("forward", "backward"):
            spec[direction] = [str(p) for p in spec.get(direction) or []]
        rules[category] = spec
    rules["termination"] = [str(p) for p in rules.get("termination") or []]
    rules["termination_other_experiencer"] = [str(p) for p in rules.get("termination_other_experiencer") or []]
    rules["termination_present"] = [str(p) for p in rules.get("termination_present") or []]
    return rules


@Language.factory("clinical_context", default_config={"rules": {}, "ent_types": ["symptom"]})
class ClinicalContext:
    def __init__(self, nlp: Language, name: str, rules: Dict, ent_types: List[str]):
        self.rules = rules or load_rules()
        self.ent_types = set(ent_types)
        self.max_tokens = {
            category: int(self.rules.get(f"max_tokens_{category}", self.rules.get("max_tokens", 12)))
            for category in CATEGORIES
        }
        self.triggers = PhraseMatcher(nlp.vocab, attr="LOWER")
        for category in CATEGORIES:
            for direction in ("forward", "backward"):
                phrases = self.rules[category][direction]
                if phrases:
                    self.triggers.add(f"{category}:{direction}", list(nlp.tokenizer.pipe(phrases)))
        self.ends = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.ends.add("all", list(nlp.tokenizer.pipe(self.rules["termination"])))
        if self.rules["termination_other_experiencer"]:
            self.ends.add("other_experiencer", list(nlp.tokenizer.pipe(self.rules["termination_other_experiencer"])))
        if self.rules["termination_present"]:
            self.ends.add("present", list(nlp.tokenizer.pipe(self.rules["termination_present"])))

    def __call__(self, doc: Doc) -> Doc:
        triggers = [(doc.vocab.strings[key], start, end) for key, start, end in self.triggers(doc)]
        ends = [(doc.vocab.strings[key], start, end) for key, start, end in self.ends(doc)]
        lowered = doc.text.lower()
        # ...unless the patient also says they have something ("I have some, just asking").
        asking_in_general = bool(_ASKING_IN_GENERAL.search(lowered)) and not any(
            _OWN_NOW.search(s.text.lower()) and not _DENIAL.search(s.text.lower()) and not _FINE.search(s.text.lower())
            for s in doc.sents
        )
        by_proxy = bool(_PROXY.search(lowered)) or (
            not _long_ago(lowered)
            and (
                bool(_RELATIVE_TREATED.search(lowered) and _JUST_NOW.search(lowered))
                or bool(_SINCE_TREATMENT.search(lowered))
                or bool(_RELATIVE_NOW.search(lowered) and not asking_in_general)
            )
        )
        answered_no = self._questions_answered_no(doc)
        for ent in doc.ents:
            if ent.label_ not in self.ent_types:
                continue
            if ent.sent.start in answered_no or self._checklist_no(doc, ent):
                ent._.negex = True  # "Itchy? no. Pain? no.", "fever - no"
            ent._.context = self._context(doc, ent, triggers, ends, by_proxy)
            if (
                ent._.context == "other_experiencer"
                and not asking_in_general
                and self._emergency_happening_now(ent, lowered)
            ):
                ent._.context = None
            if ent._.context is None and asking_in_general and self._general_question(ent.sent):
                ent._.context = "hypothetical"
            if getattr(ent._, "negex", False) and self._denial_taken_back(doc, ent):
                ent._.negex = False
        return doc

    def _context(
        self, doc: Doc, ent: Span, triggers: List[Tuple], ends: List[Tuple], by_proxy: bool = False
    ) -> Optional[str]:
        sentence = ent.sent
        found = set()
        for key, start, end in triggers:
            category, direction = key.split(":")
            if not (sentence.start <= start and end <= sentence.end):
                continue
            stops = [
                (s, e) for k, s, e in ends if k in ("all", category) or (k == "present" and category != "historical")
            ]
            # A termination inside the trigger itself ("i got" in "if i got") is part of the trigger.
            stops = [(s, e) for s, e in stops if e <= start or s >= end]
            # A forward trigger may share words with the entity it governs: "if my temp" + "temp hits 38".
            if direction == "forward" and start < ent.start and end <= ent.end:
                limit = min([sentence.end, end + self.max_tokens[category]] + [s for s, _ in stops if s >= end])
                if ent.start < limit:
                    found.add(category)
            elif direction == "backward" and ent.end <= start:
                # A backward scope also ends at a comma: "my mouth droops, it wasn't like this before the treatment".
                commas = [t.i + 1 for t in doc[sentence.start : start] if t.text in (",", ";", ":")]
                limit = max([sentence.start] + commas + [e for _, e in stops if e <= start])
                if ent.start >= limit:
                    found.add(category)
        if by_proxy:
            found.discard("other_experiencer")
        return next((c for c in CATEGORIES if c in found), None)

    @staticmethod
    def _emergency_happening_now(ent: Span, lowered: str) -> bool:
        """Someone else's emergency told as happening ("my wife's speech is slurred, what do I do?") needs the same
        answer as the patient's own: call now. Not a story ("my cousin went blind, is that possible?"), not long ago,
        not a question in general (checked by the caller)."""
        symptom = (ent.ent_id_ or "").split("|")[0]
        sentence = ent.sent.text.lower()
        return symptom in v.EMERGENCY_SYMPTOMS and not _long_ago(lowered) and not _STORY.search(sentence)

    @staticmethod
    def _checklist_no(doc: Doc, ent: Span) -> bool:
        after = [t.lower_ for t in doc[ent.end : ent.end + 2]]
        return len(after) == 2 and after[0] in ("-", "–", ":", "?", "=") and after[1] in ("no", "nope", "none", "nah")

    @staticmethod
    def _questions_answered_no(doc: Doc) -> set:
        """Starts of sentences that ask a question the next sentence answers with a bare no ("Pain? no.")."""
        sentences = list(doc.sents)
        return {
            first.start
            for first, second in zip(sentences, sentences[1:])
            if first.text.rstrip().endswith("?")
            and len(first) <= 4
            and second.text.strip(" .!").lower() in ("no", "nope", "nah", "none", "not really", "no none")
        }

    @staticmethod
    def _general_question(sentence: Span) -> bool:
        text = sentence.text.lower()
        return text.rstrip().endswith("?") and not _OWN_NOW.search(text)

    @staticmethod
    def _denial_taken_back(doc: Doc, ent: Span) -> bool:
        near = {t.lower_ for t in doc[max(ent.sent.start, ent.start - 3) : min(len(doc), ent.end + 3)]}
        if not near & _PAST:
            return False
        after = doc[ent.end :].text.lower()
        for marker in _PRESENT:
            for match in re.finditer(rf"\b{marker}\b", after):
                clause = re.split(r"[,.;!?]|\band\b|\bbut\b", after[match.start() :], maxsplit=1)[0]
                before = re.split(r"[,.;!?]|\band\b|\bbut\b", after[: match.start()])[-1]
                if not _DENIAL.search(before + " " + clause):
                    return True
        return False


def create_config(rules_path: Path = RULES_FILE) -> Dict:
    """The component's config with the rules inlined, so a saved pipeline needs no data file to load."""
    return {"rules": load_rules(rules_path)}
