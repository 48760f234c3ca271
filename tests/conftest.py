"""Fixtures on real parts: SQLite + embedded store by default, PostgreSQL + Redis when
TEST_DATABASE_URL / TEST_REDIS_URL are set (CI sets both)."""

from __future__ import annotations

import os

os.environ.setdefault("PTB_TIMEDELTA", "true")  # PTB 22: retry_after as timedelta, no warning
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from chatbot.app import build_services
from chatbot.conversations.context import Services
from chatbot.db.engine import create_engine, create_sessionmaker
from chatbot.db.migrate import upgrade
from chatbot.db.models import Base
from chatbot.services.credentials import CredentialVault
from chatbot.services.documents import DocumentStore
from chatbot.services.tickets import TicketService
from chatbot.settings import Settings, load_settings
from chatbot.store import Store
from chatbot.store.redis_store import RedisStore
from chatbot.store.sql_store import SqlStore

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return TEST_DATABASE_URL or f"sqlite+aiosqlite:///{tmp_path / 'chatbot.db'}"


@pytest.fixture
def redis_prefix() -> str:
    return f"chatbot-test-{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_prefix: str) -> Settings:
    return load_settings(
        redis_prefix=redis_prefix,
        _env_file=None,
        database_url=database_url,
        redis_url=TEST_REDIS_URL,
        storage_dir=tmp_path / "files",
        public_url="https://bot.example.go.id",
        # Links live exactly CREDENTIAL_LINK_TTL, whatever the hour the tests run at; the
        # tests of CREDENTIAL_LINK_UNTIL set it themselves.
        credential_link_until="",
        telegram_bot_token=None,
        telegram_admin_chat_id=-100500,
        telegram_admin_user_ids="",
    )


_fresh_schema = False


async def _recreate_schema(engine: AsyncEngine) -> None:
    """Once per run: an empty schema, so the migrations build everything from nothing."""
    global _fresh_schema
    if _fresh_schema:
        return
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    _fresh_schema = True


async def _reset_postgres(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    if engine.dialect.name == "postgresql":
        await _recreate_schema(engine)
    await upgrade(engine)
    if engine.dialect.name == "postgresql":
        await _reset_postgres(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
async def store(
    sessions: async_sessionmaker[AsyncSession], redis_prefix: str
) -> AsyncIterator[Store]:
    if TEST_REDIS_URL:
        redis_store = RedisStore(TEST_REDIS_URL, prefix=redis_prefix)
        yield redis_store
        client = redis_store._redis
        keys = [key async for key in client.scan_iter(match=redis_prefix + "*")]
        if keys:
            await client.delete(*keys)
        await redis_store.close()
    else:
        yield SqlStore(sessions)


@pytest.fixture
def services(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], store: Store
) -> Services:
    """What the dialogs and the web app use, on the backends under test, composed as the
    bot composes them (chatbot.app)."""
    return build_services(settings, sessions, store)


@pytest.fixture
def files(services: Services) -> DocumentStore:
    return services.files


@pytest.fixture
def tickets(services: Services) -> TicketService:
    return services.tickets


@pytest.fixture
def vault(services: Services) -> CredentialVault:
    return services.vault
