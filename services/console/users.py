"""Console users, roles and sessions (the gateway's tables).

Passwords are hashed with argon2id (argon2-cffi). A session is a random secret in an
HttpOnly cookie; the table holds only its SHA-256, the CSRF token that goes with it and when
it was last used, so a logout or an idle timeout ends it on every gateway replica."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from services.models import ConsoleSession, ConsoleUser, SavedView
from shared.caller import Caller
from shared.db import Database
from shared.paging import page_of

Role = Literal["duty_officer", "leader", "opinion_officer", "admin"]
ROLES: tuple[Role, ...] = ("duty_officer", "leader", "opinion_officer", "admin")
_DUTY = frozenset({"complaints:write", "complaints:read", "cases:read", "cases:write"})
# Roles map to the API's scopes (the plans' 值班室/客服部, 应急领导小组, 舆情监测小组).
ROLE_SCOPES: dict[Role, frozenset[str]] = {
    "duty_officer": _DUTY,
    "leader": _DUTY | {"statements:approve"},
    "opinion_officer": frozenset({"cases:read", "mentions:write", "statements:draft"}),
    "admin": frozenset({"admin"}),
}
# Refreshing last_seen on every request would be a write per page view; once a minute is
# precise enough for an idle timeout counted in minutes.
_TOUCH_EVERY = timedelta(seconds=60)
_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    role: Role
    pii: bool
    disabled: bool = False

    @property
    def scopes(self) -> frozenset[str]:
        return ROLE_SCOPES[self.role] | ({"pii:read"} if self.pii else set())

    def caller(self) -> Caller:
        """The same caller an API key with these scopes would be; actions are recorded
        under the username."""
        return Caller(key_id=f"user:{self.username}", owner=self.username, scopes=self.scopes)


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _user(row: ConsoleUser) -> User:
    role: Role = row.role if row.role in ROLES else "duty_officer"
    return User(row.username, row.display_name, role, row.pii, row.disabled_at is not None)


class UserStore:
    def __init__(self, db: Database, idle_timeout: timedelta) -> None:
        self.db = db
        self.idle_timeout = idle_timeout

    async def ensure_admin(self, password: str) -> bool:
        """Create the user `admin` with this password unless it exists; True if made."""
        return await self.create("admin", "Administrator", password, "admin", True) is not None

    async def create(self, username: str, display_name: str, password: str, role: Role,
                     pii: bool) -> User | None:
        """The new user, or None when the name is taken (also by a replica at the same
        moment: gateway replicas starting together each try to make `admin`)."""
        row = _row(username, display_name, password, role, pii=pii)
        try:
            async with self.db.transaction() as session:
                if await session.get(ConsoleUser, username) is not None:
                    return None
                session.add(row)
        except IntegrityError:
            return None
        return _user(row)

    async def update(self, username: str, *, role: Role | None = None, pii: bool | None = None,
                     password: str | None = None, disabled: bool | None = None
                     ) -> User | None:
        async with self.db.transaction() as session:
            row = await session.get(ConsoleUser, username)
            if row is None:
                return None
            if role is not None:
                row.role = role
            if pii is not None:
                row.pii = pii
            if password is not None:
                row.password_hash = _hasher.hash(password)
            if disabled is not None:
                row.disabled_at = datetime.now(UTC) if disabled else None
            if disabled or password is not None:  # a changed password ends old sessions
                await session.execute(delete(ConsoleSession).where(
                    ConsoleSession.username == username))
        return _user(row)

    async def all_users(self) -> list[User]:
        async with self.db.session() as session:
            rows = (await session.scalars(
                select(ConsoleUser).order_by(ConsoleUser.username))).all()
        return [_user(r) for r in rows]

    async def page(self, limit: int, cursor: str | None, role: str | None = None,
                   disabled: bool | None = None) -> tuple[list[User], str | None]:
        """Users newest first (then username), one page, and the next page's cursor."""
        query = select(ConsoleUser)
        if role is not None:
            query = query.where(ConsoleUser.role == role)
        if disabled is not None:
            query = query.where(ConsoleUser.disabled_at.is_not(None) if disabled
                                else ConsoleUser.disabled_at.is_(None))
        async with self.db.session() as session:
            rows, next_cursor = await page_of(session, query, ConsoleUser.created_at,
                                              ConsoleUser.username, limit, cursor)
        return [_user(r) for r in rows], next_cursor

    async def verify(self, username: str, password: str) -> User | None:
        """The user when the password is right and the account enabled. Unknown names cost
        a hash too, so timing does not tell which names exist."""
        async with self.db.session() as session:
            row = await session.get(ConsoleUser, username)
        stored = row.password_hash if row is not None else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row.disabled_at is not None:
            return None
        return _user(row)

    async def open_session(self, user: User) -> tuple[str, str]:
        """(cookie secret, CSRF token) of a new session."""
        secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            session.add(ConsoleSession(id_hash=_digest(secret), username=user.username,
                                       csrf_token=csrf, created_at=now, last_seen=now))
        return secret, csrf

    async def session(self, secret: str) -> Session | None:
        """The live session behind a cookie; an idle or disabled one is ended."""
        if not secret or len(secret) > 100:
            return None
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            row = await session.get(ConsoleSession, _digest(secret))
            if row is None:
                return None
            user = await session.get(ConsoleUser, row.username)
            if user is None or user.disabled_at is not None \
                    or now - row.last_seen > self.idle_timeout:
                await session.delete(row)
                return None
            if now - row.last_seen > _TOUCH_EVERY:
                row.last_seen = now
            return Session(_user(user), row.csrf_token)

    async def close_session(self, secret: str) -> None:
        async with self.db.transaction() as session:
            await session.execute(delete(ConsoleSession).where(
                ConsoleSession.id_hash == _digest(secret)))

    async def views(self, username: str) -> list[SavedView]:
        async with self.db.session() as session:
            return list((await session.scalars(select(SavedView).where(
                SavedView.username == username).order_by(SavedView.name))).all())

    async def save_view(self, username: str, name: str, query: str) -> None:
        async with self.db.transaction() as session:
            session.add(SavedView(id=secrets.token_hex(8), username=username, name=name,
                                  query=query, created_at=datetime.now(UTC)))

    async def delete_view(self, username: str, view_id: str) -> None:
        async with self.db.transaction() as session:
            await session.execute(delete(SavedView).where(
                SavedView.id == view_id, SavedView.username == username))


def _row(username: str, display_name: str, password: str, role: Role, *, pii: bool
         ) -> ConsoleUser:
    return ConsoleUser(username=username, display_name=display_name,
                       password_hash=_hasher.hash(password), role=role, pii=pii,
                       created_at=datetime.now(UTC), disabled_at=None)


_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
