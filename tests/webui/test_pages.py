"""The account pages: redirects, languages, security headers, no inline script, the data the scripts need."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
import quart
from quart import Quart
from quart import typing as quart_typing
from quart.testing import QuartClient

from core import errors
from core.i18n import normalize_language
from tests.webui.conftest import AuthActions, MakeApp
from web.i18n import pick_language
from web.requests import safe_next
from web.security import CONTENT_SECURITY_POLICY, apply_security_headers
from webui.messages import CATALOGUES, MESSAGES, translate

PAGES_SIGNED_OUT = ["/login", "/register", "/forgot", "/pricing"]
PAGES_SIGNED_IN = ["/account", "/forgot", "/pricing", "/pay/return?order=20260101000000ABCDEFGHJK"]
EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class PageParser(HTMLParser):
    """Collect what the CSP checks need: scripts, event-handler and style attributes, elements by id."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.script_bodies: list[str] = []
        self.inline_handlers: list[str] = []
        self.style_attributes: list[str] = []
        self.by_id: dict[str, dict[str, str | None]] = {}
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if attributes.get("id"):
            self.by_id[str(attributes["id"])] = {"tag": tag, **attributes}
        self.inline_handlers += [f"{tag}.{name}" for name in attributes if name.startswith("on")]
        if "style" in attributes and tag != "svg":
            self.style_attributes.append(tag)
        if tag == "style":
            self.style_attributes.append("<style>")
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = True
            self.script_bodies.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_bodies[-1] += data


async def fetch(
    client: QuartClient | quart_typing.TestClientProtocol, path: str, **kwargs: Any
) -> tuple[int, str, Any]:
    response = await client.get(path, **kwargs)
    return response.status_code, await response.get_data(as_text=True), response.headers


