"""Unit of work: one database transaction around a group of repository calls.

    with UnitOfWork(session_factory) as uow:
        report = repository.record_report(uow, ...)
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

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside its `with` block")
        return self._session

    def __enter__(self) -> "UnitOfWork":
        self._session = self._session_factory()
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
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def flush(self) -> None:
        self.session.flush()
