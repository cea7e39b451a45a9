"""Twilio's Messages API through the official `twilio` SDK: settings, the client, one send, and its errors.

WhatsApp addresses are E.164 numbers in SQL; Twilio wants them prefixed `whatsapp:` on both ends, which happens
here and nowhere else. No credential is ever logged or put in an error message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from functions_py import config
from functions_py.config import Settings
from functions_py.errors import ConfigError

# Twilio error codes that no retry can fix (https://www.twilio.com/docs/api/errors): invalid or unreachable
# numbers, opted-out recipients, unverified senders, bodies that are too long, WhatsApp's 24-hour window.
PERMANENT_CODES = frozenset({
    21211, 21212, 21214, 21217, 21219, 21401, 21407, 21408, 21421, 21602, 21603, 21604, 21606, 21608, 21610,
    21612, 21614, 21617, 21619, 21635, 21660, 21703, 30003, 30004, 30005, 30006, 30007, 63003, 63016, 63018,
})


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str | None
    auth_token: str | None = field(default=None, repr=False)
    api_base: str = "https://api.twilio.com"
    sms_from: str | None = None
    whatsapp_from: str | None = None
    webhook_url: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioSettings:
        twilio = settings.twilio
        return cls(account_sid=twilio.account_sid, auth_token=twilio.auth_token, api_base=twilio.api_base,
                   sms_from=twilio.sms_from, whatsapp_from=twilio.whatsapp_from, webhook_url=twilio.webhook_url)

    @classmethod
    def load(cls) -> TwilioSettings:
        """From the process's settings (`config.current()`: those the CLI installed once, not the environment and
        supabase/config.toml read again for every job and webhook request)."""
        return cls.from_settings(config.current())

    def require(self) -> None:
        if not self.account_sid or not self.auth_token:
            raise ConfigError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set to send SMS or WhatsApp "
                              "messages (Twilio console, Account info); then retry the job with `supakit jobs retry`.")


@dataclass(frozen=True)
class SendResult:
    sid: str
    status: str


class TwilioSendError(Exception):
    """Twilio refused or could not take the message: `permanent` says whether a retry could help."""

    def __init__(self, message: str, *, code: str | None, permanent: bool) -> None:
        super().__init__(message)
        self.message, self.code, self.permanent = message, code, permanent


def twilio_address(channel: str, address: str) -> str:
    return f"whatsapp:{address}" if channel == "whatsapp" else address


def plain_address(value: str) -> tuple[str, str]:
    """(channel, E.164 number) of an address as Twilio writes it (`whatsapp:+1555…` or `+1555…`)."""
    if value.startswith("whatsapp:"):
        return "whatsapp", value.removeprefix("whatsapp:")
    return "sms", value


_clients: dict[tuple[str, str, str], Any] = {}


def client(settings: TwilioSettings) -> Any:
    """The SDK client for these credentials (one per process and credentials: it keeps its connections)."""
    from twilio.rest import Client

    settings.require()
    key = (settings.account_sid or "", settings.auth_token or "", settings.api_base)
    if key not in _clients:
        made = Client(settings.account_sid, settings.auth_token)
        made.api.base_url = settings.api_base.rstrip("/")
        _clients[key] = made
    return _clients[key]


def send(settings: TwilioSettings, *, channel: str, to: str, sender: str | None, body: str,
         status_callback: str | None) -> SendResult:
    """Hand one message to Twilio (blocking; run it in a thread). TwilioSendError when it is refused."""
    from twilio.base.exceptions import TwilioException, TwilioRestException

    sender = sender or (settings.whatsapp_from if channel == "whatsapp" else settings.sms_from)
    if not sender:
        raise ConfigError(f"no {channel} sender number: add one for the organization to public.channel_senders, or "
                          f"set {'TWILIO_WHATSAPP_FROM' if channel == 'whatsapp' else 'TWILIO_SMS_FROM'}.")
    options: dict[str, Any] = {"to": twilio_address(channel, to), "from_": twilio_address(channel, sender),
                               "body": body}
    if status_callback:
        options["status_callback"] = status_callback
    try:
        message = client(settings).messages.create(**options)
    except TwilioRestException as error:
        code = str(error.code) if error.code is not None else None
        permanent = (error.code in PERMANENT_CODES) or (400 <= error.status < 500 and error.status not in (408, 429))
        raise TwilioSendError(f"Twilio answered {error.status}"
                              f"{f' (error {code})' if code else ''}: {error.msg}", code=code,
                              permanent=permanent) from None
    except TwilioException as error:  # transport: connection refused, timeouts
        raise TwilioSendError(f"Twilio could not be reached: {type(error).__name__}", code=None,
                              permanent=False) from None
    except OSError as error:
        raise TwilioSendError(f"Twilio could not be reached: {type(error).__name__}", code=None,
                              permanent=False) from None
    return SendResult(sid=message.sid, status=message.status or "queued")
