"""The `chatgate` command line: serve, doctor, admin, plans, codes, users, notice.

Every command uses the same store as the server: REDIS_URL, else the running embedded server of DATA_DIR, else
an embedded server started for the duration of the command.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from redis.exceptions import RedisError

from chatgate.doctor import run_doctor
from chatgate.runtime import (
    StartupError,
    describe_store,
    event_loop_factory,
    open_store,
    scrub_secrets,
    seed_runtime_config,
    serve_all,
)
from core.errors import CoreError
from core.logs import configure_logging
from core.services import build_services
from core.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatgate", description="Sell AI chat on the web, WeChat and Telegram.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the web app, the dashboard and the bots")
    serve.add_argument("--host", default=None, help="web app address (default HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="web app port (default PORT, 8000)")
    serve.add_argument("--admin-port", type=int, default=None, help="dashboard port (default ADMIN_PORT, 8001)")
    serve.add_argument(
        "--only", choices=["web", "admin"], default=None, help="run only the web app or only the dashboard"
    )
    serve.add_argument(
        "--workers", type=int, default=None, help="web app processes over one store (default WEB_CONCURRENCY, 1)"
    )

    worker = commands.add_parser("serve-worker", help="one web process of `serve --workers N` (started by it)")
    worker.add_argument("--fd", type=int, required=True, help="the listening socket inherited from the supervisor")
    worker.add_argument("--cpu", type=int, default=None, help="the one CPU to run on (WORKER_CPU_AFFINITY=auto)")

    commands.add_parser("doctor", help="check settings, the store and every configured provider")

    admin = commands.add_parser("admin", help="manage administrators").add_subparsers(dest="action", required=True)
    create = admin.add_parser("create", help="create an administrator (or promote an existing account)")
    create.add_argument("--email", default=None)
    create.add_argument("--phone", default=None)
    create.add_argument("--password", required=True)

    plans = commands.add_parser("plans", help="import or export plans").add_subparsers(dest="action", required=True)
    plans_import = plans.add_parser("import", help="replace or add plans from a JSON file")
    plans_import.add_argument("file", type=Path)
    plans.add_parser("export", help="print every plan as JSON")

    store = commands.add_parser("store", help="move the data between stores").add_subparsers(
        dest="action", required=True
    )
    store_export = store.add_parser("export", help="write every key of this deployment to a JSON-lines file")
    store_export.add_argument("file", type=Path)
    store_import = store.add_parser("import", help="load an exported file into an empty store")
    store_import.add_argument("file", type=Path)
    store_import.add_argument("--overwrite", action="store_true", help="also into a store that already has data")
    codes = commands.add_parser("codes", help="redemption codes").add_subparsers(dest="action", required=True)
    generate = codes.add_parser("generate", help="create a batch of single-use codes and print them as CSV")
    generate.add_argument("--plan", default=None, help="the plan the codes give (with --days)")
    generate.add_argument("--days", type=int, default=None, help="days of the plan each code gives")
    generate.add_argument("--reset-chances", type=int, default=None, help="reset chances each code gives instead")
    generate.add_argument("--count", type=int, required=True, help="how many codes (1..10000)")
    generate.add_argument("--expires", default=None, help="last moment to redeem: 2027-01-01 (00:00 UTC) or ISO time")
    generate.add_argument("--note", default="", help="a note for the dashboard")

    users = commands.add_parser("users", help="user indexes").add_subparsers(dest="action", required=True)
    users.add_parser("reindex", help="rebuild the dashboard's user search and plan-holder indexes from the records")

    notice = commands.add_parser("notice", help="the announcement").add_subparsers(dest="action", required=True)
    notice_set = notice.add_parser("set", help="publish a Markdown file as the announcement")
    notice_set.add_argument("file", type=Path)
    notice.add_parser("show", help="print the current announcement")
    return parser


async def _admin_create(settings: Settings, args: argparse.Namespace) -> str:
    from core.accounts.registration import ensure_admin

    async with open_store(settings) as handle:
        services = await build_services(settings, handle.store)
        try:
            result = await ensure_admin(
                services.store, settings, email=args.email, phone=args.phone, password=args.password,
                now=services.clock(),
            )  # fmt: skip
        finally:
            await services.close()
    user = result.user
    who = f"#{user.id} ({user.email or user.phone})"
    if not result.promoted:
        return f"administrator {who} is ready"
    return (
        f"existing account {who} promoted to administrator: its password was replaced and "
        f"{result.sessions_ended} session(s) signed out"
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CoreError(f"cannot read {path}: {exc.strerror}") from exc


def _read_plans(path: Path) -> list[object]:
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise CoreError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, list):
        raise CoreError("the file must hold a JSON list of plans")
    return data


async def _plans_import(settings: Settings, data: list[object]) -> str:
    from core.billing.plans import import_plans
    from core.relay.catalogue import list_models

    async with open_store(settings) as handle:
        services = await build_services(settings, handle.store)
        try:
            await seed_runtime_config(services)  # as `serve` would: the models the limits name are known
            plans = await import_plans(handle.store, data)
            known = {model.id for model in await list_models(handle.store)}
        finally:
            await services.close()
    for plan in plans:
        for model in sorted(set(plan.limits) - known):
            print(f"warning: plan {plan.name!r} has a limit for {model!r}, which is not a configured model "
                  "(calls to it are refused until it is added)", file=sys.stderr)  # fmt: skip
    return f"imported {len(plans)} plan(s): {', '.join(plan.name for plan in plans)}"


async def _plans_export(settings: Settings) -> str:
    from core.billing.plans import export_plans

    async with open_store(settings) as handle:
        services = await build_services(settings, handle.store)
        try:
            await seed_runtime_config(services)
            data = await export_plans(handle.store)
        finally:
            await services.close()
    return json.dumps(data, ensure_ascii=False, indent=2)


async def _codes_generate(settings: Settings, args: argparse.Namespace) -> str:
    from chatgate.codes_csv import batch_csv, parse_expiry
    from core.billing.redemption import generate_codes

    expires_at = parse_expiry(args.expires) if args.expires else None
    async with open_store(settings) as handle:
        services = await build_services(settings, handle.store)
        try:
            await seed_runtime_config(services)
            batch = await generate_codes(
                handle.store, plan=args.plan, days=args.days, reset_chances=args.reset_chances, count=args.count,
                expires_at=expires_at, note=args.note, now=services.clock(),
            )  # fmt: skip
        finally:
            await services.close()
    return batch_csv(batch).rstrip("\n")


async def _users_reindex(settings: Settings) -> str:
    """Rebuild the indexes the dashboard reads that older data lacks (search terms, who holds which plan)."""
    from core.accounts.search import index_user
    from core.billing.subscriptions import index_plan_users

    async with open_store(settings) as handle:
        store = handle.store
        user_ids = [str(uid) for uid in await store.redis.zrange(store.keys.users_index(), 0, -1)]
        for user_id in user_ids:  # the users index, never a keyspace scan
            await index_user(store, user_id)
            await index_plan_users(store, user_id)
    return f"reindexed {len(user_ids)} user(s)"


async def _notice_set(settings: Settings, markdown: str) -> str:
    from core.site.notice import set_notice

    async with open_store(settings) as handle:
        import time

        notice = await set_notice(handle.store, markdown, time.time())
    return f"announcement version {notice.version} published ({len(markdown)} characters)"


async def _notice_show(settings: Settings) -> str:
    from core.site.notice import get_notice

    async with open_store(settings) as handle:
        notice = await get_notice(handle.store)
    return "(no announcement)" if notice is None else f"version {notice.version}\n\n{notice.markdown}"


async def _store_export(settings: Settings, path: Path) -> str:
    from core.store.transfer import export_lines

    count = 0
    async with open_store(settings) as handle:
        with path.open("w", encoding="utf-8") as out:
            async for line in export_lines(handle.store):
                out.write(line + "\n")
                count += 1
    return f"{count} keys written to {path}"


async def _store_import(settings: Settings, path: Path, overwrite: bool) -> str:
    from core.store.transfer import import_lines

    async with open_store(settings) as handle:
        with path.open(encoding="utf-8") as lines:
            done = await import_lines(handle.store, lines, overwrite=overwrite)
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(done.by_type.items()))
    return f"{done.keys} keys imported ({kinds or 'none'})"


def _dispatch(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "serve":
        host = args.host or settings.HOST
        port = args.port or settings.PORT
        admin_port = args.admin_port or settings.ADMIN_PORT
        workers = args.workers or settings.WEB_CONCURRENCY
        if workers < 1:
            raise StartupError("--workers (WEB_CONCURRENCY) must be at least 1")
        if workers > 1 and args.only != "admin":
            from chatgate.workers import serve_with_workers

            serve_with_workers(settings, host, port, admin_port, workers, only=args.only)
            return 0
        with asyncio.Runner(loop_factory=event_loop_factory(settings)) as runner:
            runner.run(serve_all(settings, host, port, admin_port, only=args.only))
        return 0
    if args.command == "serve-worker":
        from chatgate.workers import run_worker

        run_worker(settings, args.fd, args.cpu)
        return 0
    if args.command == "doctor":
        return asyncio.run(run_doctor(settings))
    jobs = {
        ("admin", "create"): lambda: _admin_create(settings, args),
        ("plans", "import"): lambda: _plans_import(settings, _read_plans(args.file)),
        ("plans", "export"): lambda: _plans_export(settings),
        ("store", "export"): lambda: _store_export(settings, args.file),
        ("store", "import"): lambda: _store_import(settings, args.file, args.overwrite),
        ("codes", "generate"): lambda: _codes_generate(settings, args),
        ("users", "reindex"): lambda: _users_reindex(settings),
        ("notice", "set"): lambda: _notice_set(settings, _read_text(args.file)),
        ("notice", "show"): lambda: _notice_show(settings),
    }
    print(asyncio.run(jobs[(args.command, args.action)]()))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging()  # before the settings are read: their own errors are logged the same way
    try:
        settings = Settings()
        configure_logging(settings.LOG_LEVEL, settings.LOG_FORMAT)
        return _dispatch(settings, args)
    except CoreError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    except StartupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RedisError as error:  # unreachable, wrong password, TLS refused ...: one line, never the password
        reason = scrub_secrets(str(error) or type(error).__name__, settings)
        print(f"error: cannot use {describe_store(settings)}: {reason}", file=sys.stderr)
        return 2
    except ValueError as error:  # settings validation and unsafe secrets
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
