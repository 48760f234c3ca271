"""The deployment files: `.env.example` names and loads every setting; `deploy/backup.sh` and
`deploy/restore.sh` round-trip a real PostgreSQL database (throwaway databases of our own,
never the shared `test` one) and an SQLite one, with STORAGE_DIR, byte for byte."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from chatbot.db.engine import create_engine, create_sessionmaker
from chatbot.db.migrate import upgrade
from chatbot.db.models import Requester, Ticket
from chatbot.services.enums import RequestType, Role, TicketState
from chatbot.services.sealing import SEAL_FILE, stored_secret
from chatbot.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
ENV_EXAMPLE = ROOT / ".env.example"
BACKUP = ROOT / "deploy" / "backup.sh"
RESTORE = ROOT / "deploy" / "restore.sh"
SETTING_NAMES = frozenset(name.upper() for name in Settings.model_fields)

# What an operator must fill in before the example runs on Telegram in webhook mode.
FILL_IN = {
    "TELEGRAM_BOT_TOKEN": "123456789:AAEexampleexampleexampleexample0123",
    "TELEGRAM_ADMIN_CHAT_ID": "-1001234567890",
    "TELEGRAM_WEBHOOK_SECRET": "k3Yx_example-secret-0123456789abcdef",
}


def _assignments(path: Path) -> list[tuple[int, str, str]]:
    """(line index, NAME, value) of each `NAME=value` line."""
    found = []
    for index, line in enumerate(path.read_text().splitlines()):
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            found.append((index, name.strip(), value.strip()))
    return found


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting from the test run's own environment may leak into what is loaded."""
    for name in os.environ:
        if name.upper() in SETTING_NAMES:
            monkeypatch.delenv(name)


def test_env_example_names_every_setting_with_a_comment() -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    assignments = _assignments(ENV_EXAMPLE)
    names = [name for _, name, _ in assignments]
    assert sorted(SETTING_NAMES - set(names)) == []
    assert len(names) == len(set(names)), "a name is set twice"
    for index, name, _ in assignments:
        assert index > 0
        assert lines[index - 1].startswith("#"), f"{name} has no comment line above it"


