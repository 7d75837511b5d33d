"""make profile's stage table: each sampled stack goes to the stage of its innermost known frame."""

from devtools.bench.profile import per_message, stage_of, stages_from_raw

DIET = "run (rasa/engine/graph.py:1);process (rasa/nlu/classifiers/diet_classifier.py:9);call (tensorflow/x.py:3)"
TRACKER_SQL = "save (rasa/core/tracker_store.py:1);execute (sqlalchemy/engine/base.py:2)"
SCHEMA = "run (rasa/core/actions/action.py:700);validate (jsonschema/validators.py:1)"
# Our lock store's own frames under Rasa's agent: the lock store's, not the processor's.
OUR_LOCK = "handle_message (rasa/core/agent.py:418);lock (bot/rasa_nlu/lock_store.py:117);execute (redis/client.py:1)"


def test_a_library_call_belongs_to_the_stage_that_made_it() -> None:
    assert stage_of(DIET.split(";")) == "nlu: DIETClassifier"
    assert stage_of(TRACKER_SQL.split(";")) == "tracker store (load/save)"
    assert stage_of(SCHEMA.split(";")) == "action call (to the action server)"
    assert stage_of(OUR_LOCK.split(";")) == "lock store"
    assert stage_of(["select (selectors.py:1)"]).startswith("other")


def test_samples_become_ms_per_message_in_proportion() -> None:
    raw = f"{DIET} 30\n{TRACKER_SQL} 10\n\n"
    samples = stages_from_raw(raw)
    assert samples == {"nlu: DIETClassifier": 30, "tracker store (load/save)": 10}
    assert per_message(samples, 40.0) == {"nlu: DIETClassifier": 30.0, "tracker store (load/save)": 10.0}
