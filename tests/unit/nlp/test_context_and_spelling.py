"""Clinical context (hypothetical, someone else's, long past), the spelling step, and their limits.

Each case is a probe written from the triage-safety issue's list of misses, not from an evaluation set.
"""

import pytest

from bot.nlp.analyze import entities_from_doc
from bot.nlp.spelling import Corrector, osa_distance


def roles(nlp, text):
    """{symptom value: role} (role None = the patient's own, current symptom)."""
    return {e["value"]: e.get("role") for e in entities_from_doc(nlp(text)) if e["entity"] == "symptom"}


@pytest.mark.parametrize(
    "text, symptom, role",
    [
        ("what if I get a fever tonight?", "fever", "hypothetical"),
        ("what does an infection look like?", "infection_concern", "hypothetical"),
        ("how do I know if there is pus?", "discharge", "hypothetical"),
        ("just in case, what should I do if it starts spreading and I get swelling?", "swelling", "hypothetical"),
        ("my friend had pus coming out after hers", "discharge", "other_experiencer"),
        ("I read online that some people get blurry vision", "vision_change", "other_experiencer"),
        ("my sister's face was swollen for a week", "swelling", "other_experiencer"),
        ("I had a cold sore last year, is that a problem?", "cold_sore", "historical"),
        ("I have a history of cold sores", "cold_sore", "historical"),
        ("Last year I got a rash after a peel somewhere else, will this do the same?", "rash", "historical"),
        ("Is swelling after 3 days a concern? I don't have any, just asking for next time", "swelling", "hypothetical"),
        ("I scared myself reading about infections last night", "infection_concern", "hypothetical"),
        ("my mum had her scalp done last year and got chest pain after", "chest_pain", "other_experiencer"),
        ("my cousin had exosomes and went blind in one eye, is that possible??", "vision_change", "other_experiencer"),
        ("I read that a woman's skin went white after fillers", "skin_discolouration", "other_experiencer"),
        ("my sister's face was swollen for a week after hers, is that normal?", "swelling", "other_experiencer"),
    ],
)
def test_symptoms_that_are_not_the_patients_own_current_problem(nlp, text, symptom, role):
    assert roles(nlp, text).get(symptom, "missing") == role


@pytest.mark.parametrize(
    "text, symptom",
    [
        # The patient's own: triggers that are not there, or scopes that end before the symptom.
        ("my sister says my face looks swollen", "swelling"),
        ("what if it's infected? there is pus coming out", "discharge"),
        ("my friend had the same but now I have a fever", "fever"),
        ("it hurts if I touch it", "pain"),
        ("had it done 2 months ago and it is still red", "redness"),
        ("she said the swelling would go down but it's worse", "swelling"),
        ("no pus yesterday, today there is", "discharge"),
        ("wasn't swollen this morning but now it is", "swelling"),
        ("what should I do if it spreads, I have a fever", "fever"),
        ("Is swelling after 3 days normal? I have some, just asking", "swelling"),
        ("my mouth droops when I smile, it wasn't like this before the treatment", "speech_change"),
        ("my mouth droops when I smile and it wasn't like this before the treatment", "speech_change"),
        # someone writing for the patient reports the patient's own symptoms
        ("I'm writing for my mother, she had the injections today and has nearly passed out", "fainting"),
        ("My son had the scalp one and today his scalp is oozing", "discharge"),
        ("My husband had his scalp done this morning, now he's struggling to breathe", "breathing_difficulty"),
        ("My mother (84) had the treatment Monday, it's Friday and her face is still very swollen", "swelling"),
        ("My daughter after scalp injection say her lips are swollen", "lip_swelling"),
        ("my mum passed out after we got home, she's come round now", "fainting"),
        # a close relative's state now, or someone else's emergency happening now: the answer must be the same
        ("my husband's scalp has a big swollen lump that is very painful", "swelling"),
        ("My wife's speech is slurred, she had injections 2 hrs ago. what do we do", "speech_change"),
        ("my mum's cheek went white then mottled and she says it's burning", "skin_discolouration"),
        ("My wife's lips are blue and she can't breathe, what do I do?", "breathing_difficulty"),
        ("My son had the scalp one 2 months ago and today his scalp is oozing", "discharge"),
        ("my mum had her fillers last month, now she can't see properly", "vision_change"),
    ],
)
def test_the_patients_own_symptoms_stay_current(nlp, text, symptom):
    assert roles(nlp, text).get(symptom, "missing") is None


@pytest.mark.parametrize(
    "text, symptom",
    [
        ("no pus yesterday and none today", "discharge"),
        ("I can't see any redness", "redness"),
        ("no pus, just a bit red", "discharge"),
    ],
)
def test_denials_that_stand(nlp, text, symptom):
    assert roles(nlp, text).get(symptom) == "negated"


@pytest.mark.parametrize(
    "text, symptom",
    [
        ("I have a feaver", "fever"),
        ("my vission is blury", "vision_change"),
        ("its bleading again", "bleeding"),
        ("the sweling is worse", "swelling"),
        ("I think it is infektion", "infection_concern"),
        ("some dischage from the holes", "discharge"),
        ("lots of brusing", "bruising"),
    ],
)
def test_misspelled_words_are_found(nlp, text, symptom):
    assert symptom in roles(nlp, text)


@pytest.mark.parametrize(
    "text", ["which version of the serum?", "I owe you a fiver", "the cream is so nice", "can I use my cerave cleanser"]
)
def test_real_words_are_not_corrected_into_symptoms(nlp, text):
    assert roles(nlp, text) == {}


def test_the_corrector_only_corrects_unknown_words_towards_its_targets():
    corrector = Corrector(["fever", "swelling", "vision"], known=["cerave"])
    assert corrector.correct("feaver") == "fever"
    assert corrector.correct("vission") == "vision"
    assert corrector.correct("version") is None  # an English word
    assert corrector.correct("cerave") is None  # a known word of the trade
    assert corrector.correct("fev") is None  # too short to guess
    assert corrector.correct("xylophonez") is None  # nothing close


@pytest.mark.parametrize(
    "a, b, distance",
    [
        ("fever", "fever", 0),
        ("feaver", "fever", 1),
        ("teh", "the", 1),
        ("vison", "vision", 1),
        ("brething", "breathing", 1),
        ("abc", "xyz", 3),
    ],
)
def test_osa_distance(a, b, distance):
    assert osa_distance(a, b, 3) == distance


def test_a_what_if_temperature_is_no_temperature(nlp):
    temperatures = [
        e for e in entities_from_doc(nlp("If my temp hits 38 do I call you or my GP?")) if e["entity"] == "temperature"
    ]
    assert [e.get("role") for e in temperatures] == ["hypothetical"]
