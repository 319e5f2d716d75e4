"""Sending SMS: through Twilio's Messages API, or only logged in development.

Twilio: ``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP basic auth (account SID,
auth token) and a form body (To, From or MessagingServiceSid, Body, StatusCallback); 201 answers with the
message's ``sid``. Its later delivery reports are POSTed to the StatusCallback address, signed in
``X-Twilio-Signature``: base64(HMAC-SHA1(auth token, URL + each form parameter's name and value, sorted by
name)).
"""

from __future__ import annotations

import abc
import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping

import aiohttp

log = logging.getLogger(__name__)

# Twilio's final statuses and ours.
DELIVERED_STATUSES = frozenset({"delivered"})
FAILED_STATUSES = frozenset({"failed", "undelivered"})


class SmsRejected(Exception):
    """The provider refused the message (e.g. an invalid number, or the provider's own failure)."""


class AbstractSmsSender(abc.ABC):
    transport: str

    @abc.abstractmethod
    async def send(self, to: str, body: str, status_callback: str) -> str:
        """Hand the SMS over (delivery reports to ``status_callback``); returns the provider's id for it;
        raises when it was not taken."""


class LogSmsSender(AbstractSmsSender):
    """Development without a provider: the SMS is logged, not sent."""

    transport = "log"

    async def send(self, to: str, body: str, status_callback: str) -> str:
        log.info("sms not sent (no ATRIUM_SMS_PROVIDER): to=%s\n%s", to, body)
        return ""


class TwilioSmsSender(AbstractSmsSender):
    transport = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sender: str,
        api_base: str = "https://api.twilio.com",
        timeout: float = 15.0,
    ) -> None:
        self._sid, self._token, self._sender = account_sid, auth_token, sender
        self._url = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._authorization = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()

    async def send(self, to: str, body: str, status_callback: str) -> str:
        form = {"To": to, "Body": body}
        # A Messaging Service SID (MG...) picks the number itself; otherwise From is the number.
        form["MessagingServiceSid" if self._sender.startswith("MG") else "From"] = self._sender
        if status_callback:
            form["StatusCallback"] = status_callback
        async with (
            aiohttp.ClientSession(timeout=self._timeout) as session,
            session.post(self._url, data=form, headers={"Authorization": self._authorization}) as response,
        ):
            answer = await response.json(content_type=None)
            if response.status != 201:
                detail = answer.get("message", "") if isinstance(answer, dict) else ""
                code = answer.get("code", "") if isinstance(answer, dict) else ""
                raise SmsRejected(f"Twilio answered {response.status} {code}: {detail}".strip())
            return str(answer["sid"])


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    signed = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def valid_twilio_signature(auth_token: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    return bool(auth_token) and hmac.compare_digest(twilio_signature(auth_token, url, params), signature)
