"""Does anything slow down with the number of users? (issue 16, item 6): 1k, 100k and 1M accounts in the store.

Usage (see benchmarks/README.md):
    .venv/bin/python benchmarks/user_count.py                        # 1k, 100k, 1M accounts (~3-4 minutes)
    .venv/bin/python benchmarks/user_count.py --quick                # 1k and 50k, fewer samples (~30 s)
    .venv/bin/python benchmarks/user_count.py --sizes 1000,100000,1000000 --samples 500
Starts an embedded store of its own (append-only, unix socket, as `chatgate serve`) pinned to --store-cpu; this
process (the app's core functions over redis-py, as a web process calls them) runs on --client-cpu. The first
account is made by the real registration (core.accounts.registration.register_user); the others are written with
pipelined raw commands that produce the same keys as registration (core.store.keys: the user hash, the email and
invitation-code indexes, idx:users, the search index and each user's search terms, seq:user), and the run checks
that a written account has the same keys, types and fields as the registered one and signs in. The store grows in
steps to each of --sizes; at each size, --samples random accounts are measured, one call at a time:
- sign-in: core.accounts.signin.authenticate_password + sessions.create_session (what POST /api/auth/login does);
  the password hash uses --hash-time-cost / --hash-memory-kib (default argon2id's cheapest here, so the store's
  part is not hidden under ~100 ms of hashing that does not depend on the number of users);
- quota check: core.billing.quotas.consume_quota (the consume script);
- dashboard user search (core.accounts.admin_users.list_users_page, what GET /api/users?q= runs): by an exact
  email, and by a prefix that matches many accounts (one page of 50);
- dashboard user list, newest first (GET /api/users, no query): one page of 50.
Reports p50 / p99 per operation and size, the fill time and the store's memory, and PASS when no p50 grows by
more than 50% from the smallest size to the largest.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import load_average, machine_line, process_cpu_seconds  # noqa: E402
from core.accounts.admin_users import list_users_page  # noqa: E402
from core.accounts.registration import INVITE_ALPHABET, INVITE_LENGTH, register_user  # noqa: E402
from core.accounts.search import normalize_term, terms_of  # noqa: E402
from core.accounts.sessions import create_session  # noqa: E402
from core.accounts.signin import authenticate_password  # noqa: E402
from core.accounts.users import User  # noqa: E402
from core.billing.plans import MAX_LIMIT, Limit, Plan  # noqa: E402
from core.billing.quotas import consume_quota  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.store.connection import Store, connect  # noqa: E402
from core.store.embedded import EmbeddedStore  # noqa: E402

PASSWORD = "bench password 123"
MODEL = "gpt-4o-mini"
PLAN = Plan(name="free", title="Free", limits={MODEL: Limit(MAX_LIMIT, "1m")})
BATCH = 2_000  # accounts per pipelined write
T0 = 1_760_000_000.0
USER_FIELDS = [field.name for field in dataclass_fields(User)]  # the record's fields, as registration writes them
COMMANDS_PER_ACCOUNT = 6
IP = "203.0.113.7"
SECRET = "bench-session-secret-of-at-least-32-bytes"


def email_of(user_id: int) -> str:
    return f"user{user_id}@bench.example"


def invite_code_of(user_id: int) -> str:
    """A unique code in registration's alphabet and length (registration draws it at random)."""
    digits, value = [], user_id
    for _ in range(INVITE_LENGTH):
        value, digit = divmod(value, len(INVITE_ALPHABET))
        digits.append(INVITE_ALPHABET[digit])
    return "".join(reversed(digits))


def command(*parts: object) -> bytes:
    """One command in the store's wire protocol (RESP), arguments written as redis-py writes them (floats by repr)."""
    texts = [part if isinstance(part, str) else repr(part) if isinstance(part, float) else str(part) for part in parts]
    body = "".join(f"${len(text) if text.isascii() else len(text.encode())}\r\n{text}\r\n" for text in texts)
    return f"*{len(texts)}\r\n{body}".encode()


def account_commands(store: Store, user_id: int, password_hash: str) -> list[bytes]:
    """The writes registration makes for one account (core.accounts.registration: create_account, _write_user,
    index_user), for an email account with no inviter."""
    keys, created = store.keys, T0 + user_id
    user = User(
        id=user_id, email=email_of(user_id), phone="", password_hash=password_hash, name="", role="user",
        blocked=False, created_at=created, last_login_at=created, lang="", invite_code=invite_code_of(user_id),
        inviter_id=None, reset_chances=0, invitee_count=0,
    )  # fmt: skip
    fields = {**{name: getattr(user, name) for name in USER_FIELDS}, "blocked": 0, "inviter_id": ""}
    terms = sorted(terms_of({name: str(value) for name, value in fields.items()}, {}))
    record = [item for name, value in fields.items() for item in (name, value)]
    return [
        command("SET", keys.email_index(user.email), user_id),
        command("SET", keys.invite_index(user.invite_code), user_id),
        command("HSET", keys.user(user_id), *record),
        command("ZADD", keys.users_index(), created, user_id),
        command("ZADD", keys.user_search(), *(item for term in terms for item in (0, f"{term}\x00{user_id}"))),
        command("SADD", keys.user_search_terms(user_id), *terms),
    ]


