"""A small clinic on record, for the store and notifier tests (on both backends, see ../conftest.py)."""

from __future__ import annotations

import pytest
from store_helpers import BACKUP_CHAT, NOW, ON_CALL_CHAT, PATIENT_CHAT, T0, TREATING_CHAT, Clinic

from bot.store.uow import UnitOfWork
from bot.usecases import enrolment


@pytest.fixture
def clinic(session_factory) -> Clinic:
    """Three practitioners (treating, on call, backup) and one patient whose chat is linked."""
    uow = UnitOfWork(session_factory)
    treating = enrolment.add_practitioner(uow, "Dr Treating", "treating", TREATING_CHAT)
    on_call = enrolment.add_practitioner(uow, "Dr OnCall", "on_call", ON_CALL_CHAT)
    backup = enrolment.add_practitioner(uow, "Dr Backup", "backup", BACKUP_CHAT)
    new = enrolment.add_patient_with_treatment(
        uow, "Jane Patient", T0, "face", "microneedling", treating.id, product_batch="EX-42", now=NOW
    )
    enrolment.redeem_link_code(uow, new.link_code, PATIENT_CHAT, now=NOW)
    return Clinic(treating.id, on_call.id, backup.id, new.patient.id, new.treatment.id, new.link_code)
