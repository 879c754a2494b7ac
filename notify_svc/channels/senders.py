"""One sender per channel over one shared HTTP client; SMTP through aiosmtplib."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx

from notify_svc.channels.base import ChannelError, Outgoing, PermanentFailure
from notify_svc.channels.guard import OutboundGuard, UnsafeUrl
from notify_svc.channels.http1 import Http1Client, HttpFailure, InvalidUrl, Reply
from notify_svc.channels.signing import dingtalk_sign, feishu_sign, webhook_signature
from notify_svc.settings import NotifySettings
from shared import tracing

# Robots' error codes that mean "too fast, try later"; any other non-zero code is final.
THROTTLED = {"dingtalk": {130101}, "wecom": {45009}, "feishu": {9499, 11232}}


def _check_status(response: Reply) -> None:
    """The status and its standard phrase; never the peer's body (deliveries' last_error is
    readable with cases:read, and a body could be anything the peer chose to say)."""
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = f"HTTP {status} {response.reason_phrase}".rstrip()
    if status in (408, 425, 429) or status >= 500:
        raise ChannelError(detail)
    raise PermanentFailure(detail)


def _robot_code(channel: str, response: Reply) -> None:
    """Robots answer 200 with an error code in the body."""
    _check_status(response)
    try:
        body: dict[str, Any] = response.json()
    except ValueError as exc:
        raise ChannelError(f"{channel} answered a body that is not JSON") from exc
    code = body.get("errcode", body.get("code", body.get("StatusCode", 0)))
    if code in (0, None):
        return
    message = f"{channel} error {str(code)[:20]}"  # the code only, not the robot's words
    if code in THROTTLED[channel]:
        raise ChannelError(message)
    raise PermanentFailure(message)


class Senders:
    def __init__(self, settings: NotifySettings, guard: OutboundGuard | None = None) -> None:
        self.settings = settings
        self.guard = guard or OutboundGuard(settings.outbound_url_allowlist)
        # One small connection pool per endpoint (a slow endpoint waits on its own
        # connections only; the dispatcher never runs more than endpoint_concurrency sends
        # to one endpoint anyway), on a lean HTTP/1.1 client: httpx's pool and layers cost
        # more CPU per webhook than the rest of its delivery (see channels.http1).
        self._http = Http1Client(settings.endpoint_concurrency)
        self._by_channel: dict[str, Callable[[Outgoing], Awaitable[None]]] = {
            "webhook": self._webhook, "callback": self._webhook, "sms": self._sms,
            "email": self._email, "dingtalk": self._dingtalk, "wecom": self._wecom,
            "feishu": self._feishu,
        }

    async def close(self) -> None:
        await self._http.aclose()

    def timeout_for(self, channel: str) -> float:
        s = self.settings
        return {
            "webhook": s.timeout_webhook_s, "callback": s.timeout_callback_s,
            "sms": s.timeout_sms_s, "email": s.timeout_email_s,
        }.get(channel, s.timeout_robot_s)

    async def send(self, out: Outgoing) -> None:
        sender = self._by_channel.get(out.channel)
        if sender is None:
            raise PermanentFailure(f"no sender for channel {out.channel!r}")
        await sender(out)

    async def _post(self, url: str, body: bytes, channel: str,
                    headers: dict[str, str] | None = None) -> Reply:
        # The SMS gateway is the operator's own setting; every other URL came through the API
        # or the roster and is checked, resolved and pinned to the address that passed.
        sending = {"content-type": "application/json; charset=utf-8", **(headers or {})}
        sni: str | None = None
        target_url = url
        if channel != "sms":
            try:
                outbound = await self.guard.address_for(url)
            except UnsafeUrl as exc:
                raise PermanentFailure(f"refused: {exc}") from exc
            target_url, sending["host"], sni = outbound.url, outbound.host, outbound.sni
        try:
            # Timeouts per request (per channel); no redirects: a webhook that moved is a
            # configuration to fix, not a place to follow a signed body to.
            return await self._http.post(
                target_url, body, sending, seconds=self.timeout_for(channel),
                pool=url.split("?", 1)[0], server_hostname=sni)
        except InvalidUrl as exc:
            raise PermanentFailure(f"invalid URL: {exc}") from exc
        except HttpFailure as exc:
            raise ChannelError(f"{type(exc).__name__}: {str(exc)[:200]}") from exc

    async def _webhook(self, out: Outgoing) -> None:
        if out.channel == "callback":
            payload: dict[str, Any] = {"delivery_id": out.delivery_id, **out.data}
        else:
            payload = {
                "id": out.delivery_id, "type": out.event_type, "subject": out.message.subject,
                "text": out.message.text, "data": out.data, "ack_url": out.ack_url,
            }
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"x-beacon-delivery": out.delivery_id, "x-beacon-event": out.event_type,
                   **tracing.headers()}
        secret = out.secret or (self.settings.webhook_secret if out.channel == "webhook" else None)
        if secret:
            timestamp = str(int(time.time()))
            headers["x-beacon-timestamp"] = timestamp
            headers["x-beacon-signature"] = webhook_signature(secret, timestamp, body)
        _check_status(await self._post(out.address, body, out.channel, headers))

    async def _sms(self, out: Outgoing) -> None:
        if not self.settings.sms_url:
            raise PermanentFailure("NOTIFY_SMS_URL is not set")
        body = json.dumps({"id": out.delivery_id, "to": out.address, "text": out.message.sms,
                           "sign": self.settings.sms_sign}, ensure_ascii=False).encode()
        headers = ({"authorization": f"Bearer {self.settings.sms_token}"}
                   if self.settings.sms_token else {})
        _check_status(await self._post(self.settings.sms_url, body, "sms", headers))

    async def _dingtalk(self, out: Outgoing) -> None:
        url = httpx.URL(out.address)
        if out.secret:
            timestamp = str(int(time.time() * 1000))
            url = url.copy_merge_params({"timestamp": timestamp,
                                         "sign": dingtalk_sign(out.secret, timestamp)})
        body = {"msgtype": "markdown",
                "markdown": {"title": out.message.subject, "text": out.message.markdown}}
        response = await self._post(str(url), json.dumps(body, ensure_ascii=False).encode(),
                                    "dingtalk")
        _robot_code("dingtalk", response)

    async def _wecom(self, out: Outgoing) -> None:
        # WeCom's markdown content is limited to 4096 bytes.
        content = out.message.markdown.encode()[:4096].decode(errors="ignore")
        body = {"msgtype": "markdown", "markdown": {"content": content}}
        response = await self._post(out.address, json.dumps(body, ensure_ascii=False).encode(),
                                    "wecom")
        _robot_code("wecom", response)

    async def _feishu(self, out: Outgoing) -> None:
        body: dict[str, Any] = {"msg_type": "text", "content": {"text": out.message.text}}
        if out.secret:
            timestamp = str(int(time.time()))
            body = {"timestamp": timestamp, "sign": feishu_sign(out.secret, timestamp), **body}
        response = await self._post(out.address, json.dumps(body, ensure_ascii=False).encode(),
                                    "feishu")
        _robot_code("feishu", response)

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(
            cafile=str(self.settings.smtp_ca_file) if self.settings.smtp_ca_file else None)
        if not self.settings.smtp_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def _email(self, out: Outgoing) -> None:
        s = self.settings
        message = EmailMessage()
        message["From"], message["To"] = s.smtp_sender, out.address
        message["Subject"] = out.message.subject
        message["X-Beacon-Delivery"] = out.delivery_id
        message.set_content(out.message.text)
        try:
            await aiosmtplib.send(
                message, hostname=s.smtp_host, port=s.smtp_port, username=s.smtp_username,
                password=s.smtp_password, use_tls=s.smtp_tls == "tls",
                start_tls=s.smtp_tls == "starttls",
                tls_context=self._tls_context() if s.smtp_tls != "none" else None,
                timeout=self.timeout_for("email"),
            )
        except aiosmtplib.SMTPResponseException as exc:
            # 5xx is final (unknown mailbox, refused); 4xx is "try again later".
            failure = PermanentFailure if exc.code >= 500 else ChannelError
            raise failure(f"SMTP {exc.code}") from exc  # the code, not the server's words
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"SMTP refused {out.address}: {exc}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"{type(exc).__name__}: {exc}") from exc
