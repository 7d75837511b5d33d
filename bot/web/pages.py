"""The console's pages: the escalation queue (live), patients and their timeline, photos, export, registering a
patient (and the card with the link to their chat), booking an appointment, the admin's practitioners.

Every handler first asks auth.require for the roles the page is for (admin passes everywhere; desk only
registers and books), reads a POST through auth.form_with_csrf, and calls bot.usecases (console, escalations) in
a worker thread. What a clinic user typed wrong comes back as the use case's message (bot.store.errors) on the
form again, with status 400 and the values kept. The only ids in our URLs are record ids; the patient's link code
appears only in the card page's body (never in a URL of ours, never logged).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Callable, Dict, Mapping, Optional

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.store import errors
from bot.store.models import ROLES
from bot.store.uow import UnitOfWork
from bot.usecases import appointments, console, enrolment, escalations
from bot.web.app import render
from bot.web.auth import Account, form_with_csrf, require
from bot.web.files import PhotoUnavailable

CLINICAL = ("clinician",)  # admin always passes auth.require
FRONT_DESK = ("clinician", "desk")
NEEDS_PRACTITIONER = "Link this account to a practitioner to acknowledge"


# Helpers --------------------------------------------------------------------------------------------------------------
def _uow(request: Request) -> UnitOfWork:
    return UnitOfWork(request.app.state.session_factory)


def _now(request: Request) -> dt.datetime:
    return request.app.state.clock()


async def _call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await run_in_threadpool(function, *args, **kwargs)


def when(moment: Optional[dt.datetime]) -> str:
    """A time as staff read it: "2026-11-27 14:30 UTC" (the clinic's clock is UTC)."""
    if moment is None:
        return ""
    return moment.astimezone(console.CLINIC_TZ).strftime("%Y-%m-%d %H:%M UTC")


def _page(
    request: Request, name: str, context: Optional[Dict[str, Any]] = None, status_code: int = 200, **headers: str
) -> Response:
    context = dict(context or {})
    context.setdefault("when", when)
    response = render(request, name, context, status_code=status_code)
    for header, value in headers.items():
        response.headers[header.replace("_", "-")] = value
    return response


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _not_found(what: str) -> HTTPException:
    return HTTPException(status_code=404, detail=what)


def _record_id(request: Request, name: str) -> int:
    """A record id from the path; one no table can hold is simply not found."""
    value = request.path_params[name]
    if not 0 < value <= console.MAX_ID:
        raise _not_found("No such record.")
    return value


# The escalation queue -------------------------------------------------------------------------------------------------
async def queue_page(request: Request) -> Response:
    account = await require(request, *CLINICAL)
    rows = await _call(console.queue, _uow(request), now=_now(request))
    return _page(request, "queue.html", {"rows": rows, "can_act": account.practitioner_id is not None})


async def queue_rows(request: Request) -> Response:
    """The queue's <tbody> alone: console.js swaps it in every few seconds."""
    account = await require(request, *CLINICAL)
    rows = await _call(console.queue, _uow(request), now=_now(request))
    return _page(request, "queue_rows.html", {"rows": rows, "can_act": account.practitioner_id is not None})


async def _escalation_change(request: Request, resolve: bool) -> Response:
    account = await require(request, *CLINICAL)
    form = await form_with_csrf(request)
    if account.practitioner_id is None:
        raise HTTPException(status_code=403, detail=NEEDS_PRACTITIONER)
    escalation_id = _record_id(request, "escalation_id")
    try:
        if resolve:
            await _call(
                escalations.resolve, _uow(request), escalation_id, account.practitioner_id, _field(form, "note") or None
            )
        else:
            await _call(escalations.acknowledge, _uow(request), escalation_id, account.practitioner_id)
    except (errors.UnknownEscalation, errors.UnknownPractitioner) as error:
        raise _not_found(str(error)) from None
    return RedirectResponse("/queue", status_code=303)


async def acknowledge(request: Request) -> Response:
    return await _escalation_change(request, resolve=False)


async def resolve(request: Request) -> Response:
    return await _escalation_change(request, resolve=True)


# Patients -------------------------------------------------------------------------------------------------------------
async def patient_list(request: Request) -> Response:
    await require(request, *CLINICAL)
    patients = await _call(console.patients, _uow(request))
    return _page(request, "patients.html", {"patients": patients})


async def patient_timeline(request: Request) -> Response:
    account = await require(request, *CLINICAL)
    try:
        timeline = await _call(console.timeline, _uow(request), _record_id(request, "patient_id"), account.actor)
    except errors.UnknownPatient as error:
        raise _not_found(str(error)) from None
    return _page(
        request, "patient.html", {"patient": timeline, "photos_enabled": request.app.state.bot_api is not None}
    )


async def patient_export(request: Request) -> Response:
    account = await require(request, *CLINICAL)
    patient_id = _record_id(request, "patient_id")
    try:
        data = await _call(console.export, _uow(request), patient_id, account.actor)
    except errors.UnknownPatient as error:
        raise _not_found(str(error)) from None
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False, default=str),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="patient-{patient_id}.json"',
            "Cache-Control": "no-store",
        },
    )


async def photo(request: Request) -> Response:
    """The photo's image, fetched from Telegram now (we keep only its file_id) and never stored or cached."""
    account = await require(request, *CLINICAL)
    bot_api = request.app.state.bot_api
    if bot_api is None:
        raise _not_found("Photos need the Telegram bot token.")
    ref = await _call(console.photo, _uow(request), _record_id(request, "photo_id"), account.actor)
    if ref is None:
        raise _not_found("No such photo.")
    try:
        content, media_type = await bot_api.download(ref.file_id)
    except PhotoUnavailable:
        raise _not_found("Telegram no longer has this photo.") from None
    return Response(
        content,
        media_type=media_type,
        headers={"Cache-Control": "no-store", "Content-Disposition": f'inline; filename="photo-{ref.id}"'},
    )


