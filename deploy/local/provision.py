"""What `up` makes before any process starts, and `scale` finds again: the secrets every
replica must share (made once under `$DATA_DIR/run/` unless given) and the PostgreSQL
databases the URLs name."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from pathlib import Path

from deploy.local.settings import LocalSettings
from deploy.local.state import run_dir
from services.auth import dev_key
from services.settings import GatewaySettings
from shared.db import DatabaseConfigError, parse_database_url
from shared.privacy import PiiKeyError, new_key_ring_spec, parse_key_ring
from shared.settings import ConfigError


def _made_once(path: Path, make: str) -> str:
    """The file's content, written first (owner-only) with `make` when it does not exist."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make)
    return path.read_text().strip()


def pii_keys_file(data_dir: Path) -> Path:
    return run_dir(data_dir) / "pii.keys"


def pii_keys(settings: LocalSettings, data_dir: Path) -> str:
    """The configured ring, else one made once under run/: every intake replica and every
    later `up` must decrypt what earlier ones stored."""
    if settings.pii_keys:
        return settings.pii_keys
    path = pii_keys_file(data_dir)
    spec = _made_once(path, new_key_ring_spec())
    try:
        parse_key_ring(spec)
    except PiiKeyError as exc:
        raise ConfigError("PII_KEYS", f"{path}: {exc}") from exc
    return spec


def internal_secret(settings: LocalSettings, data_dir: Path) -> str:
    """BEACON_INTERNAL_SECRET, else one made once under run/: the gateway signs callers with
    it and every service replica, later ones too, checks them with it."""
    if settings.internal_secret:
        return settings.internal_secret
    return _made_once(run_dir(data_dir) / "internal.secret", secrets.token_urlsafe(32))


def drill_api_key(settings: LocalSettings, data_dir: Path) -> str:
    """DRILL_API_KEY, else one made once under run/: the gateway admits the drill runner
    with it, and every drill replica posts with it."""
    if settings.drill_api_key:
        return settings.drill_api_key
    return _made_once(run_dir(data_dir) / "drill.key", "bk_" + secrets.token_urlsafe(32))


def api_key_location(gateway: GatewaySettings, data_dir: Path) -> str:
    """Where the admin key is kept (made now if it is not): the file the gateway reads."""
    dev_key(gateway.dev_api_key, data_dir)
    return "DEV_API_KEY" if gateway.dev_api_key else str(data_dir / "dev_api_key")


# --- PostgreSQL --------------------------------------------------------------------------

def _postgres_urls(settings: LocalSettings) -> list[tuple[str, str]]:
    """(variable, url) of every configured database URL that names PostgreSQL."""
    found = []
    for variable, url in settings.database_urls().items():
        if not url:
            continue
        try:
            backend = parse_database_url(url).get_backend_name()
        except DatabaseConfigError as exc:
            raise ConfigError(variable, str(exc)) from exc
        if backend == "postgresql":
            found.append((variable, url))
    return found


async def _create_database(variable: str, url: str) -> None:
    import asyncpg  # only PostgreSQL deployments pay for the import

    parsed = parse_database_url(url)
    name = parsed.database or "postgres"
    try:
        admin = await asyncpg.connect(
            host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
            user=parsed.username, password=parsed.password, database="postgres", timeout=10,
        )
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise ConfigError(variable, f"cannot reach PostgreSQL at {parsed.host}:{parsed.port}: "
                                    f"{type(exc).__name__}: {exc}") from exc
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            # Two `up`s racing both see it missing; the loser's duplicate error is harmless.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await admin.execute(f'CREATE DATABASE "{name.replace(chr(34), chr(34) * 2)}"')
    finally:
        await admin.close()


def ensure_databases(settings: LocalSettings) -> None:
    for variable, url in _postgres_urls(settings):
        asyncio.run(_create_database(variable, url))
