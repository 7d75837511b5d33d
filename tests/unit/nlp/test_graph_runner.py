"""The graph runner without dask (bot.rasa_nlu.speedups): on a small graph shaped like Rasa's predict graphs, the
same nodes run, each once, with the same arguments, and give the same result as DaskGraphRunner's own run."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

import pytest
from rasa.engine.exceptions import GraphComponentException, GraphRunError
from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage

import bot.rasa_nlu.components  # noqa: F401  (applies the cut, as Rasa's model loading does)
from bot.rasa_nlu import speedups

CALLS: List[tuple] = []


class Step(GraphComponent):
    """Records what it was called with; returns its config's `add` appended to what it got."""

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.config = config

    @classmethod
    def create(cls, config, model_storage, resource, execution_context) -> "Step":
        return cls(config)

    def process(self, **inputs: Any) -> List[str]:
        CALLS.append((self.config["add"], tuple(sorted(inputs.items(), key=str))))
        if self.config.get("fail"):
            raise RuntimeError("this step fails")
        got = [item for name in sorted(inputs) for item in (inputs[name] if isinstance(inputs[name], list) else [])]
        return got + [self.config["add"]]

    def train(self, **inputs: Any) -> List[str]:
        return self.process(**inputs)


def _node(add: str, fn: str = "process", fail: bool = False, **needs: str) -> SchemaNode:
    return SchemaNode(
        needs=needs, uses=Step, constructor_name="create", fn=fn, config={"add": add, "fail": fail}, eager=True
    )


# Shaped like Rasa's: a chain from an input placeholder, a diamond, two targets, a node no target needs.
SCHEMA = {
    "tokens": _node("tokens", messages="__message__"),
    "left": _node("left", messages="tokens"),
    "right": _node("right", messages="tokens"),
    "joined": _node("joined", a="left", b="right"),
    "policy": _node("policy", messages="joined", tracker="__tracker__"),
    "unused": _node("unused", messages="tokens"),
}


def _runner(tmp_path, schema: Dict[str, SchemaNode]) -> DaskGraphRunner:
    graph = GraphSchema(schema)
    return DaskGraphRunner(graph, LocalModelStorage(tmp_path), ExecutionContext(graph))


def _both(tmp_path, schema, inputs: Optional[Dict[str, Any]], targets: Optional[List[str]]):
    """(result, calls) of Rasa's own run, then of ours, each on a runner of its own."""
    results = []
    for run in (speedups._ORIGINAL_GRAPH_RUN, speedups._run_graph):
        CALLS.clear()
        results.append((run(_runner(tmp_path, schema), inputs, targets), sorted(CALLS, key=str)))
    return results


def test_rasa_runs_its_graphs_without_dask() -> None:
    assert DaskGraphRunner.run is speedups._run_graph


@pytest.mark.parametrize(
    "targets",
    [["policy"], ["joined", "policy"], ["left"], None],
    ids=["one target", "two targets", "a target early in the chain", "the schema's own targets"],
)
def test_the_same_nodes_run_once_each_with_the_same_arguments_and_the_same_result(tmp_path, targets) -> None:
    inputs = {"__message__": ["hi"], "__tracker__": ["tracker"]}
    (theirs, their_calls), (ours, our_calls) = _both(tmp_path, SCHEMA, inputs, targets)
    assert ours == theirs
    assert our_calls == their_calls
    assert len(our_calls) == len({add for add, _ in our_calls})  # each node once (the diamond's top included)
    if targets == ["policy"]:
        assert ours == {"policy": ["hi", "tokens", "left", "hi", "tokens", "right", "joined", "tracker", "policy"]}
        assert "unused" not in {add for add, _ in our_calls}


def test_a_need_nothing_provides_reaches_the_node_as_its_bare_name(tmp_path) -> None:
    """Dask passes the name itself; Rasa's GraphNode then warns and reports the missing input."""
    for run in (speedups._ORIGINAL_GRAPH_RUN, speedups._run_graph):
        with pytest.raises(GraphRunError, match="Missing input to run node 'policy'"):
            run(_runner(tmp_path, SCHEMA), {"__message__": ["hi"]}, ["policy"])


def test_an_input_named_like_a_node_takes_its_place(tmp_path) -> None:
    inputs = {"__message__": ["hi"], "__tracker__": ["t"], "left": ["given"]}
    (theirs, their_calls), (ours, our_calls) = _both(tmp_path, SCHEMA, inputs, ["joined"])
    assert ours == theirs
    assert our_calls == their_calls
    assert "left" not in {add for add, _ in our_calls}


def test_an_input_whose_value_names_a_node_is_refused_as_rasa_refuses_it(tmp_path) -> None:
    for run in (speedups._ORIGINAL_GRAPH_RUN, speedups._run_graph):
        with pytest.raises(GraphRunError, match="clashes with a node name"):
            run(_runner(tmp_path, SCHEMA), {"__message__": "tokens"}, ["policy"])


def test_a_node_that_fails_fails_the_run_with_the_same_error(tmp_path) -> None:
    schema = {**SCHEMA, "right": _node("right", fail=True, messages="tokens")}
    inputs = {"__message__": ["hi"], "__tracker__": ["t"]}
    for run in (speedups._ORIGINAL_GRAPH_RUN, speedups._run_graph):
        CALLS.clear()
        with pytest.raises(GraphComponentException, match="node right") as raised:
            run(_runner(tmp_path, schema), inputs, ["policy"])
        assert isinstance(raised.value.__cause__, RuntimeError)
        assert "joined" not in {add for add, _ in CALLS}  # nothing after it ran


@pytest.mark.parametrize("fn", ["train", "process"], ids=["a training run", "a fingerprint run (no train node)"])
def test_training_keeps_dask(tmp_path, monkeypatch: pytest.MonkeyPatch, fn: str) -> None:
    """Both runs of `rasa train` are given the training data importer; a predict graph never is."""
    used: List[str] = []
    original = speedups._ORIGINAL_GRAPH_RUN
    monkeypatch.setattr(speedups, "_ORIGINAL_GRAPH_RUN", lambda *args: used.append("dask") or original(*args))
    schema = {**SCHEMA, "tokens": _node("tokens", fn=fn, messages="__importer__")}
    inputs = {"__importer__": ["data"], "__tracker__": ["t"]}
    result = speedups._run_graph(_runner(tmp_path, schema), inputs, ["policy"])
    assert used == ["dask"]
    assert result["policy"][-1] == "policy"
    speedups._run_graph(_runner(tmp_path, SCHEMA), {"__message__": ["hi"], "__tracker__": ["t"]}, ["policy"])
    assert used == ["dask"]  # a predict graph's run does not
