"""Unit of work: one database transaction around a group of repository calls. A use case (bot.usecases) opens
it, stores through bot.store.repository and commits:

    with uow:
        report = repository.add_report(uow, ...)
        uow.commit()

Leaving the block without `commit()` (or because of an exception) rolls everything back, so a report and
the alerts it requires are stored together or not at all.
"""

from __future__ import annotations

from types import TracebackType
from typing import Callable, Optional, Type

from sqlalchemy.orm import Session

SessionFactory = Callable[[], Session]


class UnitOfWork:
    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory
        self._session: Optional[Session] = None
        # Set once commit() has been called in the current block: a database error after that point may have
        # written, so callers that retry on connection errors must not.
        self.commit_attempted = False

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside its `with` block")
        return self._session

    def __enter__(self) -> "UnitOfWork":
        if self._session is not None:
            raise RuntimeError("UnitOfWork is already open: a use case was called inside another one's block")
        self._session = self._session_factory()
        self.commit_attempted = False
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        # close() rolls back anything not committed, so half-done work never reaches the database. Unlike
        # rollback() it does not expire the loaded objects: callers may still read what they were given.
        self.session.close()
        self._session = None

    def commit(self) -> None:
        self.commit_attempted = True
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def flush(self) -> None:
        self.session.flush()
