"""The one ClinicService the action server uses, built on first use (never at import time) by the composition root
(bot.bootstrap.clinic_service)."""

from __future__ import annotations

from typing import Optional

from bot.bootstrap import clinic_service
from bot.usecases.triage import ClinicService

_service: Optional[ClinicService] = None


def get_service() -> ClinicService:
    global _service
    if _service is None:
        _service = clinic_service()
    return _service


def set_service(service: Optional[ClinicService]) -> None:
    """Tests inject a service with an in-memory or temporary store."""
    global _service
    _service = service
