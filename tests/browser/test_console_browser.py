"""The clinic's web console, used as staff use it: in a real browser (Debian's Chromium, headless, via Playwright).

* a red flag a patient sends through Telegram appears in a clinician's open queue without a reload, is
  acknowledged from the web, and the patient is told someone is looking at it;
* the desk registers a patient; the QR code on the card reads back to the deep link shown beside it, and that
  link's /start code links a new Telegram chat to the new patient;
* the desk cannot open a timeline or the queue; a POST without the CSRF token is refused;
* the queue and a timeline on a phone (375x812) and a desktop (1280x800): screenshots in results/console/, no
  sideways scrolling at 375 px, a label for every form input.
"""

from __future__ import annotations

import base64
import io
import re
from typing import Any, List
from urllib.parse import parse_qs, urlparse

import pytest

from bot.usecases import enrolment, escalations
from tests.browser.conftest import (
    BOT_USERNAME,
    DOCTOR_CHAT,
    NEW_CHAT,
    PATIENT_CHAT,
    RED_FLAG,
    SCREENSHOTS,
    Clinic,
    login,
    seed_a_busy_day,
    seed_escalation,
)

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 800}
# Every control a person fills in must have a label (a <label for>, or one around it, or aria-label[ledby]).
UNLABELLED_INPUTS = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => !['hidden', 'submit', 'button', 'reset', 'image'].includes((el.type || '').toLowerCase()))
  .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML)"""
SIDEWAYS_OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


async def new_page(browser: Any, viewport: dict = DESKTOP) -> Any:
    context = await browser.new_context(viewport=viewport)
    return await context.new_page()


def escalation_state(clinic: Clinic, escalation_id: int) -> str:
    rows = escalations.open_queue(clinic.uow())
    return next((row["state"] for row in rows if row["id"] == escalation_id), "gone")


# a. The live queue -------------------------------------------------------------------------------------------
async def test_a_red_flag_sent_on_telegram_appears_in_the_open_queue_and_is_acknowledged_from_the_web(
    browser: Any, clinic: Clinic, console: str, tg: Any, gateway: Any
) -> None:
    from playwright.async_api import expect

    page = await new_page(browser)
    await login(page, console, "lee")
    await page.goto(f"{console}/queue")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Escalation queue")
    await expect(page.get_by_text("No open escalations.")).to_be_visible()
    await page.evaluate("() => { window.notReloaded = true; }")  # gone if the page is loaded again

    mark = tg.mark()
    tg.inject_text(PATIENT_CHAT, RED_FLAG)
    alert = await tg.wait_for_sent(method="sendMessage", chat_id=DOCTOR_CHAT, since=mark, timeout=20)
    assert "Ann Example" in alert.text

    row = page.locator("tr[data-escalation-id]")
    await expect(row).to_have_count(1, timeout=12_000)  # the 5-s refresh of the table's body
    assert await page.evaluate("() => window.notReloaded === true"), "the queue page was reloaded"
    await expect(row).to_contain_text("Ann Example")
    await expect(row).to_contain_text("urgent", ignore_case=True)
    await expect(row.locator("td.state")).to_have_text("open")
    escalation_id = int(await row.get_attribute("data-escalation-id"))

    mark = tg.mark()
    async with page.expect_navigation():
        await row.get_by_role("button", name="Acknowledge").click()
    assert urlparse(page.url).path == "/queue"
    await expect(page.locator(f'tr[data-escalation-id="{escalation_id}"] td.state')).to_have_text("acknowledged")
    assert escalation_state(clinic, escalation_id) == "acknowledged"

    notice = await tg.wait_for_sent(
        lambda call: "has seen your message" in call.text,
        method="sendMessage",
        chat_id=PATIENT_CHAT,
        since=mark,
        timeout=15,
    )  # the gateway's notifier sends it (it polls the outbox every 2 s)
    assert "Dr Lee" in notice.text and "will be in touch" in notice.text


# b. Registering a patient: the QR code and the deep link -----------------------------------------------------
async def test_a_patient_registered_at_the_desk_links_their_chat_with_the_code_in_the_qr(
    browser: Any, clinic: Clinic, console: str, tg: Any, gateway: Any
) -> None:
    import zxingcpp
    from PIL import Image
    from playwright.async_api import expect

    page = await new_page(browser)
    await login(page, console, "desk")
    assert urlparse(page.url).path == "/patients/new"
    await expect(page.get_by_role("heading", level=1)).to_have_text("Register a patient")
    await page.get_by_label("Name", exact=True).fill("Bea Newcomer")
    await page.get_by_label("Phone", exact=True).fill("+44 7700 900123")
    assert await page.get_by_label("Treated at").input_value()  # defaults to now
    await page.get_by_label("Area").select_option("face")
    await page.get_by_label("Method").select_option("microneedling")
    practitioner = page.get_by_label("Treating practitioner")
    options: List[str] = await practitioner.locator("option").all_inner_texts()
    await practitioner.select_option(label=next(o for o in options if "Dr Lee" in o))
    async with page.expect_navigation():
        await page.get_by_role("button", name="Register").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("Patient card")
    link = (await page.locator("code#deep-link").inner_text()).strip()
    assert link.startswith(f"https://t.me/{BOT_USERNAME}?start="), link
    code = parse_qs(urlparse(link).query)["start"][0]
    assert code not in page.url  # the code is never in a URL of ours

    source = await page.get_by_alt_text("QR code for the patient's Telegram link").get_attribute("src")
    prefix = "data:image/png;base64,"
    assert source.startswith(prefix), source[:40]
    image = Image.open(io.BytesIO(base64.b64decode(source[len(prefix) :])))
    assert [found.text for found in zxingcpp.read_barcodes(image)] == [link]

    tg.open_chat(NEW_CHAT, "Bea")
    mark = tg.mark()
    tg.inject_start(NEW_CHAT, code)
    await tg.wait_for_sent(
        lambda call: "now linked to your aftercare record" in call.text,
        method="sendMessage",
        chat_id=NEW_CHAT,
        since=mark,
        timeout=15,
    )  # after the disclaimer
    linked = enrolment.patient_for_chat(clinic.uow(), NEW_CHAT)
    assert linked is not None and linked.display_name == "Bea Newcomer"


# c. Roles ------------------------------------------------------------------------------------------------------
async def test_the_desk_cannot_open_a_timeline_nor_the_queue(browser: Any, clinic: Clinic, console: str) -> None:
    page = await new_page(browser)
    await login(page, console, "desk")
    for path in (f"/patients/{clinic.patient_id}", "/queue", "/patients", f"/patients/{clinic.patient_id}/export"):
        response = await page.goto(f"{console}{path}")
        assert response.status == 403, (path, response.status)
        assert "Not allowed" in await page.locator("h1").first.inner_text(), path
        assert "Ann Example" not in await page.content(), path


# d. CSRF -----------------------------------------------------------------------------------------------------
async def test_a_post_without_the_csrf_token_is_refused(browser: Any, clinic: Clinic, console: str) -> None:
    escalation_id = seed_escalation(clinic)
    page = await new_page(browser)
    await login(page, console, "lee")
    # Signed in (the session cookie goes with page.request), but the form carries no token, or a wrong one.
    for form in ({"note": "seen"}, {"note": "seen", "csrf_token": "forged"}):
        response = await page.request.post(
            f"{console}/escalations/{escalation_id}/acknowledge", form=form, max_redirects=0
        )
        assert response.status == 403, (form, response.status)
        assert "Form expired or forged" in await response.text()
    response = await page.request.post(
        f"{console}/patients",
        form={"name": "Mallory", "area": "face", "method": "microneedling", "practitioner_id": str(clinic.doctor_id)},
        max_redirects=0,
    )
    assert response.status == 403 and "Form expired or forged" in await response.text()
    assert escalation_state(clinic, escalation_id) == "open"
    assert "Mallory" not in [p.display_name for p in _all_patients(clinic)]
    # The same request with the page's own token goes through: it was the token that was missing.
    await page.goto(f"{console}/queue")
    token = await page.locator('input[name="csrf_token"]').first.get_attribute("value")
    response = await page.request.post(
        f"{console}/escalations/{escalation_id}/acknowledge", form={"csrf_token": token}, max_redirects=0
    )
    assert response.status == 303 and escalation_state(clinic, escalation_id) == "acknowledged"


def _all_patients(clinic: Clinic) -> list:
    from sqlalchemy import select

    from bot.store.models import Patient

    with clinic.uow() as uow:
        return list(uow.session.execute(select(Patient)).scalars())


# e. Phone and desktop: screenshots, no sideways scrolling, labels ---------------------------------------------
async def test_the_queue_and_a_timeline_fit_a_phone_and_every_input_has_a_label(
    browser: Any, clinic: Clinic, console: str
) -> None:
    from playwright.async_api import expect

    seed_a_busy_day(clinic)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = await new_page(browser, PHONE)

    await page.goto(f"{console}/login")
    assert await page.evaluate(UNLABELLED_INPUTS) == []
    assert await page.evaluate(SIDEWAYS_OVERFLOW) <= 0, "the login page scrolls sideways at 375 px"
    await login(page, console, "lee")

    pages = {"queue": "/queue", "timeline": f"/patients/{clinic.patient_id}"}
    for size_name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        await page.set_viewport_size(viewport)
        for name, path in pages.items():
            await page.goto(f"{console}{path}")
            await expect(page.locator("main#main")).to_be_visible()
            if name == "queue":
                await expect(page.locator("tr[data-escalation-id]")).to_have_count(2)
            else:
                await expect(page.get_by_role("heading", level=1)).to_have_text(f"Patient #{clinic.patient_id}")
                for section in ("Treatments", "Reports", "Photos", "Check-ins", "Screening", "Appointments"):
                    await expect(page.get_by_role("heading", level=2, name=section)).to_be_visible()
            shot = SCREENSHOTS / f"{name}-{size_name}.png"
            await page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 1000
            if size_name == "phone":
                overflow = await page.evaluate(SIDEWAYS_OVERFLOW)
                assert overflow <= 0, f"{path} scrolls sideways by {overflow} px at 375 px"
            assert await page.evaluate(UNLABELLED_INPUTS) == [], path

    # The forms, found by their labels as a screen reader would announce them.
    await page.set_viewport_size(PHONE)
    await page.goto(f"{console}/queue")
    await expect(page.get_by_label("Note")).to_have_count(2)
    labels = {
        "/patients/new": ["Name", "Phone", "Treated at", "Area", "Method", "Treating practitioner"],
        "/appointments/new": ["Patient ID", "Appointment at", "Area", "Method", "Practitioner"],
    }
    for path, names in labels.items():
        await page.goto(f"{console}{path}")
        for label in names:
            await expect(page.get_by_label(label, exact=True)).to_have_count(1)
        assert await page.evaluate(UNLABELLED_INPUTS) == [], path
        overflow = await page.evaluate(SIDEWAYS_OVERFLOW)
        assert overflow <= 0, f"{path} scrolls sideways by {overflow} px at 375 px"
    assert re.search(r"<html[^>]* lang=\"en\"", await page.content())
