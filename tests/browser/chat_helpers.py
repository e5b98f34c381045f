"""Helpers for the chat page's browser tests: the fake OpenAI upstream on the live server's loop, the models and
plan that point at it, signed-in tabs, and what a tab saw go wrong (console errors, dialogs, chat requests)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from core.accounts.registration import register_user
from core.accounts.users import User
from core.billing.plans import Limit, Plan, save_plan
from core.relay.catalogue import Model, Upstream, save_model
from tests.browser.conftest import LiveServer
from tests.fakes.openai_upstream import Behaviour, FakeUpstream, _choice, _event
from webui.messages import translate

PASSWORD = "browser password 1"
LOCALES = {"zh-CN": "zh-CN", "en": "en-US"}
MODEL = "gpt-4o-mini"
CHEAP_HASHING = {"PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 1024}
SLOW = Behaviour(chunks=40, chunk_delay=0.05)  # ~2 s of streaming: long enough to watch it grow and to stop it
OFFENDERS = """() => Array.from(document.querySelectorAll("body *"))
  .filter((node) => node.getBoundingClientRect().right > window.innerWidth + 1 && node.offsetParent !== null)
  .slice(0, 8).map((node) => node.tagName + "#" + node.id + "." + node.className)"""


class ScriptedUpstream(FakeUpstream):
    """The loopback fake upstream; when `answer` is set it streams that text (in `chunks` pieces) instead."""

    def __init__(self) -> None:
        super().__init__(keys={"sk-test"})
        self.answer: str | None = None

    def reset(self) -> None:
        self.answer = None
        self.demo = False
        self.demo_turns = 0
        self.behaviour = Behaviour()
        self.script.clear()
        self.requests.clear()
        self.disconnects = 0

    def _events(self, model: str, chunks: int, pieces: tuple[str, ...] = ()) -> list[bytes]:
        if self.answer is None:
            return super()._events(model, chunks, pieces)
        size = -(-len(self.answer) // chunks)
        pieces = [self.answer[index * size : (index + 1) * size] for index in range(chunks)]
        role = _event(model, [_choice({"role": "assistant", "content": "", "refusal": None})])
        content = [_event(model, [_choice({"content": piece})]) for piece in pieces]
        return [role, *content, _event(model, [_choice({}, "stop")])]

    def last_messages(self) -> list[dict[str, Any]]:
        """The `messages` of the last chat request the fake received."""
        return list(self.chat_requests[-1].body["messages"])


@dataclass
class ChatTab:
    """One browser context + page on the chat, with what went wrong in it."""

    server: LiveServer
    context: BrowserContext
    page: Page
    lang: str
    viewport: dict[str, int]
    theme: str
    shots: Path
    problems: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    chat_posts: list[str] = field(default_factory=list)

    def t(self, key: str, **params: Any) -> str:
        return translate(self.lang, key, **params)

    @property
    def composer(self) -> Locator:
        return self.page.locator("#composer-input")

    @property
    def answers(self) -> Locator:
        return self.page.locator(".msg-assistant .msg-body")

    @property
    def questions(self) -> Locator:
        return self.page.locator(".msg-user .msg-bubble")

    def sign_in(self, email: str) -> User:
        """Create an account in this tab's language, sign this context in, and open the chat."""
        user = create_user(self.server, email, lang=self.lang)
        self.log_in(email)
        return user

    def log_in(self, email: str) -> None:
        """Sign this context in to an existing account and open the chat."""
        response = self.page.request.post(
            f"{self.server.url}/api/auth/login", data={"email": email, "password": PASSWORD}
        )
        assert response.ok, response.text()
        self.open()

    def open(self, query: str = "") -> None:
        self.page.goto(f"{self.server.url}/{query}")
        expect(self.page.locator("body.is-ready")).to_have_count(1)

    def send(self, text: str) -> None:
        self.composer.fill(text)
        self.composer.press("Enter")

    def wait_idle(self, timeout: float = 10_000) -> None:
        """Wait until no answer is streaming."""
        expect(self.page.locator("#stop-button")).to_be_hidden(timeout=timeout)
        expect(self.page.locator(".msg.is-streaming")).to_have_count(0, timeout=timeout)

    def shot(self, name: str) -> Path:
        """Save a screenshot page-lang-width-theme.png after checking nothing sticks out sideways."""
        self.page.wait_for_timeout(250)  # let transitions (drawer, toast) settle
        overflow = int(self.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))
        assert overflow <= 0, f"{name}: {overflow} px too wide: {self.page.evaluate(OFFENDERS)}"
        path = self.shots / f"{name}-{self.lang}-{self.viewport['width']}-{self.theme}.png"
        self.page.screenshot(path=str(path))
        return path


