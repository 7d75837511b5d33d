"""Three cuts in Rasa's own work per message, applied when Rasa loads our components (bot.rasa_nlu.components).

1. Rasa 3.6 checks every answer of the action server with `jsonschema.validate(result, schema)`. That call first
checks the schema itself against JSON Schema's meta-schema and builds a new validator, every time: 56 ms of CPU
per action call here, 43 % of the Rasa worker's CPU for a red flag (`make profile`). The same schema checked by
one validator built once gives the same verdict, and the same error, in about 6 ms. Most of what was left is the
schema's `oneOf` over Rasa's 23 kinds of event, tried for every event returned (13 % of the worker's busy time on
a new conversation's "hi", py-spy). The branches differ by their `event` constant, so an event can only match its
own: an answer whose every event passes the common part and its own branch passes the whole check. Only such an
answer is accepted on that shorter path; anything else takes the full check, for the same verdict and error.

2. Every event Rasa reads back (the tracker from the tracker store on every message, the action server's answer)
finds its class with `Event.resolve_by_type`, which walks the whole Event class tree, with an `inspect.isabstract`
per class, for each event: 4-11 % of the worker's CPU per message (`make profile`), more the longer the
conversation. The same first match, looked up in a table built from the same walk, is kept until a name is not
found (then the walk is made again, so a class defined later is still found).

3. Rasa runs its NLU graph and its policies' graph (twice or three times a message) with dask's synchronous
scheduler, which on every run prunes the schema, builds a dask task graph and orders it before calling the same
nodes one after the other. The same nodes, each called once with the same arguments after those it needs, in an
order worked out once per set of targets: parsing a message 9.6-10.7 -> 8.0-8.9 ms of CPU, a policy prediction
0.87-0.94 -> 0.54-0.60 ms (in-process A/B on our model, same parse results). Training keeps dask.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Dict, List, Optional, Text, Tuple, Type

_APPLIED = False


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)  # once, as jsonschema.validate does on every call
    return cls(schema)


@lru_cache(maxsize=1)
def _event_validators() -> Dict[Text, Any]:
    """Event name -> a validator of the event schema with its `oneOf` cut down to that event's own branch. Empty
    (every answer takes the full check) unless each branch names its event by a constant of its own."""
    from jsonschema.validators import validator_for
    from rasa.shared.utils.schemas.events import EVENT_SCHEMA

    common = {key: value for key, value in EVENT_SCHEMA.items() if key != "oneOf"}
    table: Dict[Text, Any] = {}
    for branch in EVENT_SCHEMA["oneOf"]:
        name = branch.get("properties", {}).get("event", {}).get("const")
        if not isinstance(name, str) or name in table:
            return {}
        schema = {**common, "allOf": [branch]}
        table[name] = validator_for(schema)(schema)
    return table


def _passes_for_certain(result: Any) -> bool:
    """True only if the full check would pass (see the module's docstring); False means: run the full check."""
    if not isinstance(result, dict):
        return False
    events, responses = result.get("events", []), result.get("responses", [])
    if not isinstance(events, list) or not isinstance(responses, list):
        return False
    if not all(isinstance(response, dict) for response in responses):
        return False
    validators = _event_validators()
    for event in events:
        name = event.get("event") if isinstance(event, dict) else None
        validator = validators.get(name) if isinstance(name, str) else None
        if validator is None or not validator.is_valid(event):
            return False
    return True


def _validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
    """RemoteAction._validate_action_result with a validator built once (same schema, same errors), after the
    shorter path that accepts only what that check accepts."""
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    if _passes_for_certain(result):
        return True
    error = best_match(_validator().iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the Action "
            f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


_EVENT_CLASSES: Dict[Text, Any] = {}


def _resolve_event_type(type_name: Text, default: Optional[Type[Any]] = None) -> Optional[Type[Any]]:
    """Event.resolve_by_type from a table: the first class of Rasa's walk with that type name."""
    found = _EVENT_CLASSES.get(type_name)
    if found is None:
        from rasa.shared.core.events import Event
        from rasa.shared.utils.common import all_subclasses

        table: Dict[Text, Any] = {}
        for cls in all_subclasses(Event):
            table.setdefault(cls.type_name, cls)
        _EVENT_CLASSES.clear()
        _EVENT_CLASSES.update(table)
        found = table.get(type_name)
    if found is not None:
        return found
    if type_name == "topic":
        return None  # as Rasa: old TopicSet events are skipped
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


_ORIGINAL_GRAPH_RUN: Any = None


# Every run of a training graph (the fingerprint run and the training run) is given the training data importer.
TRAINING_INPUT = "__importer__"  # rasa.engine.constants.PLACEHOLDER_IMPORTER


def _graph_plan(runner: Any, targets: Tuple[Text, ...]) -> List[Tuple[Text, Tuple[Text, ...]]]:
    """(node, the names it needs) for every node the targets depend on, each after the nodes it needs: the tasks
    dask runs for DaskGraphRunner.run, worked out once per runner and set of targets."""
    plans = runner.__dict__.setdefault("_aftercare_plans", {})
    if targets in plans:
        return plans[targets]
    nodes = runner._graph_schema.minimal_graph_schema(list(targets)).nodes
    plan: List[Tuple[Text, Tuple[Text, ...]]] = []
    placed: set = set()

    def place(name: Text) -> None:
        if name in placed or name not in nodes:
            return
        placed.add(name)
        needs = tuple(nodes[name].needs.values())
        for need in needs:
            place(need)
        plan.append((name, needs))

    for target in targets:
        place(target)
    plans[targets] = plan
    return plan


def _run_graph(self: Any, inputs: Optional[Dict[Text, Any]] = None, targets: Optional[List[Text]] = None) -> Any:
    """DaskGraphRunner.run without dask's scheduler, for the graphs that answer messages: the same nodes, called with
    the same arguments (each node's output as `(node name, value)`, an input as `(input name, value)`, a name nothing
    provides as the bare name), each once, after the nodes it needs. Dask's synchronous scheduler calls the same
    nodes one at a time too, plus building and ordering its task graph on every call (twice a message: NLU, then
    the policies). Nodes that need nothing of each other may run in another order than dask's: in Rasa's predict
    graphs they do not touch each other's inputs (the NLU graph is a chain; the policies only read the tracker).
    Training keeps dask: it runs once, through caching and fingerprinting nodes not worth the risk."""
    from rasa.engine.exceptions import GraphRunError

    if TRAINING_INPUT in (inputs or {}):
        return _ORIGINAL_GRAPH_RUN(self, inputs, targets)
    run_targets = tuple(targets if targets else self._graph_schema.target_names)
    plan = _graph_plan(self, run_targets)
    values: Dict[Text, Any] = {}
    graph_keys = {name for name, _ in plan}
    for name, value in (inputs or {}).items():
        if isinstance(value, str) and (value in graph_keys or value in values):
            raise GraphRunError(
                f"Input value '{value}' clashes with a node name. Make sure that none of the input names passed to "
                f"the `run` method are the same as node names in the graph schema."
            )
        values[name] = (name, value)
    try:
        for name, needs in plan:
            if name not in values:  # an input of the same name replaces the node, as in dask's graph
                values[name] = self._instantiated_nodes[name](*(values.get(need, need) for need in needs))
    except RuntimeError as error:
        raise GraphRunError("Error running runner.") from error
    return dict(values[target] for target in run_targets)


def apply() -> None:
    """Idempotent: Rasa may load the components more than once. Only on Rasa 3.6, the code they replace."""
    global _APPLIED, _ORIGINAL_GRAPH_RUN
    if _APPLIED:
        return
    import rasa
    from rasa.core.actions.action import RemoteAction

    if not rasa.__version__.startswith("3.6."):
        # Written against Rasa 3.6's RemoteAction; another version may check differently: leave it alone.
        logging.getLogger(__name__).warning("Rasa %s: the speed-ups are not applied", rasa.__version__)
        return
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.shared.core.events import Event

    _ORIGINAL_GRAPH_RUN = DaskGraphRunner.run
    DaskGraphRunner.run = _run_graph
    RemoteAction._validate_action_result = _validate_action_result
    Event.resolve_by_type = staticmethod(_resolve_event_type)
    _APPLIED = True
