"""PATIENT_CALLBACK_MINUTES and CLINIC_HOURS: defaults, values, and errors that say what to fix."""

from __future__ import annotations

import pytest

from bot.settings import ConfigError, Settings


def test_defaults() -> None:
    settings = Settings.from_env(env={})
    assert settings.patient_callback_minutes == 30
    assert settings.clinic_hours == "Mon–Fri 9:00–18:00"


def test_values_from_the_environment() -> None:
    settings = Settings.from_env(env={"PATIENT_CALLBACK_MINUTES": " 45 ", "CLINIC_HOURS": " Mon–Sat 8:00–20:00 "})
    assert settings.patient_callback_minutes == 45
    assert settings.clinic_hours == "Mon–Sat 8:00–20:00"


@pytest.mark.parametrize("env", [{"PATIENT_CALLBACK_MINUTES": ""}, {"CLINIC_HOURS": "   "}])
def test_empty_values_mean_the_default(env) -> None:
    settings = Settings.from_env(env=env)
    assert (settings.patient_callback_minutes, settings.clinic_hours) == (30, "Mon–Fri 9:00–18:00")


@pytest.mark.parametrize(
    "raw, says",
    [
        ("half an hour", r"PATIENT_CALLBACK_MINUTES='half an hour' is not a whole number of minutes"),
        ("30.5", r"PATIENT_CALLBACK_MINUTES='30.5' is not a whole number of minutes"),
        ("0", r"PATIENT_CALLBACK_MINUTES=0: use a positive whole number of minutes"),
        ("-10", r"PATIENT_CALLBACK_MINUTES=-10: use a positive whole number of minutes"),
        ("3000", r"PATIENT_CALLBACK_MINUTES=3000: use a positive whole number of minutes, at most 1440"),
    ],
)
def test_a_bad_callback_time_fails_with_what_to_fix(raw: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as error:
        Settings.from_env(env={"PATIENT_CALLBACK_MINUTES": raw})
    message = str(error.value)
    assert "e.g. PATIENT_CALLBACK_MINUTES=30" in message  # the fix
    assert "urgent reply" in message  # and why it matters
