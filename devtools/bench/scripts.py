"""What the simulated patients say: conversations of several turns, in a fixed mix.

Ours: normal reactions (with the answers to the bot's clarifying questions), aftercare questions, and red flags
(urgent and emergency). A turn marked `red_flag` must alert the treating practitioner; the Telegram phase
measures how long that takes. Stock: the `rasa init` project's intents in similar several-turn conversations.
The lists are cycled in order, so every run sends the same messages in the same order.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Iterator, Tuple


@dataclass(frozen=True)
class Script:
    kind: str  # normal | question | red_flag | stock
    turns: Tuple[str, ...]
    red_flag_turn: int = -1  # index of the turn that must alert a practitioner, -1 for none


OURS: Tuple[Script, ...] = (
    Script("normal", ("hi", "my face is red and a bit swollen since yesterday", "getting better", "thanks")),
    Script("question", ("hello", "when can I wear makeup again", "can I go to the gym tonight", "bye")),
    Script(
        "red_flag",
        ("hi", "it's a bit itchy", "now there is yellow pus oozing from the needle marks and I feel feverish"),
        2,
    ),
    Script(
        "normal",
        (
            "I had microneedling 2 days ago and there is some bruising where the needles went",
            "about the same",
            "ok thank you",
        ),
    ),
    Script(
        "question",
        ("how long until I see results", "should I wear sunscreen", "can I wash my face tonight", "thanks, bye"),
    ),
    Script("normal", ("it's a bit sore", "about 3 out of 10", "getting better", "thanks")),
    Script("red_flag", ("hello", "the redness is spreading and it's hot, I have a fever", "ok"), 1),
    Script("question", ("hi", "is it ok to drink alcohol after the treatment", "what about swimming", "bye")),
    Script("normal", ("my skin is flaking a little", "about the same", "can I use moisturiser", "thanks")),
    Script("red_flag", ("my throat is closing and i cant breathe",), 0),
)

STOCK: Tuple[Script, ...] = (
    Script("stock", ("hello", "I am feeling very good", "bye")),
    Script("stock", ("hi there", "I am sad", "yes", "goodbye")),
    Script("stock", ("hey", "not good", "no", "are you a bot?")),
    Script("stock", ("good morning", "great", "see you around")),
    Script("stock", ("hey dude", "very sad", "of course", "bye bye")),
)


def cycle(scripts: Tuple[Script, ...]) -> Iterator[Script]:
    return itertools.cycle(scripts)


def take(scripts: Tuple[Script, ...], count: int) -> Tuple[Script, ...]:
    return tuple(itertools.islice(cycle(scripts), count))
