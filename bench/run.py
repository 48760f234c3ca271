"""Run the bot and a bare python-telegram-bot echo bot by turns against the project's fake
Bot API with Telegram's flood limits on, and print one table side by side.

    .venv/bin/python -m bench.run                     # SQLite + embedded store, all workloads
    .venv/bin/python -m bench.run --backend postgres  # PostgreSQL + Redis (BENCH_DATABASE_URL..)
    .venv/bin/python -m bench.run --pairs 3 --users 300

Each (workload, bot) pair runs on a fresh fake and a fresh database; with `--pairs N` the
pairs repeat and the medians are printed. What is measured is what a user notices: the time
from their message to the bot's first answer in their chat, and what Telegram would say
(429s). CPU and memory come from /proc of the bot's process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from bench.machine import describe_machine
from bench.procfs import cpu_seconds, rss_mib
from tests.e2e.harness import (
    TOKEN,
    populate,
)
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.bot_api_flood import FloodControl
from tests.system.processes import BotProcess, bot_env

FIRST_USER = 700_000
TEXT = "status"
LOGS = Path(os.environ.get("BENCH_LOGS", tempfile.gettempdir())) / "bench-logs"


@dataclass
class Sample:
    """One workload on one bot."""

    bot: str
    workload: str
    sent: int = 0
    answered: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    throttled: int = 0
    cpu_ms_per_update: float = 0.0
    idle_rss: float = 0.0
    peak_rss: float = 0.0

    @property
    def replies_per_s(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


Workload = Callable[[FakeBotApi, Sample], Awaitable[None]]


def _first_answers(fake: FakeBotApi, since: dict[int, float]) -> dict[int, float]:
    """For each user chat, when the bot's first successful message after `since` was sent."""
    answers: dict[int, float] = {}
    for call in fake.calls:
        if call.method != "sendMessage" or not call.ok:
            continue
        chat = call.params.get("chat_id")
        if (
            isinstance(chat, int)
            and chat in since
            and chat not in answers
            and call.time >= since[chat]
        ):
            answers[chat] = call.time
    return answers


def burst(users: int, timeout: float) -> Workload:
    """`users` different people send "status" at the same moment."""

    async def run(fake: FakeBotApi, sample: Sample) -> None:
        ids = [FIRST_USER + i for i in range(users)]
        for uid in ids:
            fake.add_user(uid, f"Pengguna {uid}")
        start = time.time()
        sent = dict.fromkeys(ids, start)
        for uid in ids:
            fake.send_text(uid, TEXT)
        sample.sent = users

        def done() -> bool:
            return len(_first_answers(fake, sent)) >= users

        with contextlib.suppress(TimeoutError, AssertionError):
            await fake.wait_until(done, timeout=timeout)
        answers = _first_answers(fake, sent)
        sample.answered = len(answers)
        sample.latencies = [answers[u] - sent[u] for u in answers]
        sample.seconds = (max(answers.values()) - start) if answers else timeout

    return run


def paced(users: int, think: float, duration: float) -> Workload:
    """A closed loop: `users` people each send "status", wait for the answer, think
    `think` seconds, and again, for `duration` seconds."""

    async def person(fake: FakeBotApi, uid: int, sample: Sample, until: float) -> None:
        await asyncio.sleep(think * (uid % users) / users)  # spread the first messages
        while time.time() < until:
            since = {uid: time.time()}
            fake.send_text(uid, TEXT)
            sample.sent += 1
            try:
                await fake.wait_until(partial(_first_answers, fake, since), 30)
            except (TimeoutError, AssertionError):
                continue
            sample.answered += 1
            sample.latencies.append(_first_answers(fake, since)[uid] - since[uid])
            await asyncio.sleep(think)

    async def run(fake: FakeBotApi, sample: Sample) -> None:
        ids = [FIRST_USER + i for i in range(users)]
        for uid in ids:
            fake.add_user(uid, f"Pengguna {uid}")
        start = time.time()
        await asyncio.gather(*(person(fake, u, sample, start + duration) for u in ids))
        sample.seconds = time.time() - start

    return run


async def _process_for(kind: str, fake: FakeBotApi, folder: Path, backend: Backend) -> BotProcess:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{kind}.log"
    log.unlink(missing_ok=True)
    if kind == "echo":
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")}
        env = {**keep, "BENCH_TOKEN": TOKEN, "BENCH_API_URL": fake.base_url}
        return EchoProcess(env, log)
    env = bot_env(
        fake,
        database_url=await backend.fresh_database(folder),
        redis_url=backend.redis_url,
        prefix=f"bench{os.getpid()}{time.monotonic_ns()}:",
        storage=folder / "files",
    )
    env["LOG_LEVEL"] = "WARNING"
    return BotProcess(env, log)


class EchoProcess(BotProcess):
    """The echo bot as a process, started like the bot's."""

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.echo_bot", env=self.env, stdout=log, stderr=log
            )
        self.starts += 1


