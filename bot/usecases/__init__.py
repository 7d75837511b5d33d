"""The use cases: what the clinic's people and the bot do with the records, each in its own unit of work.

Every entry point (Rasa actions, the Telegram gateway, the admin CLI, the terminal chat) calls these, never
bot.store.repository. A use case takes a UnitOfWork that is not open yet, opens it, makes the decisions (who is
alerted, what acknowledging means, which check-ins a resume skips, that an appointment lies ahead), asks the
repository to store rows and commits; leaving early (an exception) stores nothing.

    from bot.usecases import escalations
    change = escalations.acknowledge(UnitOfWork(session_factory), escalation_id, practitioner_id)

enrolment     practitioners, patients, treatments, link codes and chat links
reports       a patient's report (and the escalation and first alerts it opens), photos
escalations   acknowledge, resolve, the open queue
checkins      scheduling check-ins, pause and resume
appointments  planned treatments and the pre-treatment screening
records       what staff read about a patient (audited), export, erasure and retention
triage        ClinicService: a message in, the triage decision and its record out (Rasa actions, the safety net)
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from bot.store.uow import UnitOfWork

F = TypeVar("F", bound=Callable[..., Any])


def use_case(step: F) -> F:
    """Run `step(uow, …)` in the unit of work it is given, committed when it returns (rolled back if it raises).

    Modules write the step as a private function and publish `name = use_case(_name)`, so another use case can
    still call the step inside its own transaction.
    """

    @functools.wraps(step)
    def run(uow: UnitOfWork, *args: Any, **kwargs: Any) -> Any:
        with uow:
            result = step(uow, *args, **kwargs)
            uow.commit()
            return result

    return run  # type: ignore[return-value]
