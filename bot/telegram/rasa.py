"""A small client for Rasa's REST channel (POST {RASA_URL}/webhooks/rest/webhook).

Rasa answers a message with a list of bot utterances, each with some of: "text", "buttons"
([{"title", "payload"}]), "image" (a URL), "custom". Anything that goes wrong (Rasa not running, a 5xx, a
timeout, an answer that is not that list, or a list with nothing a patient could see) becomes `RasaUnavailable`,
so the caller has one thing to handle: fall back to the triage safety net.

An empty answer is a failure too: every turn of this assistant says something (a turn no rule covers gets
utter_default), so HTTP 200 with no messages means an action failed, typically because the action server is down
or crashed (Rasa logs the error and answers with whatever was said before it, usually nothing).
`RasaUnavailable.reached` tells the safety net whether Rasa got the message at all, and so may have recorded it
through an action before failing; `timed_out` that Rasa may even have been still working on it when we gave up.

Several Rasa workers (the production profile): each patient goes to one worker, picked by a stable hash of the
sender, so a busy clinic's conversations spread over the workers. When that worker refuses the connection the
next one is tried: the message never reached the first, so it cannot be processed twice. A timeout is not
retried elsewhere, since the first worker may still be processing it. The lock store (Redis) keeps a
conversation in order even when two workers do see it.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

import httpx

from bot.settings import worker_urls

log = logging.getLogger(__name__)

REST_WEBHOOK_PATH = "/webhooks/rest/webhook"


class RasaUnavailable(Exception):
    """Rasa could not give an answer (down, erroring, too slow, answered nonsense or nothing).

    reached:   Rasa received the message (HTTP error, empty or bad answer, timeout): an action may have run.
    timed_out: we stopped waiting; closing the connection makes Rasa's Sanic cancel its handling, but an action
               the action server had already started still finishes.
    """

    def __init__(self, message: str, *, reached: bool = False, timed_out: bool = False) -> None:
        super().__init__(message)
        self.reached = reached
        self.timed_out = timed_out


@dataclass(frozen=True)
class RasaReply:
    text: str = ""
    buttons: Tuple[Tuple[str, str], ...] = ()  # (title, payload)
    image: Optional[str] = None


def sender_id(patient_id: int) -> str:
    """Rasa's conversation id for a patient: stable across chats and restarts, and not the Telegram chat id."""
    return f"patient-{patient_id}"


class RasaClient:
    def __init__(
        self, base_urls: Union[str, Sequence[str]], timeout: float, client: Optional[httpx.AsyncClient] = None
    ) -> None:
        self.urls = tuple(url + REST_WEBHOOK_PATH for url in worker_urls(base_urls))
        self.timeout = timeout
        # One pooled client for the life of the bot; closed by aclose() at shutdown.
        self._client = client or httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        await self._client.aclose()

    def urls_for(self, sender: str) -> Tuple[str, ...]:
        """The workers to try for `sender`, its own first: stable across restarts (crc32, not hash())."""
        first = zlib.crc32(sender.encode("utf-8")) % len(self.urls)
        return self.urls[first:] + self.urls[:first]

    async def send(self, sender: str, message: str, metadata: Mapping[str, Any]) -> List[RasaReply]:
        body = {"sender": sender, "message": message, "metadata": dict(metadata)}
        candidates = self.urls_for(sender)
        for index, url in enumerate(candidates):
            try:
                response = await self._client.post(url, json=body, timeout=self.timeout)
                break
            except httpx.ConnectError as error:
                if index + 1 < len(candidates):
                    log.warning(
                        "Rasa worker %d of %d refused the connection; trying the next", index + 1, len(candidates)
                    )
                    continue
                raise RasaUnavailable(f"Rasa unreachable: {type(error).__name__}") from error
            except (httpx.ConnectTimeout, httpx.PoolTimeout) as error:  # the request was never sent
                raise RasaUnavailable(f"Rasa did not accept the connection within {self.timeout:g}s") from error
            except httpx.TimeoutException as error:
                raise RasaUnavailable(
                    f"Rasa did not answer within {self.timeout:g}s", reached=True, timed_out=True
                ) from error
            except httpx.HTTPError as error:
                # e.g. the connection dropped mid-request: Rasa may have received the message.
                raise RasaUnavailable(f"Rasa unreachable: {type(error).__name__}", reached=True) from error
        if response.status_code != 200:
            raise RasaUnavailable(f"Rasa answered HTTP {response.status_code}", reached=True)
        try:
            data = response.json()
        except ValueError as error:
            raise RasaUnavailable("Rasa answered something that is not JSON", reached=True) from error
        if not isinstance(data, list):
            raise RasaUnavailable("Rasa's answer is not a list of messages", reached=True)
        replies = [reply for reply in (_parse(item) for item in data) if reply is not None]
        if not replies:
            raise RasaUnavailable("Rasa answered with no message (an action failed?)", reached=True)
        return replies


def _parse(item: Any) -> Optional[RasaReply]:
    if not isinstance(item, dict):
        return None
    buttons = tuple(
        (str(b.get("title", "")), str(b.get("payload", "")))
        for b in item.get("buttons") or ()
        if isinstance(b, dict) and b.get("title") and b.get("payload")
    )
    reply = RasaReply(text=str(item.get("text") or ""), buttons=buttons, image=item.get("image") or None)
    if not (reply.text or reply.buttons or reply.image):
        # e.g. a "custom" payload meant for another channel: nothing a Telegram user could see.
        log.debug("ignoring a Rasa message with no text, buttons or image")
        return None
    return reply
