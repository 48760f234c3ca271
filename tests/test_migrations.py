"""The migrations build exactly the schema the models describe (a hand-written revision that
forgets a column, an index or a default fails here)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from chatbot.db.engine import create_engine
from chatbot.db.migrate import is_current, upgrade
from chatbot.db.models import Base


def _differences(connection: Any) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": False}
    )
    return [
        diff
        for diff in compare_metadata(context, Base.metadata)
        if not (
            isinstance(diff, tuple)
            and diff[0] == "remove_table"
            and diff[1].name == "alembic_version"
        )
    ]


async def test_migrated_schema_matches_the_models(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []


async def test_readiness_knows_whether_the_schema_is_current(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'ready.db'}")
    try:
        assert await is_current(engine) is False  # nothing migrated yet
        await upgrade(engine, "0002")
        assert await is_current(engine) is False  # an older schema: not ready
        await upgrade(engine)
        assert await is_current(engine) is True
    finally:
        await engine.dispose()


async def test_the_upgrade_tells_operators_each_step_without_internal_notes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'log.db'}")
    caplog.set_level(logging.INFO, logger="alembic")
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    steps = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Running")]
    assert steps and steps[0].startswith("Running upgrade  -> 0001, initial schema")
    assert [s for s in steps if re.search(r"\bissue \d+", s, re.IGNORECASE)] == []
