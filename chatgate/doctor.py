"""`chatgate doctor`: say what is configured, what is missing and what does not answer."""

from __future__ import annotations

import asyncio

from chatgate.runtime import open_store, seed_runtime_config
from core.services import Services, build_services
from core.settings import Settings

OK, WARN, FAIL = "ok  ", "warn", "FAIL"


def _settings_findings(settings: Settings) -> list[tuple[str, str]]:
    findings: list[tuple[str, str]] = []
    problem = settings.jwt_secret_problem()
    if problem:
        findings.append((WARN if settings.is_dev else FAIL, problem))
    elif not settings.JWT_SECRET.get_secret_value():
        findings.append((OK, "JWT_SECRET unset: a generated secret is kept in the store and shared by all processes"))
    else:
        findings.append((OK, "JWT_SECRET is set"))
    if console := settings.console_delivery_problem():
        findings.append((WARN if settings.is_dev else FAIL, console))
    if not settings.OPENAI_API_KEY.get_secret_value():
        findings.append((WARN, "OPENAI_API_KEY is unset: add upstream keys in the dashboard or the environment"))
    if not settings.NEXT_PUBLIC_EMAIL_SERVICE and not settings.SMS_PROVIDER:
        findings.append(
            (WARN, "no email or SMS provider: registration works without a verification code, "
                   "and sign-in by code and password reset by code are unavailable")
        )  # fmt: skip
    if not settings.payments_enabled:
        findings.append((WARN, "XUNHU_PAY_APPID / XUNHU_PAY_APPSECRET unset: the pricing page cannot sell plans "
                               "(redemption codes still work)"))  # fmt: skip
    else:
        notify = f"{settings.callback_base}/api/pay/xunhu/notify"
        findings.append((WARN if len(notify) > 128 else OK,
                         f"payments: XunhuPay via {settings.XUNHU_PAY_GATEWAY}, notify URL {notify}"
                         + (" is longer than XunhuPay's 128 characters" if len(notify) > 128 else "")))  # fmt: skip
    if settings.DOMAIN.startswith("http://") and not settings.is_dev:
        findings.append((WARN, f"DOMAIN is {settings.DOMAIN}: cookies are not marked Secure without https"))
    if not settings.DOMAIN and not settings.is_dev:
        findings.append(
            (WARN, "DOMAIN is unset: invitation, API and share links are built from each request's host, and "
                   "payment callbacks need DOMAIN or CALLBACK_DOMAIN")
        )  # fmt: skip
    return findings


async def _provider_findings(services: Services) -> list[tuple[str, str]]:
    """Ask every configured delivery and moderation provider once, with its real credentials."""
    findings: list[tuple[str, str]] = []
    for name in ("notifier", "moderation"):
        component = getattr(services, name, None)
        if component is None or not hasattr(component, "check"):
            continue
        try:
            problems = await component.check()
        except Exception as exc:  # a doctor reports, it never crashes
            problems = [f"check failed: {type(exc).__name__}: {exc}"]
        findings.extend((FAIL, f"{name}: {problem}") for problem in problems)
        if not problems:
            findings.append((OK, f"{name}: configured providers look right"))
        # What a check itself costs (Tencent TMS has no free call), so a paid doctor run is never a surprise.
        notes: list[str] = component.check_notes() if hasattr(component, "check_notes") else []
        findings.extend((OK, f"{name}: note: {note}") for note in notes)
    return findings


async def _upstream_findings(services: Services) -> list[tuple[str, str]]:
    """Ask every upstream of every enabled model for its model list (no tokens spent)."""
    from core.relay.catalogue import list_models
    from core.relay.upstreams import list_upstream_models

    findings: list[tuple[str, str]] = []
    seen: dict[str, list[str] | str] = {}
    for model in await list_models(services.store):
        if not model.enabled:
            continue
        if not model.upstreams:
            findings.append((FAIL, f"model {model.id}: no upstream configured"))
        for upstream in model.upstreams:
            if not upstream.keys:
                findings.append((WARN, f"model {model.id}: upstream {upstream.id} has no API key (not contacted)"))
                continue
            if upstream.id not in seen:
                try:
                    seen[upstream.id] = await asyncio.wait_for(list_upstream_models(upstream, services.settings), 15)
                except Exception as exc:  # a doctor reports, it never crashes
                    seen[upstream.id] = f"{type(exc).__name__}: {str(exc)[:200]}"
            offered = seen[upstream.id]
            where = f"model {model.id} via upstream {upstream.id} ({upstream.base_url})"
            if isinstance(offered, str):
                findings.append((FAIL, f"{where} does not answer: {offered}"))
            elif upstream.kind == "openai" and offered and model.remote_name not in offered:
                findings.append((WARN, f"{where}: the upstream does not list {model.remote_name}"))
            else:
                findings.append((OK, f"{where} answers"))
    return findings


async def _wechat_findings(services: Services) -> list[tuple[str, str]]:
    """Check the WeChat official account's settings and, with an AppID and secret, fetch the shared access token."""
    from channels.wechat import setting_problems
    from channels.wechat.api import WeChatApi

    settings = services.settings
    if not settings.WECHAT_TOKEN.get_secret_value():
        return []
    problems = setting_problems(settings)
    if problems:
        return [(FAIL, f"wechat: {problem}") for problem in problems]
    safe = bool(settings.WECHAT_AES_KEY.get_secret_value())
    findings = [(OK, f"wechat: {settings.WECHAT_MODE} mode, server URL {settings.DOMAIN}{settings.WECHAT_PATH}")]
    if not safe:
        findings.append((WARN, "wechat: plain mode: messages travel unencrypted; set WECHAT_AES_KEY (安全模式)"))
    if settings.WECHAT_APPID and settings.WECHAT_APPSECRET.get_secret_value():
        failed = await WeChatApi(settings, services.store, services.http).check()
        findings += [(FAIL, problem) for problem in failed] or [(OK, "wechat: the API accepts the AppID and secret")]
    return findings


async def _telegram_findings(settings: Settings) -> list[tuple[str, str]]:
    """Check the Telegram bot's settings and ask the Bot API whether it accepts the token."""
    from channels.telegram.checks import telegram_findings

    levels = {"ok": OK, "warn": WARN, "fail": FAIL}
    return [(levels[level], text) for level, text in await telegram_findings(settings)]


async def run_doctor(settings: Settings) -> int:
    """Print one line per finding; exit 1 when anything is FAIL."""
    findings = _settings_findings(settings)
    try:
        async with open_store(settings) as handle:
            pong = await handle.store.redis.ping()
            findings.append((OK if pong else FAIL, f"store answers: {handle.description}"))
            services = await build_services(settings, handle.store)
            try:
                findings.extend(await _provider_findings(services))
                findings.extend(await _wechat_findings(services))
                findings.extend(await _telegram_findings(settings))
                await seed_runtime_config(services)
                findings.extend(await _upstream_findings(services))
            finally:
                await services.close()
    except Exception as exc:
        findings.append((FAIL, f"store: {type(exc).__name__}: {exc}"))
    for level, text in findings:
        print(f"[{level}] {text}")
    return 1 if any(level == FAIL for level, _ in findings) else 0
