"""Domain errors raised by the store. Each message says what was wrong and, where it helps, what to do.

Callers (Rasa actions, the Telegram gateway, the admin CLI) catch `StoreError` and show `str(error)`;
nothing here should ever surface as a traceback to a clinic user.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class: a request the records cannot honour."""


class InvalidValue(StoreError):
    """A value outside its allowed set (area, method, role...)."""


class UnknownPractitioner(StoreError):
    pass


class UnknownPatient(StoreError):
    pass


class UnknownTreatment(StoreError):
    pass


class UnknownEscalation(StoreError):
    pass


class TreatmentInFuture(StoreError):
    pass


class DuplicateChatId(StoreError):
    """A Telegram chat id is already linked to another patient or practitioner."""


class UnknownLinkCode(StoreError):
    pass


class LinkCodeExpired(StoreError):
    pass


class LinkCodeUsed(StoreError):
    pass


class AppointmentInPast(StoreError):
    pass
