"""The handlers' view of the application: `context.gateway` gives settings, ports and the Rasa client.

This follows PTB's "custom CallbackContext" example: a typed property instead of string keys scattered
through the handlers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict

from telegram.ext import Application, CallbackContext, ExtBot

from bot.settings import Settings
from bot.telegram.ports import GatewayDeps
from bot.telegram.rasa import RasaClient

GATEWAY_KEY = "gateway"


@dataclass
class Gateway:
    settings: Settings
    deps: GatewayDeps
    rasa: RasaClient


class ClinicContext(CallbackContext[ExtBot, Dict[Any, Any], Dict[Any, Any], Dict[Any, Any]]):
    """CallbackContext with a typed `gateway` property."""

    @property
    def gateway(self) -> Gateway:
        return self.application.bot_data[GATEWAY_KEY]


def attach_gateway(application: Application, gateway: Gateway) -> None:
    application.bot_data[GATEWAY_KEY] = gateway
