"""The second reading: what it reads, that it only learns from sets whose first run is over, that it only ever
escalates, and that it reaches triage from every way in (service, pending report, router)."""

from pathlib import Path

import pytest

from bot.nlp import second_reading
from bot.nlp.analyze import entities_from_doc
from bot.rasa_nlu.components import SafetyRouter
from bot.settings import PROJECT_ROOT
from bot.triage.conversation import merge, report_from_json, report_to_json
from bot.triage.criteria import load_criteria
from bot.triage.model import Level, Report, SecondReading
from bot.usecases.triage import ClinicService

CONFIG = PROJECT_ROOT / "data" / "triage" / "second_reading.yml"


def test_what_the_parser_understood_is_read_with_its_role(nlp) -> None:
    own = second_reading.entity_tokens(entities_from_doc(nlp("there is pus on my cheek")))
    denied = second_reading.entity_tokens(entities_from_doc(nlp("there is no pus on my cheek")))
    what_if = second_reading.entity_tokens(entities_from_doc(nlp("what if there is pus?")))
    assert "symptom_discharge_own" in own.split()
    assert "symptom_discharge_negated" in denied.split() and "symptom_discharge_own" not in denied.split()
    assert "symptom_discharge_hypothetical" in what_if.split()
    assert second_reading.entity_tokens([]) == "_nothing"


def _tiny_reader(nlp):
    rows = [
        ("there is pus coming out of the needle marks", "urgent"),
        ("yellow stuff oozing and it's hot", "urgent"),
        ("my vision went blurry after the injections", "emergency"),
        ("I can't breathe and my lips are swelling", "emergency"),
        ("a bit red today, as expected", "normal"),
        ("hello, thanks for yesterday", "none"),
        ("when can I wear make-up again?", "none"),
        ("slightly tight and pink, nothing else", "normal"),
    ]
    examples = [second_reading.Labelled(t, e, tuple(entities_from_doc(nlp(t)))) for t, e in rows]
    return second_reading.train(examples, c=10.0)


def test_a_trained_reader_ranks_a_red_flag_above_a_greeting(nlp) -> None:
    reader = _tiny_reader(nlp)
    red_flag = reader.read(
        "pus oozing from the needle marks", entities_from_doc(nlp("pus oozing from the needle marks"))
    )
    greeting = reader.read("hello and thanks", entities_from_doc(nlp("hello and thanks")))
    assert 0.0 <= greeting.escalate < red_flag.escalate <= 1.0
    assert 0.0 <= red_flag.emergency <= 1.0


def test_training_needs_both_kinds_of_example() -> None:
    with pytest.raises(ValueError, match="both kinds"):
        second_reading.train([second_reading.Labelled("hello", "none"), second_reading.Labelled("hi", "normal")])


def test_the_build_refuses_a_set_held_out_for_judging(tmp_path: Path) -> None:
    config = tmp_path / "data" / "triage" / "second_reading.yml"
    config.parent.mkdir(parents=True)
    config.write_text("train_on: [data/triage_eval/blind_9.jsonl]\nheld_out: [data/triage_eval/blind_9.jsonl]\n")
    with pytest.raises(ValueError, match="held out for judging"):
        second_reading.training_sets(config)
    config.write_text("train_on: [data/triage_eval/nowhere.jsonl]\n")
    with pytest.raises(ValueError, match="not found"):
        second_reading.training_sets(config)


def test_the_clinics_config_learns_from_no_held_out_set() -> None:
    paths = second_reading.training_sets(CONFIG)  # raises when a held-out set is listed
    assert {p.name for p in paths} >= {"messages.jsonl", "blind_1.jsonl"}


def test_a_missing_model_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="make train"):
        second_reading.load(str(tmp_path / "absent.joblib"))


# --- in triage -------------------------------------------------------------------------------------------------


def _service(escalate: float, emergency: float = 0.0) -> ClinicService:
    return ClinicService(load_criteria(), reader=lambda text, entities: SecondReading(escalate, emergency))


def test_the_service_escalates_a_message_the_reading_is_sure_about() -> None:
    outcome = _service(0.8).assess(None, "something feels really off with my face", [])
    assert outcome.decision.level is Level.URGENT
    assert "practitioner_by_second_reading" in outcome.decision.criteria
    assert not _service(0.1).assess(None, "something feels really off with my face", []).decision.level.escalates


def test_the_service_reads_an_emergency_as_one() -> None:
    outcome = _service(0.9, 0.6).assess(None, "she is not herself at all", [])
    assert outcome.decision.level is Level.EMERGENCY
    assert outcome.decision.criteria[0] == "emergency_by_second_reading"


