"""The check-in plan (pure), its settings, and the message texts. No database."""

from __future__ import annotations

import datetime as dt

import pytest
from checkins_helpers import HOURS, MAINTENANCE_DAYS, T0

from bot.checkins import texts
from bot.checkins.schedule import MAINTENANCE, PlannedCheckin, checkin_kind, plan_checkins, plan_from_settings
from bot.settings import ConfigError, Settings


def test_default_plan_for_face():
    plan = plan_checkins(T0, "face", HOURS, MAINTENANCE_DAYS)
    assert [p.kind for p in plan] == ["24h", "72h", "1w", "4w", "12w", MAINTENANCE]
    assert [p.due_at - T0 for p in plan] == [
        dt.timedelta(hours=24),
        dt.timedelta(hours=72),
        dt.timedelta(weeks=1),
        dt.timedelta(weeks=4),
        dt.timedelta(weeks=12),
        dt.timedelta(days=180),
    ]


def test_scalp_gets_its_own_maintenance_interval():
    plan = plan_checkins(T0, "scalp", HOURS, MAINTENANCE_DAYS)
    assert plan[-1] == PlannedCheckin(MAINTENANCE, T0 + dt.timedelta(days=90))


def test_plan_is_sorted_even_when_maintenance_comes_early_and_hours_are_unordered():
    plan = plan_checkins(T0, "scalp", (168, 24, 2400), {"scalp": 30})
    assert [p.kind for p in plan] == ["24h", "1w", MAINTENANCE, "100d"]


@pytest.mark.parametrize("maintenance", [None, {}, {"face": 0}, {"scalp": 90}])
def test_no_maintenance_reminder_when_none_is_configured_for_the_area(maintenance):
    assert [p.kind for p in plan_checkins(T0, "face", (24,), maintenance)] == ["24h"]


def test_no_hours_no_checkins():
    assert plan_checkins(T0, "face", ()) == []


def test_naive_treatment_time_is_refused():
    with pytest.raises(ValueError):
        plan_checkins(T0.replace(tzinfo=None), "face", HOURS)


@pytest.mark.parametrize(
    "hours, kind",
    [(24, "24h"), (72, "72h"), (168, "1w"), (672, "4w"), (2016, "12w"), (36, "36h"), (240, "10d"), (250, "250h")],
)
def test_checkin_kind_labels(hours, kind):
    assert checkin_kind(hours) == kind


# Settings ------------------------------------------------------------------------------------------------------
def test_settings_defaults():
    settings = Settings.from_env({})
    assert settings.checkin_schedule_hours == (24, 72, 168, 672, 2016)
    assert settings.maintenance_reminder_days == {"face": 180, "scalp": 90}
    assert plan_from_settings(T0, "face", settings) == plan_checkins(T0, "face", HOURS, MAINTENANCE_DAYS)


def test_settings_custom_schedule():
    settings = Settings.from_env(
        {
            "CHECKIN_SCHEDULE_HOURS": " 48, 12 ,336",
            "MAINTENANCE_REMINDER_DAYS": "365",
            "MAINTENANCE_REMINDER_DAYS_SCALP": "0",
        }
    )
    assert settings.checkin_schedule_hours == (12, 48, 336)
    assert settings.maintenance_reminder_days == {"face": 365, "scalp": 0}
    assert [p.kind for p in plan_from_settings(T0, "scalp", settings)] == ["12h", "48h", "2w"]


@pytest.mark.parametrize("value", ["off", "none", "OFF"])
def test_checkins_can_be_switched_off(value):
    assert Settings.from_env({"CHECKIN_SCHEDULE_HOURS": value}).checkin_schedule_hours == ()


@pytest.mark.parametrize(
    "value, says",
    [
        ("24,3d", "'3d' is not a whole number"),
        ("24,,72", "'' is not a whole number"),
        ("0,24", "between 1 and 8760"),
        ("24,-5", "between 1 and 8760"),
        ("24,87600", "between 1 and 8760"),
        ("24,72,24", "24 is listed twice"),
    ],
)
def test_bad_schedule_is_a_clear_config_error(value, says):
    with pytest.raises(ConfigError) as error:
        Settings.from_env({"CHECKIN_SCHEDULE_HOURS": value})
    assert "CHECKIN_SCHEDULE_HOURS" in str(error.value) and says in str(error.value)


def test_bad_maintenance_days_is_a_clear_config_error():
    with pytest.raises(ConfigError, match="MAINTENANCE_REMINDER_DAYS_SCALP"):
        Settings.from_env({"MAINTENANCE_REMINDER_DAYS_SCALP": "three months"})
    with pytest.raises(ConfigError, match="MAINTENANCE_REMINDER_DAYS=-1"):
        Settings.from_env({"MAINTENANCE_REMINDER_DAYS": "-1"})


# Texts ----------------------------------------------------------------------------------------------------------
def test_checkin_message_asks_about_the_treated_area_with_quick_answers():
    text, buttons = texts.render("72h", "scalp", dt.timedelta(hours=72), "Glow", "+44 1")
    assert "How is your scalp doing?" in text and "3 days" in text and "/stop" in text
    assert buttons == [
        ("All good", "rasa:/all_good"),
        ("Some redness", "rasa:some redness still"),
        ("Something worries me", "rasa:/report_symptom"),
    ]
    assert all(len(data.encode()) <= 64 for _, data in buttons)  # Telegram's callback data limit
    face_text, _ = texts.render("24h", "face", dt.timedelta(hours=25), "Glow", "+44 1")
    assert "How is your skin doing?" in face_text and "a day" in face_text


def test_maintenance_message_suggests_booking_with_the_clinic():
    text, buttons = texts.render(MAINTENANCE, "face", dt.timedelta(days=181), "Glow Aesthetics", "+44 20 7946")
    assert "maintenance session" in text and "Glow Aesthetics" in text and "+44 20 7946" in text
    assert "6 months" in text and buttons is None


@pytest.mark.parametrize(
    "elapsed, phrase",
    [
        (dt.timedelta(hours=24), "a day"),
        (dt.timedelta(hours=72), "3 days"),
        (dt.timedelta(days=7), "a week"),
        (dt.timedelta(weeks=4), "4 weeks"),
        (dt.timedelta(weeks=12), "12 weeks"),
        (dt.timedelta(days=90), "13 weeks"),
        (dt.timedelta(days=180), "6 months"),
    ],
)
def test_time_since(elapsed, phrase):
    assert texts.time_since(elapsed) == phrase