def fill(store: Store, socket_path: str, first: int, last: int, password_hash: str) -> None:
    """Write accounts first..last (inclusive) in pipelined batches over a raw socket; check every reply. The next
    batch is encoded while the store works through the one sent."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(socket_path)
        pending = 0  # replies owed for the batch in flight
        for start in range(first, last + 1, BATCH):
            uids = range(start, min(start + BATCH, last + 1))
            batch = b"".join(c for uid in uids for c in account_commands(store, uid, password_hash))
            _read_replies(sock, pending)
            sock.sendall(batch)
            pending = len(uids) * COMMANDS_PER_ACCOUNT
        _read_replies(sock, pending)
        sock.sendall(command("SET", store.keys.user_seq(), last))
        _read_replies(sock, 1)


def _read_replies(sock: socket.socket, count: int) -> None:
    """Read `count` one-line replies (every command of the fill answers in one line); raise on an error reply."""
    replies = b""
    while replies.count(b"\r\n") < count:
        replies += sock.recv(1 << 20)
    if replies.startswith(b"-") or b"\n-" in replies:
        raise RuntimeError(f"the store refused a write: {replies[:300]!r}")


async def key_shape(store: Store, user_id: int) -> dict[str, object]:
    """The keys, types and hash fields an account has (its id and values masked) for the fill's self-check."""
    redis, keys = store.redis, store.keys
    record: dict[str, str] = await redis.hgetall(keys.user(user_id))  # type: ignore[assignment]
    terms: set[str] = await redis.smembers(keys.user_search_terms(user_id))  # type: ignore[assignment]
    indexed = [await redis.zscore(keys.user_search(), f"{term}\x00{user_id}") for term in terms]
    return {
        "user fields": sorted(record),
        "email index": await redis.get(keys.email_index(record["email"])) == str(user_id),
        "invite index": await redis.get(keys.invite_index(record["invite_code"])) == str(user_id),
        "users index": await redis.zscore(keys.users_index(), str(user_id)) is not None,
        "search terms": sorted(_kind(term, user_id, record) for term in terms),
        "terms indexed": all(score == 0 for score in indexed),
        "types": sorted({await redis.type(key) for key in (keys.user(user_id), keys.user_search_terms(user_id))}),
    }


def _kind(term: str, user_id: int, record: dict[str, str]) -> str:
    if term == str(user_id):
        return "id"
    if term == normalize_term(record["email"]):
        return "email"
    return "invitation code" if term == normalize_term(record["invite_code"]) else f"other: {term}"