# Registering a patient ------------------------------------------------------------------------------------------------
async def _choices(request: Request) -> Dict[str, Any]:
    return await _call(console.form_choices, _uow(request))


async def register_form(request: Request) -> Response:
    await require(request, *FRONT_DESK)
    values = {"treated_at": console.local_input_value(_now(request)), "area": "face", "method": "microneedling"}
    return _page(request, "patient_new.html", {"choices": await _choices(request), "values": values})


async def register(request: Request) -> Response:
    account = await require(request, *FRONT_DESK)
    form = await form_with_csrf(request)
    values = {key: _field(form, key) for key in ("name", "phone", "treated_at", "area", "method", "practitioner_id")}
    settings = request.app.state.settings
    try:
        card = await _call(
            console.register_patient,
            _uow(request),
            values["name"],
            values["phone"],
            console.parse_when(values["treated_at"], "Treated at"),
            values["area"],
            values["method"],
            console.parse_id(values["practitioner_id"], "Treating practitioner"),
            bot_username=settings.telegram_bot_username,
            actor=account.actor,
            **enrolment.clinic_registration(settings),
            now=_now(request),
        )
    except errors.StoreError as error:
        context = {"choices": await _choices(request), "values": values, "error": str(error)}
        return _page(request, "patient_new.html", context, status_code=400)
    return _page(request, "patient_card.html", {"card": card})


# Booking an appointment -----------------------------------------------------------------------------------------------
async def appointment_form(request: Request) -> Response:
    await require(request, *FRONT_DESK)
    values = {"patient_id": request.query_params.get("patient", ""), "area": "face", "method": "microneedling"}
    if not values["patient_id"].isdigit():
        values["patient_id"] = ""
    return _page(request, "appointment_new.html", {"choices": await _choices(request), "values": values})


async def book(request: Request) -> Response:
    account = await require(request, *FRONT_DESK)
    form = await form_with_csrf(request)
    values = {key: _field(form, key) for key in ("patient_id", "scheduled_at", "area", "method", "practitioner_id")}
    settings = request.app.state.settings
    try:
        booked = await _call(
            console.book_appointment,
            _uow(request),
            console.parse_id(values["patient_id"], "Patient ID"),
            console.parse_when(values["scheduled_at"], "Appointment at"),
            values["area"],
            values["method"],
            console.parse_id(values["practitioner_id"], "Practitioner"),
            actor=account.actor,
            preparation_lead=appointments.clinic_preparation_lead(settings),
            now=_now(request),
        )
    except errors.StoreError as error:
        context = {"choices": await _choices(request), "values": values, "error": str(error)}
        return _page(request, "appointment_new.html", context, status_code=400)
    fresh = {"patient_id": "", "area": values["area"], "method": values["method"]}
    context = {"choices": await _choices(request), "values": fresh, "booked": booked}
    return _page(request, "appointment_new.html", context)


# Practitioners (admin) ------------------------------------------------------------------------------------------------
async def _practitioners_page(
    request: Request, values: Mapping[str, str], error: Optional[str] = None, added: Optional[Dict] = None
) -> Response:
    people = await _call(console.practitioners, _uow(request))
    context = {"practitioners": people, "roles": ROLES, "values": values, "error": error, "added": added}
    return _page(request, "practitioners.html", context, status_code=400 if error else 200)


async def practitioners(request: Request) -> Response:
    await require(request, "admin")
    return await _practitioners_page(request, {"role": "treating"})


async def add_practitioner(request: Request) -> Response:
    account: Account = await require(request, "admin")
    form = await form_with_csrf(request)
    values = {key: _field(form, key) for key in ("name", "role", "chat_id")}
    try:
        added = await _call(
            console.add_practitioner,
            _uow(request),
            values["name"],
            values["role"],
            console.parse_chat_id(values["chat_id"]),
            actor=account.actor,
        )
    except errors.StoreError as error:
        return await _practitioners_page(request, values, error=str(error))
    return await _practitioners_page(request, {"role": "treating"}, added=added)


routes = [
    Route("/queue", queue_page, methods=["GET"], name="queue"),
    Route("/queue/rows", queue_rows, methods=["GET"], name="queue_rows"),
    Route("/escalations/{escalation_id:int}/acknowledge", acknowledge, methods=["POST"], name="acknowledge"),
    Route("/escalations/{escalation_id:int}/resolve", resolve, methods=["POST"], name="resolve"),
    Route("/patients", patient_list, methods=["GET"], name="patients"),
    Route("/patients", register, methods=["POST"], name="register"),
    Route("/patients/new", register_form, methods=["GET"], name="register_form"),
    Route("/patients/{patient_id:int}", patient_timeline, methods=["GET"], name="patient"),
    Route("/patients/{patient_id:int}/export", patient_export, methods=["GET"], name="patient_export"),
    Route("/photos/{photo_id:int}", photo, methods=["GET"], name="photo"),
    Route("/appointments/new", appointment_form, methods=["GET"], name="appointment_form"),
    Route("/appointments", book, methods=["POST"], name="book"),
    Route("/admin/practitioners", practitioners, methods=["GET"], name="practitioners"),
    Route("/admin/practitioners", add_practitioner, methods=["POST"], name="add_practitioner"),
]