def test_the_reading_of_a_message_outlives_the_answers_to_its_questions() -> None:
    first = Report(second_reading=SecondReading(escalate=0.7, emergency=0.1))
    kept = report_from_json(report_to_json(first))
    assert kept == first
    answer = Report(pain_score=3, second_reading=SecondReading(escalate=0.05, emergency=0.0))
    assert merge(kept, answer).second_reading == SecondReading(escalate=0.7, emergency=0.1)


def test_the_router_sends_a_question_or_off_topic_message_read_as_a_report_to_triage(nlp) -> None:
    router = SafetyRouter(SafetyRouter.get_default_config())
    text = "she is not herself since this morning"
    entities = entities_from_doc(nlp(text))
    assert router.route(text, {"name": "out_of_scope", "confidence": 0.9}, entities) is None  # no reader: as before
    router.reader = lambda text, entities: SecondReading(escalate=0.5)
    assert router.route(text, {"name": "out_of_scope", "confidence": 0.9}, entities) == "report_symptom"
    assert router.route(text, {"name": "ask_aftercare", "confidence": 0.9}, entities) == "report_symptom"
    assert router.route(text, {"name": "nlu_fallback", "confidence": 0.3}, entities) == "report_symptom"
    # a short reply in a conversation, or a command, stays what it is
    for intent in ("inform", "affirm", "thank", "greet", "stop"):
        assert router.route(text, {"name": intent, "confidence": 0.9}, entities) is None, intent
    router.reader = lambda text, entities: SecondReading(escalate=0.49)
    assert router.route(text, {"name": "out_of_scope", "confidence": 0.9}, entities) is None


def test_an_answer_to_a_clarifying_question_is_not_read_on_its_own() -> None:
    service = _service(0.9)
    assert service.assess(None, "about the same", [], leave_out="trend").report.second_reading is None
    assert service.assess(None, "about the same", []).report.second_reading == SecondReading(0.9, 0.0)


def test_no_confusion_is_found_in_everyday_confusion(nlp) -> None:
    for text in (
        "I feel confused about the aftercare",
        "my mum is confused about which cream to use",
        "confused and worried about the redness",
        "I ran out of it yesterday",
    ):
        found = {e["value"] for e in entities_from_doc(nlp(text)) if e["entity"] == "symptom"}
        assert "confusion" not in found, text
    found = {e["value"] for e in entities_from_doc(nlp("he seems confused and very sleepy"))}
    assert "confusion" in found


def test_a_message_inside_an_open_triage_is_not_read_again() -> None:
    pending = Report(second_reading=SecondReading(escalate=0.1, emergency=0.0))
    outcome = _service(0.9).assess(None, "7", [], pending=pending)
    assert outcome.report.second_reading == SecondReading(escalate=0.1, emergency=0.0)


def test_a_failing_reader_leaves_the_rules_to_answer() -> None:
    def broken(text, entities):
        raise ValueError("model file damaged")

    service = ClinicService(load_criteria(), reader=broken)
    outcome = service.assess(None, "there is pus coming out", [{"entity": "symptom", "value": "discharge"}])
    assert outcome.report.second_reading is None
    assert outcome.decision.level is Level.URGENT


def test_the_gateway_starts_without_a_built_model_and_the_action_server_does_not(tmp_path: Path) -> None:
    from dataclasses import replace

    from bot.bootstrap import second_reader
    from bot.settings import Settings

    settings = replace(Settings.from_env(), second_reading_path=tmp_path / "absent.joblib")
    assert second_reader(settings, required=False) is None
    with pytest.raises(FileNotFoundError, match="make train"):
        second_reader(settings)


def test_the_fast_reading_gives_the_pipelines_own_probabilities(nlp, tmp_path: Path) -> None:
    reader = _tiny_reader(nlp)
    second_reading.save(reader, tmp_path / "model.joblib")
    loaded = second_reading.load(str(tmp_path / "model.joblib"))
    texts = [
        "pus pus pus oozing, it's HOT and spreading!!",
        "no pus, just a bit red",
        "what if my vision goes blurry?",
        "",
        "ñandú café 🙂",
        "swelling " * 300,
    ]
    for text in texts:
        entities = entities_from_doc(nlp(text))
        fast = loaded.read(text, entities)
        escalate, emergency = loaded.read_with_scikit_learn(text, entities)
        assert fast == SecondReading(escalate=round(escalate, 4), emergency=round(emergency, 4)), text
        linear_escalate, _ = loaded.linear()
        row = (text, second_reading.entity_tokens(entities))
        assert abs(linear_escalate.probability_of(row, True) - escalate) < 1e-9


def test_the_fast_reading_is_never_pickled_with_the_model(nlp, tmp_path: Path) -> None:
    reader = _tiny_reader(nlp)
    reader.read("a bit red")  # builds the fast reading
    second_reading.save(reader, tmp_path / "model.joblib")
    import joblib

    assert joblib.load(tmp_path / "model.joblib").__dict__["_linear"] is None