@dataclass
class Backend:
    """Where the bot keeps its data: SQLite + embedded store, or PostgreSQL + Redis."""

    name: str
    database_url: str = ""
    redis_url: str = ""

    async def fresh_database(self, folder: Path) -> str:
        if self.name == "sqlite":
            return f"sqlite+aiosqlite:///{folder / 'bot.db'}"
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(self.database_url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
        if self.redis_url:
            import redis.asyncio as redis

            client = redis.from_url(self.redis_url)
            await client.flushdb()
            await client.aclose()
        return self.database_url


async def measure(kind: str, name: str, workload: Workload, backend: Backend) -> Sample:
    """One bot, one workload, on a fresh fake and database."""
    sample = Sample(kind, name)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        folder = Path(tmp)
        fake = FakeBotApi(token=TOKEN, bot_username="spse_reset_bot")
        await fake.start()
        populate(fake)
        bot = await _process_for(kind, fake, folder, backend)
        try:
            await bot.start()
            await fake.wait_for_polling(timeout=60)
            warm = FIRST_USER - 1
            fake.add_user(warm, "Pemanasan")
            fake.send_text(warm, TEXT)
            await fake.wait_until(lambda: bool(fake.chat_messages(warm)), timeout=60)
            await asyncio.sleep(2)  # let start-up work settle before the idle reading
            assert bot.pid is not None
            sample.idle_rss = rss_mib(bot.pid)["VmRSS"]
            fake.flood = FloodControl()
            before = cpu_seconds(bot.pid)
            await workload(fake, sample)
            cpu = cpu_seconds(bot.pid) - before
            sample.peak_rss = rss_mib(bot.pid)["VmHWM"]
            sample.cpu_ms_per_update = 1000 * cpu / max(sample.answered, 1)
            sample.throttled = fake.flood.refused
        finally:
            await bot.stop()
            await fake.stop()
    return sample


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(results: dict[tuple[str, str], list[Sample]], workloads: list[str]) -> str:
    rows = [
        "| workload | figure | echo bot | this bot | ratio |",
        "|---|---|---|---|---|",
    ]
    figures: list[tuple[str, Callable[[Sample], float], str]] = [
        ("replies/s", lambda s: s.replies_per_s, "{:.1f}"),
        ("answered / sent", lambda s: s.answered / max(s.sent, 1), "{:.0%}"),
        ("latency p50 (s)", lambda s: s.pct(0.50), "{:.3f}"),
        ("latency p95 (s)", lambda s: s.pct(0.95), "{:.3f}"),
        ("latency p99 (s)", lambda s: s.pct(0.99), "{:.3f}"),
        ("429 answers", lambda s: float(s.throttled), "{:.0f}"),
        ("CPU ms / update", lambda s: s.cpu_ms_per_update, "{:.1f}"),
        ("idle RSS (MiB)", lambda s: s.idle_rss, "{:.0f}"),
        ("peak RSS (MiB)", lambda s: s.peak_rss, "{:.0f}"),
    ]
    for name in workloads:
        for label, value, fmt in figures:
            echo = _median([value(s) for s in results.get(("echo", name), [])])
            ours = _median([value(s) for s in results.get(("bot", name), [])])
            known = not (math.isnan(echo) or math.isnan(ours))
            ratio = f"{ours / echo:.2f}x" if known and echo else "-"
            rows.append(f"| {name} | {label} | {fmt.format(echo)} | {fmt.format(ours)} | {ratio} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pairs", type=int, default=1)
    parser.add_argument("--users", type=int, default=300, help="burst size")
    parser.add_argument("--paced-users", type=int, default=40)
    parser.add_argument("--think", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--only", choices=["burst", "paced"], default=None)
    args = parser.parse_args()

    backend = Backend(args.backend)
    if args.backend == "postgres":
        backend.database_url = os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench"
        )
        backend.redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
    workloads: dict[str, Workload] = {
        f"burst of {args.users} users": burst(args.users, args.timeout),
        f"paced {args.paced_users} users / {args.think:g} s": paced(
            args.paced_users, args.think, args.duration
        ),
    }
    if args.only:
        workloads = {k: v for k, v in workloads.items() if k.startswith(args.only)}

    async def go() -> dict[tuple[str, str], list[Sample]]:
        results: dict[tuple[str, str], list[Sample]] = {}
        for _ in range(args.pairs):
            for name, workload in workloads.items():
                for kind in ("echo", "bot"):
                    sample = await measure(kind, name, workload, backend)
                    results.setdefault((kind, name), []).append(sample)
                    print(
                        f"  {kind:4} {name}: {sample.answered}/{sample.sent} answered, "
                        f"{sample.replies_per_s:.1f}/s, p50 {sample.pct(0.5):.3f} s",
                        file=sys.stderr,
                    )
        return results

    started = time.time()
    results = asyncio.run(go())
    print(f"# bench: {args.backend}, {args.pairs} pair(s), medians")
    print()
    print(describe_machine())
    print()
    print(f"Command: `{' '.join([Path(sys.executable).name, '-m', 'bench.run', *sys.argv[1:]])}`")
    print(f"Python {platform.python_version()}, run took {time.time() - started:.0f} s")
    print()
    print(table(results, list(workloads)))


if __name__ == "__main__":
    main()