def create_user(server: LiveServer, email: str, invite_code: str | None = None, lang: str = "zh-CN") -> User:
    """Register an account through core (no code needed without a notifier); its language is `lang`."""

    def make(services: Any) -> Any:
        settings = services.settings.model_copy(update=CHEAP_HASHING)
        return register_user(
            services.store,
            settings,
            None,
            email=email,
            password=PASSWORD,
            invite_code=invite_code,
            lang=lang,
            now=time.time(),
        )

    return server.call(make)


def seed_models(server: LiveServer, upstream: FakeUpstream, limits: dict[str, tuple[int, str]] | None = None) -> None:
    """Store three models served by the fake (the third outside the plan) and a free plan with `limits`."""
    limits = limits or {MODEL: (50, "3h"), "gpt-4o": (10, "1d")}
    names = {MODEL: "GPT-4o mini", "gpt-4o": "GPT-4o", "o1-pro": "o1 pro"}

    async def seed(services: Any) -> None:
        fake = Upstream(id="fake", base_url=upstream.base_url, keys=["sk-test"], name="fake")
        for position, (model_id, name) in enumerate(names.items()):
            model = Model(id=model_id, name=name, context_window=128_000, upstreams=[fake], position=position)
            await save_model(services.store, model)
        plan = Plan(name="free", title="Free", limits={m: Limit(n, window) for m, (n, window) in limits.items()})
        await save_plan(services.store, plan)

    server.call(seed)


@contextlib.contextmanager
def changed_settings(server: LiveServer, **changes: Any) -> Iterator[None]:
    """Run the live server with some settings changed (read per request: limits, titles, DOMAIN, the contact)."""
    services = server.services
    assert services is not None
    original = services.settings
    services.settings = original.model_copy(update=changes)
    try:
        yield
    finally:
        services.settings = original


def slow_network(tab: ChatTab, latency_ms: int = 1500) -> None:
    """Give every request of the tab `latency_ms` of network latency (Chromium's own emulation)."""
    session = tab.context.new_cdp_session(tab.page)
    session.send("Network.enable")
    session.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": latency_ms, "downloadThroughput": -1, "uploadThroughput": -1},
    )


def watch(tab: ChatTab) -> None:
    """Record console errors, page errors, JavaScript dialogs (none may ever open) and chat requests."""

    def console(message: Any) -> None:
        # Refused requests (a 429, a 401) are logged by Chromium as errors; the tests assert those themselves.
        if message.type == "error" and "Failed to load resource" not in message.text:
            tab.problems.append(f"{message.text} ({message.location.get('url', '')})")

    def dialog(opened: Any) -> None:
        tab.dialogs.append(f"{opened.type}: {opened.message}")
        opened.dismiss()

    tab.page.on("console", console)
    tab.page.on("pageerror", lambda error: tab.problems.append(f"page error: {error}"))
    tab.page.on("dialog", dialog)
    tab.page.on("request", lambda r: tab.chat_posts.append(r.post_data or "") if r.url.endswith("/api/chat") else None)


@pytest.fixture(scope="session")
def upstream(live_server: LiveServer) -> Iterator[ScriptedUpstream]:
    """The fake upstream, served on the live server's event loop for the whole session."""
    fake = ScriptedUpstream()
    live_server.call(lambda _services: fake.start())
    yield fake
    live_server.call(lambda _services: fake.stop())


@pytest.fixture
def chat_server(server: LiveServer, upstream: ScriptedUpstream) -> LiveServer:
    """The live server over an empty store, with the models pointing at a healthy fake upstream."""
    upstream.reset()
    seed_models(server, upstream)
    return server


@pytest.fixture
def open_chat(browser: Browser, chat_server: LiveServer, screenshot_dir: Path) -> Iterator[Callable[..., ChatTab]]:
    """`open_chat(lang, viewport, theme="light")` -> a ChatTab; every tab must end with no problems and no dialogs."""
    tabs: list[ChatTab] = []

    def make(lang: str, viewport: dict[str, int], theme: str = "light") -> ChatTab:
        context = browser.new_context(locale=LOCALES[lang], viewport=viewport, color_scheme=theme)  # type: ignore[arg-type]
        tab = ChatTab(chat_server, context, context.new_page(), lang, viewport, theme, screenshot_dir)
        watch(tab)
        tabs.append(tab)
        return tab

    yield make
    for tab in tabs:
        tab.context.close()
    for tab in tabs:
        assert tab.dialogs == [], f"a JavaScript dialog opened: {tab.dialogs}"
        assert tab.problems == [], tab.problems
