"""The migrations build exactly the schema the models describe (a hand-written revision that
forgets a column, an index or a default fails here)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

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