@pytest.mark.usefixtures("clean_environment")
def test_env_example_loads_once_filled_in(tmp_path: Path) -> None:
    as_is = load_settings(_env_file=str(ENV_EXAMPLE))
    assert as_is.telegram_bot_token is None  # the blanks are blank: nothing real shipped

    filled = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#") and name in FILL_IN:
            assert value == "", f"{name} must ship empty"
            filled.append(f"{name}={FILL_IN[name]}")
        else:
            filled.append(line)
    env_file = tmp_path / ".env"
    env_file.write_text("\n".join(filled) + "\n")

    settings = load_settings(_env_file=str(env_file))
    assert settings.telegram_bot_token is not None
    assert settings.telegram_admin_chat_id == -1001234567890
    assert settings.telegram_webhook_secret is not None
    assert settings.log_format == "json"
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert settings.redis_url.startswith("redis://")
    assert settings.public_url.startswith("https://")


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_scripts_pass_shellcheck() -> None:
    scripts = [str(p) for p in sorted((ROOT / "deploy").glob("*.sh"))]
    result = subprocess.run(
        ["shellcheck", "-x", *scripts], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ---- helpers for the round trips -------------------------------------------------------


def _run(
    script: Path, *args: str, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run a script with our environment minus any setting, plus `env`."""
    clean = {k: v for k, v in os.environ.items() if k.upper() not in SETTING_NAMES}
    return subprocess.run(
        ["bash", str(script), *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _backup_folder(result: subprocess.CompletedProcess[str]) -> Path:
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip().splitlines()[-1])


IDENTITY: dict[str, Any] = {
    "full_name": "Budi Santoso",
    "nip": "198001012005011001",
    "role": Role.PPK,
    "work_unit": "Bagian Pengadaan Barang/Jasa",
    "email": "budi@example.go.id",
    "phone": "+6281234567890",
    "phone_verified": True,
}


async def _seed(database_url: str) -> None:
    """The real migrations, then a requester with two tickets."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with create_sessionmaker(engine).begin() as session:
            requester = Requester(
                channel="telegram", chat_id="4242", platform_user_id="4242", **IDENTITY
            )
            session.add(requester)
            await session.flush()
            for number, state in (
                ("2611-0001", TicketState.SUBMITTED),
                ("2611-0002", TicketState.VALID),
            ):
                session.add(
                    Ticket(
                        number=number,
                        requester_id=requester.id,
                        request_type=RequestType.RESET_PASSWORD,
                        state=state,
                        missing=[],
                        **IDENTITY,
                    )
                )
    finally:
        await engine.dispose()


def _tables(connection: Connection) -> list[str]:
    return sorted(inspect(connection).get_table_names())


async def _snapshot(database_url: str) -> dict[str, Any]:
    """The tables, the schema revision and the seeded rows (empty when there is no schema)."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(_tables)
            if "tickets" not in tables:
                return {"tables": tables}
            revision = (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar_one()
            requesters = (
                await connection.execute(
                    text("SELECT id, chat_id, full_name, nip, phone FROM requesters ORDER BY id")
                )
            ).all()
            tickets = (
                await connection.execute(
                    text("SELECT id, number, requester_id, state, nip FROM tickets ORDER BY id")
                )
            ).all()
    finally:
        await engine.dispose()
    return {
        "tables": tables,
        "revision": revision,
        "requesters": [tuple(row) for row in requesters],
        "tickets": [tuple(row) for row in tickets],
    }


def _fill_storage(folder: Path) -> None:
    files = {
        "uploads/ab/ab12cd34.pdf": b"%PDF-1.4\n" + os.urandom(4000),
        "uploads/cd/cd56ef78.jpg": b"\xff\xd8\xff" + os.urandom(6000),
        "archive/2026/2611-0001/manifest.json": b'{"ticket": "2611-0001"}\n',
        "archive/2026/2611-0001/documents/letter-r1-p1.pdf": os.urandom(300),
        "surat dengan spasi.pdf": b"\x00\x01binary\n",
    }
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _check_backup_folder(folder: Path, database_file: str) -> None:
    assert folder.is_dir()
    assert not folder.name.endswith(".partial")
    names = {p.name for p in folder.iterdir()}
    assert names == {database_file, "storage.tar.gz", "info.txt", "SHA256SUMS"}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    listed = {}
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        listed[name.lstrip("*")] = digest
    assert set(listed) == names - {"SHA256SUMS"}
    for name, digest in listed.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest


def _tamper(folder: Path, target: Path) -> Path:
    shutil.copytree(folder, target)
    archive = target / "storage.tar.gz"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    archive.write_bytes(bytes(data))
    return target


# ---- PostgreSQL ---------------------------------------------------------------------------

_PG = urlsplit(
    (os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test").replace(
        "+asyncpg", ""
    )
)
PG_HOST = _PG.hostname or "127.0.0.1"
PG_PORT = str(_PG.port or 5432)
PG_USER = _PG.username or "postgres"
PG_PASSWORD = _PG.password or ""


def _psql(sql: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PGCONNECT_TIMEOUT": "5"}
    if PG_PASSWORD:
        env["PGPASSWORD"] = PG_PASSWORD
    return subprocess.run(
        [
            "psql",
            "-h",
            PG_HOST,
            "-p",
            PG_PORT,
            "-U",
            PG_USER,
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-qc",
            sql,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _pg_url(database: str, driver: str = "postgresql+asyncpg") -> str:
    auth = f"{PG_USER}:{PG_PASSWORD}" if PG_PASSWORD else PG_USER
    return f"{driver}://{auth}@{PG_HOST}:{PG_PORT}/{database}"


@pytest.fixture
def pg_databases() -> Iterator[tuple[str, str]]:
    """Two empty databases of our own (source, target), dropped afterwards."""
    if not all(shutil.which(tool) for tool in ("pg_dump", "pg_restore", "psql")):
        pytest.skip("the PostgreSQL client tools (pg_dump, pg_restore, psql) are not installed")
    suffix = uuid.uuid4().hex[:12]
    names = (f"chatbot_backup_src_{suffix}", f"chatbot_backup_dst_{suffix}")
    created: list[str] = []
    try:
        for name in names:
            result = _psql(f'CREATE DATABASE "{name}"')
            if result.returncode != 0:
                if not created and not os.environ.get("TEST_DATABASE_URL"):
                    # `make test` on a machine without a PostgreSQL server; CI sets
                    # TEST_DATABASE_URL, and then this fails instead.
                    pytest.skip(
                        f"no PostgreSQL server at {PG_HOST}:{PG_PORT}: {result.stderr.strip()}"
                    )
                pytest.fail(result.stderr)
            created.append(name)
        yield names
    finally:
        for name in created:
            _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_postgres_backup_and_restore(pg_databases: tuple[str, str], tmp_path: Path) -> None:
    source_db, target_db = pg_databases
    source_url = _pg_url(source_db)
    asyncio.run(_seed(source_url))
    before = asyncio.run(_snapshot(source_url))
    assert len(before["tickets"]) == 2

    source_files = tmp_path / "source" / "files"
    _fill_storage(source_files)

    # Back up from the environment, in the bot's own URL form, with a password in it
    # (trust authentication ignores it) that must not show anywhere.
    password_url = source_url.replace(f"{PG_USER}@", f"{PG_USER}:n0t%40shown@", 1)
    if PG_PASSWORD:
        password_url = source_url
    result = _run(
        BACKUP,
        str(tmp_path / "backups"),
        env={"DATABASE_URL": password_url, "STORAGE_DIR": str(source_files)},
        cwd=tmp_path,
    )
    folder = _backup_folder(result)
    assert "n0t" not in result.stdout + result.stderr
    assert folder.parent == tmp_path / "backups"
    _check_backup_folder(folder, "database.pgdump")
    assert "n0t" not in (folder / "info.txt").read_text()

    # The target's settings in a .env file (relative STORAGE_DIR: next to the file), which
    # wins over a wrong DATABASE_URL in the environment.
    site = tmp_path / "site"
    target_files = site / "data" / "files"
    target_files.mkdir(parents=True)
    (target_files / "old.txt").write_bytes(b"kept aside")
    env_file = site / ".env"
    env_file.write_text(
        f"# the target\nDATABASE_URL={_pg_url(target_db, 'postgresql')}\nSTORAGE_DIR=data/files\n"
    )
    wrong = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/wrong"}

    def target_unchanged() -> None:
        assert asyncio.run(_snapshot(_pg_url(target_db))) == {"tables": []}
        assert sorted(p.name for p in (site / "data").iterdir()) == ["files"]
        assert _tree(target_files) == {"old.txt": b"kept aside"}

    # Without --yes: it says what it would overwrite and changes nothing.
    result = _run(RESTORE, "--env", str(env_file), str(folder), env=wrong, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert target_db in result.stderr
    assert str(target_files) in result.stderr
    assert "--yes" in result.stderr
    target_unchanged()

    # An altered backup is refused, even with --yes.
    tampered = _tamper(folder, tmp_path / "tampered")
    result = _run(RESTORE, "--env", str(env_file), "--yes", str(tampered), env=wrong, cwd=tmp_path)
    assert result.returncode != 0
    assert "checksums do not match" in result.stderr
    target_unchanged()

    # A PostgreSQL backup is not restored into an SQLite database.
    result = _run(
        RESTORE,
        "--yes",
        str(folder),
        env={
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
            "STORAGE_DIR": str(tmp_path / "x"),
        },
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "refusing" in result.stderr
    assert not (tmp_path / "x.db").exists()
    assert not (tmp_path / "x").exists()
    target_unchanged()

    # With --yes: the rows, the schema revision and every file come back.
    result = _run(RESTORE, "--env", str(env_file), "--yes", str(folder), env=wrong, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert asyncio.run(_snapshot(_pg_url(target_db))) == before
    assert _tree(target_files) == _tree(source_files)
    assert stat.S_IMODE(target_files.stat().st_mode) == 0o700
    asides = [p for p in (site / "data").iterdir() if p.name.startswith("files.before-restore-")]
    assert len(asides) == 1
    assert _tree(asides[0]) == {"old.txt": b"kept aside"}

    # Again, over the restored database (pg_restore --clean): the same, nothing doubled.
    result = _run(RESTORE, "--env", str(env_file), "--yes", str(folder), env=wrong, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert asyncio.run(_snapshot(_pg_url(target_db))) == before
    assert _tree(target_files) == _tree(source_files)


# ---- SQLite -------------------------------------------------------------------------------


@pytest.mark.parametrize("copier", ["sqlite3", "python"])
def test_sqlite_backup_and_restore(copier: str, tmp_path: Path) -> None:
    env = {"PYTHON": sys.executable}
    if copier == "sqlite3" and shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 command is not installed")
    if copier == "python":
        env["SQLITE3"] = str(tmp_path / "no-sqlite3-here")

    # The bot's layout: .env in its working directory, relative paths below it.
    site = tmp_path / "site"
    site.mkdir()
    settings = "DATABASE_URL=sqlite+aiosqlite:///data/chatbot.db\nSTORAGE_DIR=data/files\n"
    (site / ".env").write_text(settings)
    database_url = f"sqlite+aiosqlite:///{site / 'data' / 'chatbot.db'}"
    asyncio.run(_seed(database_url))
    before = asyncio.run(_snapshot(database_url))
    _fill_storage(site / "data" / "files")
    files = _tree(site / "data" / "files")

    result = _run(
        BACKUP, "--env", str(site / ".env"), str(tmp_path / "backups"), env=env, cwd=tmp_path
    )
    folder = _backup_folder(result)
    assert ("python's sqlite3 backup API" in result.stderr) == (copier == "python")
    _check_backup_folder(folder, "database.sqlite3")

    # Into a fresh place: nothing there yet.
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / ".env").write_text(settings)
    result = _run(RESTORE, "--env", str(fresh / ".env"), str(folder), env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert list(fresh.iterdir()) == [fresh / ".env"]
    result = _run(
        RESTORE, "--env", str(fresh / ".env"), "--yes", str(folder), env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    fresh_url = f"sqlite+aiosqlite:///{fresh / 'data' / 'chatbot.db'}"
    assert asyncio.run(_snapshot(fresh_url)) == before
    assert _tree(fresh / "data" / "files") == files
    assert stat.S_IMODE((fresh / "data" / "chatbot.db").stat().st_mode) == 0o600

    # In place, after a loss: the lost row and file come back, the damaged ones are kept aside.
    asyncio.run(_delete_ticket(database_url, "2611-0002"))
    (site / "data" / "files" / "uploads" / "ab" / "ab12cd34.pdf").unlink()
    result = _run(RESTORE, "--env", str(site / ".env"), "--yes", str(folder), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert asyncio.run(_snapshot(database_url)) == before
    assert _tree(site / "data" / "files") == files
    kept = sorted(p.name for p in (site / "data").iterdir())
    assert any(name.startswith("chatbot.db.before-restore-") for name in kept)
    assert any(name.startswith("files.before-restore-") for name in kept)


async def _delete_ticket(database_url: str, number: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM tickets WHERE number = :n"), {"n": number})
    finally:
        await engine.dispose()


def test_the_backup_leaves_the_sealing_secret_out(tmp_path: Path) -> None:
    """A backup holds the sealed rows (the database): it must not hold their key too."""
    site = tmp_path / "site"
    site.mkdir()
    (site / ".env").write_text(
        "DATABASE_URL=sqlite+aiosqlite:///data/chatbot.db\nSTORAGE_DIR=data/files\n"
    )
    asyncio.run(_seed(f"sqlite+aiosqlite:///{site / 'data' / 'chatbot.db'}"))
    _fill_storage(site / "data" / "files")
    stored_secret(site / "data" / "files")

    result = _run(
        BACKUP,
        "--env",
        str(site / ".env"),
        str(tmp_path / "backups"),
        env={"PYTHON": sys.executable},
        cwd=tmp_path,
    )
    folder = _backup_folder(result)
    with tarfile.open(folder / "storage.tar.gz") as archive:
        names = {Path(name).name for name in archive.getnames()}
    assert SEAL_FILE not in names
    assert "ab12cd34.pdf" in names  # the documents are there
