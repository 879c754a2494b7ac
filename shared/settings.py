"""Settings every service shares, read from the environment (pydantic-settings)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, cast

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)


class ConfigError(Exception):
    """A setting that stops the start; printed as one line naming the setting."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting, self.problem = setting, problem


class BusSettings(BaseSettings):
    """Which bus, and how to talk to Kafka when it is Kafka."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    kind: Literal["memory", "kafka"] = Field("memory", validation_alias="BUS")
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS", min_length=1
    )
    kafka_partitions: int = Field(6, ge=1, le=1000, validation_alias="KAFKA_PARTITIONS")
    kafka_replication_factor: int = Field(1, ge=1, validation_alias="KAFKA_REPLICATION_FACTOR")
    kafka_acks: Literal["0", "1", "all"] = Field("all", validation_alias="KAFKA_ACKS")
    kafka_linger_ms: int = Field(2, ge=0, validation_alias="KAFKA_LINGER_MS")
    kafka_compression: Literal["none", "gzip", "snappy", "lz4", "zstd"] = Field(
        "none", validation_alias="KAFKA_COMPRESSION"
    )
    # Tansu rejects the idempotent producer; Apache Kafka deployments should turn it on.
    kafka_enable_idempotence: bool = Field(False, validation_alias="KAFKA_ENABLE_IDEMPOTENCE")
    # Tansu holds a group join for half the session timeout, and answers a fetch only when
    # its wait runs out (it does not wake long polls), so the wait bounds its latency. A
    # consumer that fetched records in the last KAFKA_FETCH_IDLE_AFTER_MS waits
    # KAFKA_FETCH_MAX_WAIT_MS for more; one that did not waits KAFKA_FETCH_IDLE_WAIT_MS, so
    # an idle deployment asks a few times a second, not twenty (the first record after a
    # quiet spell waits up to the idle wait, once per hop). Where the wait happens is
    # KAFKA_FETCH_PACING: `client` (Tansu, which burns CPU while it holds a fetch: while
    # nothing comes, fetches that do not wait, spaced by the wait) or `broker` (Apache Kafka,
    # which answers a waiting fetch as soon as a record arrives: the wait goes in the request).
    # `client` by default (the broker of `make up` and the tests is Tansu; compose and
    # Kubernetes set `broker`): it saves idle CPU on Tansu, and since a client-paced fetch
    # that comes back empty with records past the position (Tansu at the end of a long log)
    # is followed by a broker-held one, it passes the 10-minute soak (docs/benchmarks.md,
    # "Soak").
    kafka_fetch_pacing: Literal["client", "broker"] = Field(
        "client", validation_alias="KAFKA_FETCH_PACING"
    )
    kafka_session_timeout_ms: int = Field(
        10000, ge=1000, validation_alias="KAFKA_SESSION_TIMEOUT_MS"
    )
    kafka_heartbeat_interval_ms: int = Field(
        3000, ge=100, validation_alias="KAFKA_HEARTBEAT_INTERVAL_MS"
    )
    kafka_fetch_max_wait_ms: int = Field(50, ge=0, validation_alias="KAFKA_FETCH_MAX_WAIT_MS")
    kafka_fetch_idle_wait_ms: int = Field(500, ge=0, validation_alias="KAFKA_FETCH_IDLE_WAIT_MS")
    kafka_fetch_idle_after_ms: int = Field(
        5000, ge=0, validation_alias="KAFKA_FETCH_IDLE_AFTER_MS"
    )
    kafka_connect_timeout_s: float = Field(10.0, gt=0, validation_alias="KAFKA_CONNECT_TIMEOUT_S")
    # How stale a client's view of topics may get: a topic re-created after a broker lost it
    # is seen (and its partitions assigned) within this.
    kafka_metadata_max_age_ms: int = Field(
        5000, ge=100, validation_alias="KAFKA_METADATA_MAX_AGE_MS"
    )
    # Before each outbox batch, one probe record proves the broker still holds its log (a
    # broker that restarted empty numbers offsets from 0 again), so events it acknowledged
    # and lost are sent again before newer ones. Off for a Kafka cluster with durable logs.
    kafka_log_check: bool = Field(True, validation_alias="KAFKA_LOG_CHECK")
    max_attempts: int = Field(5, ge=1, le=100, validation_alias="BUS_MAX_ATTEMPTS")
    retry_backoff_ms: int = Field(50, ge=0, validation_alias="BUS_RETRY_BACKOFF_MS")
    retry_backoff_max_ms: int = Field(2000, ge=0, validation_alias="BUS_RETRY_BACKOFF_MAX_MS")


class ServiceSettings(BaseSettings):
    """Base of each service's settings; a service adds its own fields and its database alias."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service_name: str = "service"
    data_dir: Path = Field(Path("data"), validation_alias="DATA_DIR")
    database_url: str | None = Field(None, validation_alias="DATABASE_URL")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    # Dates that arrive without a zone are read in this one (shared.dates).
    input_timezone: str = Field("Asia/Shanghai", validation_alias="INPUT_TIMEZONE")
    outbox_batch_size: int = Field(500, ge=1, le=10000, validation_alias="OUTBOX_BATCH_SIZE")
    # While batches come back full (a backlog), the relay doubles its batch up to this.
    outbox_batch_max: int = Field(4000, ge=1, le=50000, validation_alias="OUTBOX_BATCH_MAX")
    # A commit that wrote outbox rows wakes its own process's relay at once and, on
    # PostgreSQL, every relay of the service (LISTEN/NOTIFY); this poll is the fallback for
    # rows nothing announced (another process's relay that died before sending them).
    outbox_idle_poll_s: float = Field(5.0, gt=0, validation_alias="OUTBOX_IDLE_POLL_S")
    # Off where LISTEN cannot work (a pooler in transaction mode between the service and
    # PostgreSQL): then only the wake in the writing process and the idle poll remain.
    outbox_listen: bool = Field(True, validation_alias="OUTBOX_LISTEN")
    outbox_retention_s: float = Field(86400.0, gt=0, validation_alias="OUTBOX_RETENTION_S")
    # How far back events are sent again when the log is lost: the in-memory bus's with its
    # process, or a broker's that restarted empty (Tansu's memory storage).
    outbox_replay_s: float = Field(3600.0, ge=0, validation_alias="OUTBOX_REPLAY_S")
    # Built from its own variables; NoDecode and the validator below keep the env source from
    # parsing the bus-kind variable `BUS` (which matches this field's name) as this block.
    bus: Annotated[BusSettings, NoDecode] = Field(default_factory=BusSettings)
    # The key the gateway signs callers with (shared.caller); made per process when embedded.
    internal_secret: str | None = Field(None, min_length=16,
                                        validation_alias="BEACON_INTERNAL_SECRET")

    @field_validator("internal_secret", mode="before")
    @classmethod
    def _empty_secret_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("bus", mode="before")
    @classmethod
    def _bus_kind_is_not_the_block(cls, value: object) -> object:
        return BusSettings() if isinstance(value, str) else value

    def caller_secret(self) -> str:
        """BEACON_INTERNAL_SECRET; only embedded mode (one process) may make its own."""
        if self.internal_secret:
            return self.internal_secret
        if self.bus.kind == "kafka":
            raise ConfigError("BEACON_INTERNAL_SECRET", "required when BUS=kafka (the gateway "
                                                        "and every service share it)")
        from shared.caller import process_secret
        return process_secret()

    def effective_database_url(self) -> str:
        """The configured URL, or a SQLite file of this service's own under the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / (self.service_name + '.db')}"


def database_alias(service: str) -> AliasChoices:
    """`<SERVICE>_DATABASE_URL` wins over the shared `DATABASE_URL`."""
    return AliasChoices(f"{service.upper()}_DATABASE_URL", "DATABASE_URL")


S = TypeVar("S", bound=BaseSettings)
# Errors whose input is a number, a flag or a choice given wrong, never a secret: the message
# may repeat it.
_ECHOED_ERRORS = ("int_parsing", "float_parsing", "int_from_float", "greater_than",
                  "greater_than_equal", "less_than", "less_than_equal", "literal_error",
                  "bool_parsing")


def settings_from_env(cls: type[S], env: Mapping[str, str]) -> S:
    """`cls` read from `env` instead of this process's environment: a supervisor reads the
    environment it starts its children with (deploy/local). An empty value counts as
    unset; a bad one raises ConfigError naming its variable."""
    given = {name: value for name, value in env.items() if value.strip()}
    try:
        settings: S = _given_only(cls)(**given)  # (functools.cache forgets the type)
        return settings
    except ValidationError as exc:
        error = exc.errors()[0]
        variable = ".".join(str(part) for part in error["loc"]) or cls.__name__
        problem = error["msg"]
        if error["type"] in _ECHOED_ERRORS:
            problem += f", got {error['input']!r}"
        raise ConfigError(variable, problem) from None


@functools.cache
def _given_only(cls: type[S]) -> type[S]:
    """`cls` reading its keyword arguments (by variable name) and nothing else."""
    def sources(_cls: type[BaseSettings], /, settings_cls: type[BaseSettings],
                init_settings: PydanticBaseSettingsSource,
                **_others: Any) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)

    namespace = {"settings_customise_sources": classmethod(sources),
                 "__module__": cls.__module__, "__doc__": cls.__doc__}
    return cast("type[S]", type(cls.__name__, (cls,), namespace))
