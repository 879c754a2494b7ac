from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field

from notify_svc.roster import DEFAULT_ROSTER
from shared.settings import ServiceSettings, database_alias


class NotifySettings(ServiceSettings):
    service_name: str = "notify"
    database_url: str | None = Field(None, validation_alias=database_alias("notify"))
    roster_file: Path = Field(DEFAULT_ROSTER, validation_alias="NOTIFY_ROSTER_FILE")

    # Links in messages (case pages, acknowledgement) start with the gateway's public
    # address: BEACON_PUBLIC_URL (NOTIFY_PUBLIC_URL, its older name, still works), else the
    # gateway's own GATEWAY_HOST and GATEWAY_PORT.
    public_url: str | None = Field(
        None, min_length=1, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        validation_alias=AliasChoices("BEACON_PUBLIC_URL", "NOTIFY_PUBLIC_URL"))
    gateway_host: str = Field("127.0.0.1", validation_alias="GATEWAY_HOST")
    gateway_port: int = Field(8000, ge=1, le=65535, validation_alias="GATEWAY_PORT")
    timezone: str = Field("Asia/Shanghai", validation_alias="NOTIFY_TIMEZONE")
    # Acknowledgement tokens are HMAC(secret, delivery id); unset, a key is generated into
    # DATA_DIR/notify_ack.key (replicas sharing DATA_DIR share it).
    ack_secret: str | None = Field(None, validation_alias="NOTIFY_ACK_SECRET", min_length=16)
    # A token works this long after its delivery was made (then 410: acknowledge elsewhere).
    ack_token_ttl_s: float = Field(7 * 86400.0, gt=0, validation_alias="NOTIFY_ACK_TOKEN_TTL_S")

    # Delivery: attempts, backoff with jitter, circuit breaker, concurrency.
    max_attempts: int = Field(5, ge=1, le=50, validation_alias="NOTIFY_MAX_ATTEMPTS")
    backoff_s: float = Field(2.0, ge=0, validation_alias="NOTIFY_BACKOFF_S")
    backoff_max_s: float = Field(300.0, ge=0, validation_alias="NOTIFY_BACKOFF_MAX_S")
    backoff_jitter_s: float = Field(1.0, ge=0, validation_alias="NOTIFY_BACKOFF_JITTER_S")
    breaker_failures: int = Field(5, ge=1, validation_alias="NOTIFY_BREAKER_FAILURES")
    breaker_reset_s: float = Field(30.0, gt=0, validation_alias="NOTIFY_BREAKER_RESET_S")
    concurrency: int = Field(64, ge=1, le=10000, validation_alias="NOTIFY_CONCURRENCY")
    endpoint_concurrency: int = Field(8, ge=1, validation_alias="NOTIFY_ENDPOINT_CONCURRENCY")
    dispatch_poll_s: float = Field(1.0, gt=0, validation_alias="NOTIFY_DISPATCH_POLL_S")
    # How long the first outcome of a send waits for the others in flight, so that they
    # are recorded (and their notification.sent written) in one transaction; 0: at once.
    settle_linger_s: float = Field(0.02, ge=0, le=5, validation_alias="NOTIFY_SETTLE_LINGER_S")
    digest_interval_s: float = Field(3600.0, gt=0, validation_alias="NOTIFY_DIGEST_INTERVAL_S")
    # How often each replica looks for scheduled briefs that are due (roster.toml [brief]).
    brief_poll_s: float = Field(30.0, gt=0, validation_alias="NOTIFY_BRIEF_POLL_S")

    # Per-channel timeouts (seconds) for one attempt, connection included.
    timeout_webhook_s: float = Field(5.0, gt=0, validation_alias="NOTIFY_TIMEOUT_WEBHOOK_S")
    timeout_robot_s: float = Field(5.0, gt=0, validation_alias="NOTIFY_TIMEOUT_ROBOT_S")
    timeout_sms_s: float = Field(5.0, gt=0, validation_alias="NOTIFY_TIMEOUT_SMS_S")
    timeout_email_s: float = Field(15.0, gt=0, validation_alias="NOTIFY_TIMEOUT_EMAIL_S")
    timeout_callback_s: float = Field(5.0, gt=0, validation_alias="NOTIFY_TIMEOUT_CALLBACK_S")

    # Callback and webhook URLs to loopback, private, link-local, CGNAT, multicast or
    # metadata addresses are refused unless named here: `host[:port],…` (no port: any).
    outbound_url_allowlist: str | None = Field(None, validation_alias="OUTBOUND_URL_ALLOWLIST")

    # Webhook signing secret for members whose webhook has none of its own.
    webhook_secret: str | None = Field(None, validation_alias="NOTIFY_WEBHOOK_SECRET")

    # E-mail over SMTP.
    smtp_host: str = Field("127.0.0.1", validation_alias="NOTIFY_SMTP_HOST")
    smtp_port: int = Field(25, ge=1, le=65535, validation_alias="NOTIFY_SMTP_PORT")
    smtp_username: str | None = Field(None, validation_alias="NOTIFY_SMTP_USERNAME")
    smtp_password: str | None = Field(None, validation_alias="NOTIFY_SMTP_PASSWORD")
    smtp_sender: str = Field("beacon@localhost", validation_alias="NOTIFY_SMTP_SENDER")
    smtp_tls: Literal["none", "starttls", "tls"] = Field("none", validation_alias="NOTIFY_SMTP_TLS")
    smtp_ca_file: Path | None = Field(None, validation_alias="NOTIFY_SMTP_CA_FILE")
    smtp_verify: bool = Field(True, validation_alias="NOTIFY_SMTP_VERIFY")

    # SMS through an HTTP gateway: POST JSON {"to", "text", "sign"} with a bearer token.
    sms_url: str | None = Field(None, validation_alias="NOTIFY_SMS_URL")
    sms_token: str | None = Field(None, validation_alias="NOTIFY_SMS_TOKEN")
    sms_sign: str = Field("Beacon", validation_alias="NOTIFY_SMS_SIGN")

    def public_base(self) -> str:
        """Where links point, without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.gateway_host
        host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # a wildcard is no address
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.gateway_port}"