def quantiles_ms(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


async def timed(samples: list[int], call: Callable[[int], Awaitable[object]], took: list[float]) -> None:
    for user_id in samples:
        started = time.perf_counter()
        await call(user_id)
        took.append(time.perf_counter() - started)


def operations(store: Store, settings: Settings, size: int) -> dict[str, Callable[[int], Awaitable[None]]]:
    """The measured calls, each for one account id."""

    async def sign_in(user_id: int) -> None:
        now = time.time()
        user = await authenticate_password(store, settings, email_of(user_id), PASSWORD, ip=IP, now=now)
        await create_session(store, settings, SECRET, user.id, ip=IP, agent="bench", now=now)

    async def quota(user_id: int) -> None:
        await consume_quota(store, user_id, PLAN, MODEL, time.time())

    async def search_email(user_id: int) -> None:
        page = await list_users_page(store, query=email_of(user_id), now=time.time())
        assert [row.user.id for row in page.users] == [user_id], "the exact email must find its account"

    async def search_prefix(user_id: int) -> None:
        prefix = f"user{str(user_id)[0]}"  # e.g. "user1": ~1/9 of all accounts, more than a page
        page = await list_users_page(store, query=prefix, now=time.time())
        assert len(page.users) == 50, f"{prefix}: {len(page.users)} rows"

    async def newest(user_id: int) -> None:
        assert len((await list_users_page(store, now=time.time())).users) == 50

    return {"sign-in": sign_in, "quota check": quota, "search: exact email": search_email,
            "search: prefix, 50 rows": search_prefix, "list newest, 50 rows": newest}  # fmt: skip


@dataclass
class Sized:
    """One store holding `size` accounts, and what was measured on it."""

    size: int
    embedded: EmbeddedStore
    store: Store
    settings: Settings
    fill_seconds: float = 0.0
    fill_store_cpu: float = 0.0
    memory_mb: float = 0.0
    took: dict[str, list[float]] = field(default_factory=dict)


async def prepare(args: argparse.Namespace, workdir: Path, size: int) -> Sized:
    """Start a store for `size` accounts, register the first, write the others, check they match."""
    embedded = EmbeddedStore(workdir / str(size))
    url = embedded.start()
    assert embedded.process is not None
    os.sched_setaffinity(embedded.process.pid, {args.store_cpu})
    settings = Settings(
        _env_file=None, CHATGATE_ENV="dev", DATA_DIR=workdir / "data", REDIS_URL=url,  # type: ignore[call-arg]
        PASSWORD_HASH_TIME_COST=args.hash_time_cost, PASSWORD_HASH_MEMORY_KIB=args.hash_memory_kib,
    )  # fmt: skip
    sized = Sized(size, embedded, connect(url), settings)
    store = sized.store
    # The fill would set off append-only file rewrites (a forked child on the store's CPU, a disk full of writes)
    # that would go on into the measurements: a property of the fill's burst of writes, not of the count.
    await store.redis.config_set("auto-aof-rewrite-percentage", 0)
    real = await register_user(store, settings, None, email=email_of(1), password=PASSWORD, now=T0 + 1)
    password_hash = str(await store.redis.hget(store.keys.user(real.id), "password_hash"))
    started, store_cpu = time.perf_counter(), process_cpu_seconds(embedded.process.pid)
    await asyncio.to_thread(fill, store, str(embedded.socket_path), 2, size, password_hash)
    sized.fill_seconds = time.perf_counter() - started
    sized.fill_store_cpu = process_cpu_seconds(embedded.process.pid) - store_cpu
    registered, written = await key_shape(store, 1), await key_shape(store, 2)
    if registered != written:
        raise RuntimeError(f"a written account differs from a registered one: {registered} != {written}")
    sized.memory_mb = int((await store.redis.info("memory"))["used_memory"]) / 1024 / 1024
    print(
        f"{size:,} accounts written in {sized.fill_seconds:.1f} s (store CPU {sized.fill_store_cpu:.1f} s), "
        f"{sized.memory_mb:,.0f} MB; a written account has the registered one's keys, types and fields",
        flush=True,
    )
    return sized


async def run(args: argparse.Namespace, workdir: Path) -> list[Sized]:
    """Fill one store per size, then measure them in alternating rounds (a slow spell of the host hits all)."""
    stores: list[Sized] = []
    try:
        for size in args.sizes:
            stores.append(await prepare(args, workdir, size))
        for round_ in range(args.rounds):
            for sized in stores:
                rng = random.Random(sized.size * 1000 + round_)
                ids = [rng.randint(1, sized.size) for _ in range(args.samples // args.rounds)]
                for name, call in operations(sized.store, sized.settings, sized.size).items():
                    await timed(ids, call, sized.took.setdefault(name, []))
        return stores
    finally:
        for sized in stores:
            await sized.store.close()
            sized.embedded.stop()


def report(args: argparse.Namespace, stores: list[Sized]) -> str:
    lines = [
        f"{args.samples} random accounts per size in {args.rounds} alternating rounds, one call at a time; argon2id "
        f"t={args.hash_time_cost} m={args.hash_memory_kib} KiB; stores on CPU {args.store_cpu}, client on CPU "
        f"{args.client_cpu}",
        machine_line(args.load_before),
        "| accounts | written in (store CPU) | store memory | " + " | ".join(f"{name} p50 / p99 ms" for name in
                                                                          stores[0].took) + " |",
        "|---|---|---|" + "---|" * len(stores[0].took),
    ]  # fmt: skip
    for sized in stores:
        cells = " | ".join("{:.2f} / {:.2f}".format(*quantiles_ms(took)) for took in sized.took.values())
        lines.append(f"| {sized.size:,} | {sized.fill_seconds:.1f} s ({sized.fill_store_cpu:.1f} s) "
                     f"| {sized.memory_mb:,.0f} MB | {cells} |")  # fmt: skip
    small, large = stores[0], stores[-1]
    for name in small.took:
        growth = quantiles_ms(large.took[name])[0] / quantiles_ms(small.took[name])[0]
        lines.append(f"{'PASS' if growth <= 1.5 else 'FAIL'} {name}: p50 {growth:.2f}x from {small.size:,} to "
                     f"{large.size:,} accounts (target: no growth; 1.5x allowed for noise)")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    args.load_before = load_average()
    os.sched_setaffinity(0, {args.client_cpu})
    with tempfile.TemporaryDirectory(prefix="user-count-") as workdir:
        stores = asyncio.run(run(args, Path(workdir)))
    print(report(args, stores))


def parse_args() -> argparse.Namespace:
    cpus = sorted(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=lambda v: [int(n) for n in v.split(",")], default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--samples", type=int, default=600, help="accounts measured per size (over all rounds)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hash-time-cost", type=int, default=1)
    parser.add_argument("--hash-memory-kib", type=int, default=1_024)
    parser.add_argument("--store-cpu", type=int, default=cpus[0])
    parser.add_argument("--client-cpu", type=int, default=cpus[-1])
    parser.add_argument("--quick", action="store_true", help="1k and 50k accounts, 150 samples (~30 s)")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.samples = [1_000, 50_000], 150
    if any(b <= a for a, b in zip(args.sizes, args.sizes[1:], strict=False)) or args.sizes[0] < 1_000:
        parser.error("--sizes must grow, from at least 1000 (a page of 50 for every prefix searched)")
    return args


if __name__ == "__main__":
    main()
