"""Apply Alembic migrations from code (`chatbot db upgrade`, and at `chatbot run` start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision` (default: the newest)."""

    def _run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(_run)


async def is_current(engine: AsyncEngine) -> bool:
    """True when the database is at the newest migration."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())

    # Read alembic_version directly: a MigrationContext logs two INFO lines per call, and
    # /readyz is called every few seconds.
    async with engine.connect() as connection:
        if not await connection.run_sync(
            lambda sync: sa_inspect(sync).has_table("alembic_version")
        ):
            return False
        rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
        return {row[0] for row in rows} == heads