def parse(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    return parser


def assert_csp_clean(html: str) -> PageParser:
    """Every script is external or a JSON data block; no on*= handlers, no style attributes or elements."""
    page = parse(html)
    for attributes, body in zip(page.scripts, page.script_bodies, strict=True):
        if attributes.get("type") == "application/json":
            json.loads(body)
        else:
            assert attributes.get("src"), f"inline script: {body[:80]!r}"
            assert not body.strip()
    assert page.inline_handlers == []
    assert page.style_attributes == []
    return page


async def test_security_headers_on_pages_api_and_static(client: QuartClient) -> None:
    assert CONTENT_SECURITY_POLICY == EXPECTED_CSP
    for path in [*PAGES_SIGNED_OUT, "/api/me", "/static/css/app.css", "/no-such-page"]:
        response = await client.get(path)
        assert response.headers["Content-Security-Policy"] == EXPECTED_CSP, path
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in response.headers  # DOMAIN is http in tests


async def test_the_openai_api_answers_carry_only_the_non_document_security_headers(client: QuartClient) -> None:
    for response in (await client.get("/v1/models"), await client.post("/v1/chat/completions", json={})):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        for document_only in ("Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"):
            assert document_only not in response.headers
    response = quart.Response("x")
    assert apply_security_headers(response, https=True, api=True).headers["Strict-Transport-Security"]


def test_a_header_the_handler_set_is_kept_once_whatever_its_case() -> None:
    response = quart.Response("x", headers={"x-frame-options": "SAMEORIGIN"})
    headers = apply_security_headers(response, https=True).headers
    assert headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Strict-Transport-Security"].startswith("max-age")


async def test_https_domain_adds_hsts(make_app: MakeApp) -> None:
    app = await make_app(DOMAIN="https://chat.example.com")
    response = await app.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


async def test_signed_out_pages_render_without_inline_script(client: QuartClient) -> None:
    for path in PAGES_SIGNED_OUT:
        status, html, headers = await fetch(client, path)
        assert status == 200, path
        assert headers["Cache-Control"] == "no-store"
        page = assert_csp_clean(html)
        labelled = {str(a.get("for")) for tag, a in page.tags if tag == "label"}
        inputs = [a for tag, a in page.tags if tag in ("input", "select") and a.get("type") not in ("radio",)]
        for attributes in inputs:
            hidden_helper = "sr-only" in str(attributes.get("class"))
            assert hidden_helper or attributes.get("id") in labelled, f"{path}: unlabelled {attributes}"


async def test_signed_out_users_are_sent_to_sign_in(client: QuartClient) -> None:
    response = await client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    response = await client.get("/account")
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=%2Faccount"


async def test_default_language_is_chinese_and_title_comes_from_settings(make_app: MakeApp) -> None:
    app = await make_app(NEXT_PUBLIC_TITLE="Gate Test")
    status, html, _ = await fetch(app.test_client(), "/login")
    assert status == 200
    assert '<html lang="zh-CN" ' in html
    assert "<title>登录 · Gate Test</title>" in html
    page = parse(html)
    catalogue = json.loads(page.script_bodies[0])
    assert catalogue["lang"] == "zh-CN" and catalogue["messages"]["code.send"] == "发送验证码"


async def test_language_from_accept_language_cookie_and_switcher(client: QuartClient) -> None:
    _, html, _ = await fetch(client, "/login", headers={"Accept-Language": "en-US,en;q=0.9,zh;q=0.5"})
    assert '<html lang="en" ' in html and ">Sign in</h1>" in html
    response = await client.get("/lang/zh-CN?next=/register%3Fcode%3DABC")
    assert response.status_code == 302 and response.headers["Location"] == "/register?code=ABC"
    assert "cg_lang=zh-CN" in response.headers["Set-Cookie"]
    _, html, _ = await fetch(client, "/login", headers={"Accept-Language": "en-US"})
    assert '<html lang="zh-CN" ' in html, "the cookie outranks Accept-Language"
    bad = await client.get("/lang/fr?next=https://evil.example/")
    assert bad.headers["Location"] == "/" and "Set-Cookie" not in bad.headers


async def test_signed_in_users_language_beats_accept_language(client: QuartClient, auth: AuthActions) -> None:
    await auth.register("lang@example.com", lang="en")
    _, html, _ = await fetch(client, "/account", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en" ' in html and ">Account</h1>" in html
    _, html, _ = await fetch(client, "/forgot", headers={"Accept-Language": "zh-CN"})  # no user lookup of its own
    assert '<html lang="en" ' in html


async def test_switcher_links_point_back_to_the_current_page(client: QuartClient) -> None:
    _, html, _ = await fetch(client, "/register?code=XYZ")
    assert 'href="/lang/en?next=/register%3Fcode%3DXYZ"' in html


async def test_register_page_prefills_invite_and_never_submits_with_send_code(client: QuartClient) -> None:
    _, html, _ = await fetch(client, "/register?code=INVITE42")
    page = parse(html)
    assert page.by_id["register-invite"]["value"] == "INVITE42"
    send = [a for tag, a in page.tags if tag == "button" and "data-send-code" in a]
    assert send and all(a["type"] == "button" for a in send)
    form = page.by_id["register-form"]
    assert form["data-code-email"] == "false" and form["data-code-phone"] == "false"


async def test_code_is_required_when_a_provider_is_configured(make_app: MakeApp) -> None:
    app = await make_app(NEXT_PUBLIC_EMAIL_SERVICE="smtp", SMTP_HOST="127.0.0.1")
    client = app.test_client()
    page = parse((await fetch(client, "/register"))[1])
    assert page.by_id["register-form"]["data-code-email"] == "true"
    assert page.by_id["register-form"]["data-code-phone"] == "false"
    login = parse((await fetch(client, "/login"))[1])
    assert "login-method-code" in login.by_id and "login-code" in login.by_id
    assert "forgot-form" in parse((await fetch(client, "/forgot"))[1]).by_id


async def test_without_providers_there_is_no_code_sign_in_or_reset(client: QuartClient) -> None:
    _, html, _ = await fetch(client, "/login")
    login = parse(html)
    assert "login-method-code" not in login.by_id and "login-code" not in login.by_id
    assert 'href="/forgot"' not in html  # no "Forgot password?" that leads nowhere
    _, html, _ = await fetch(client, "/forgot")
    assert "forgot-form" not in parse(html).by_id and translate("zh-CN", "forgot.no_reset") in html


@pytest.mark.parametrize(
    ("contact", "link"),
    [("help@example.com", "mailto:help@example.com"), ("https://example.com/help", "https://example.com/help"),
     ("微信 chatgate-help", None)],
)  # fmt: skip
async def test_without_providers_forgot_shows_the_operators_contact(
    make_app: MakeApp, contact: str, link: str | None
) -> None:
    client = (await make_app(SUPPORT_CONTACT=contact)).test_client()
    assert 'href="/forgot"' in (await fetch(client, "/login"))[1]
    _, html, _ = await fetch(client, "/forgot")
    box = parse(html).by_id["forgot-contact"]
    assert box["class"] == "notice notice-warning" and contact in html
    assert translate("zh-CN", "forgot.contact") in html
    assert (f'href="{link}"' in html) if link else "mailto:" not in html


async def test_wechat_account_is_shown_only_when_set(make_app: MakeApp, client: QuartClient) -> None:
    assert "公众号" not in (await fetch(client, "/login"))[1]
    app = await make_app(NEXT_PUBLIC_WECHAT_OA="ChatGate助手")
    _, html, _ = await fetch(app.test_client(), "/login")
    assert "遇到问题？关注公众号：ChatGate助手" in html


async def test_signed_in_pages(client: QuartClient, auth: AuthActions, app: Quart) -> None:
    await auth.register("bob@example.com", name="Bob")
    response = await client.get("/login?next=/account")
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    for path in PAGES_SIGNED_IN:
        status, html, _ = await fetch(client, path)
        assert status == 200, path
        page = assert_csp_clean(html)
        assert [a["content"] for tag, a in page.tags if tag == "meta" and a.get("name") == "csrf-token"] == [
            auth.csrf_token
        ]
    _, html, _ = await fetch(client, "/account")
    assert app.extensions["services"].settings.DOMAIN == ""  # unset: links follow the host the page was asked on
    invite = auth.user["invite_code"]
    assert parse(html).by_id["invite-link"]["value"] == f"http://localhost/register?code={invite}"
    assert "http://localhost/v1" in html
    _, html, _ = await fetch(client, "/account", headers={"Host": "chat.example.org:8443"})
    assert parse(html).by_id["invite-link"]["value"] == f"http://chat.example.org:8443/register?code={invite}"
    assert "http://chat.example.org:8443/v1" in html and "localhost" not in html


async def test_static_assets_are_versioned(client: QuartClient) -> None:
    _, html, _ = await fetch(client, "/login")
    urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert any(url.startswith("/static/js/api.js?v=") for url in urls)
    for url in urls:
        response = await client.get(url)
        assert response.status_code == 200, url


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/account", "/account"),
        ("/register?code=A", "/register?code=A"),
        (None, "/"),
        ("", "/"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("account", "/"),
        ("/a\nb", "/"),
    ],
)
def test_safe_next(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_pick_language_order() -> None:
    assert pick_language("en", "zh-CN", ["zh"], "zh-CN") == "en"
    assert pick_language(None, "en", ["zh-CN"], "zh-CN") == "en"
    assert pick_language("fr", "", ["fr-FR", "en-GB"], "zh-CN") == "en"
    assert pick_language(None, None, ["de"], "en") == "en"
    assert pick_language(None, None, [], "zh-CN") == "zh-CN"
    assert normalize_language("zh-Hant-TW") == "zh-CN" and normalize_language("EN_us") == "en"
    assert normalize_language("english") is None


def test_catalogues_are_complete_and_placeholders_agree() -> None:
    assert set(CATALOGUES["zh-CN"]) == set(CATALOGUES["en"]) == set(MESSAGES)
    for key, (zh, en) in MESSAGES.items():
        assert zh.strip() and en.strip(), key
        assert set(re.findall(r"\{(\w+)\}", zh)) == set(re.findall(r"\{(\w+)\}", en)), key
    assert translate("en", "code.resend_in", seconds=42) == "Resend in 42s"
    assert translate("en", "no.such.key") == "no.such.key"


def _error_codes(cls: type[errors.CoreError]) -> set[str]:
    codes = {cls.code}
    for subclass in cls.__subclasses__():
        codes |= _error_codes(subclass)
    return codes


def test_every_error_code_is_translated() -> None:
    missing = sorted(code for code in _error_codes(errors.CoreError) if f"error.{code}" not in MESSAGES)
    assert missing == [], f"add error.<code> lines to core/i18n.py for {missing}"
