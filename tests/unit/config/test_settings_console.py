"""The web console's settings (CONSOLE_*): defaults that keep it on this machine, and clear errors."""

import pytest

from bot.settings import ConfigError, Settings


def test_defaults_keep_the_console_on_loopback_for_twelve_hours() -> None:
    settings = Settings.from_env(env={})
    assert (settings.console_enabled, settings.console_host, settings.console_port) == (True, "127.0.0.1", 8765)
    assert (settings.console_secure_cookies, settings.console_session_hours) == (False, 12)


def test_values_are_read() -> None:
    settings = Settings.from_env(
        env={
            "CONSOLE_ENABLED": "no",
            "CONSOLE_HOST": " 0.0.0.0 ",
            "CONSOLE_PORT": "9000",
            "CONSOLE_SECURE_COOKIES": "TRUE",
            "CONSOLE_SESSION_HOURS": "8",
        }
    )
    assert (settings.console_enabled, settings.console_host, settings.console_port) == (False, "0.0.0.0", 9000)
    assert (settings.console_secure_cookies, settings.console_session_hours) == (True, 8)


@pytest.mark.parametrize(
    "name, value, says",
    [
        ("CONSOLE_SECURE_COOKIES", "maybe", "CONSOLE_SECURE_COOKIES='maybe': use true or false."),
        ("CONSOLE_ENABLED", "2", "CONSOLE_ENABLED='2': use true or false."),
        ("CONSOLE_PORT", "http", "CONSOLE_PORT='http' is not a whole number"),
        ("CONSOLE_SESSION_HOURS", "0", "CONSOLE_SESSION_HOURS=0 must be at least 1."),
    ],
)
def test_bad_values_say_what_to_write(name, value, says) -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env={name: value})
    assert says in str(error.value)
