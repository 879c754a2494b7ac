from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings, database_alias


class IntakeSettings(ServiceSettings):
    service_name: str = "intake"
    database_url: str | None = Field(None, validation_alias=database_alias("intake"))
    # `kid:base64key,…`; generated under DATA_DIR when absent (embedded mode).
    pii_keys: str | None = Field(None, validation_alias="PII_KEYS")
    # base64 of 32 bytes: the secret of complainant fingerprints, which rotation of PII_KEYS
    # never changes. Unset, the ring's last key is pinned under DATA_DIR on the first start.
    pii_fingerprint_key: str | None = Field(None, validation_alias="PII_FINGERPRINT_KEY")
    idempotency_ttl_s: float = Field(48 * 3600.0, ge=24 * 3600.0,
                                     validation_alias="IDEMPOTENCY_TTL_S")
    # Retention: an archived complaint's personal data is purged this long after its
    # case was archived (0: at the next check); the check runs every PII_RETENTION_CHECK_S.
    pii_retention_days: float = Field(3 * 365.0, ge=0, validation_alias="PII_RETENTION_DAYS")
    pii_retention_check_s: float = Field(3600.0, gt=0, le=86400,
                                         validation_alias="PII_RETENTION_CHECK_S")
