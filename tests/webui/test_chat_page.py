"""The chat page shell: who gets it, the CSP rules, its assets (served, versioned, and at most 200 KB gzipped on
first load), and the translations its scripts use (every key exists in both languages)."""

from __future__ import annotations

import gzip
import json
import re
from html.parser import HTMLParser
from pathlib import Path

from tests.webui.conftest import AuthActions, Client
from tests.webui.test_pages import assert_csp_clean
from web.i18n import SUPPORTED_LANGUAGES
from webui.chat_features_messages import CHAT_FEATURE_MESSAGES
from webui.chat_messages import CHAT_MESSAGES
from webui.chat_page import CHAT_SCRIPTS, CHAT_STYLESHEETS, display_name
from webui.messages import CATALOGUES

FIRST_LOAD_BUDGET = 200 * 1024  # bytes, gzip-compressed: the limit for the chat page's first load
STATIC = Path(__file__).resolve().parents[2] / "webui" / "static"
TEMPLATE = STATIC.parent / "templates" / "chat.html"
# Keys built at run time from a prefix + a known set of names.
DYNAMIC_KEYS = {
    "chat.group.": ["today", "yesterday", "week", "month", "older"],
    "chat.window.": [f"{unit}{one}" for unit in "smhdw" for one in ("", ".one")],
    "chat.theme.": ["system", "light", "dark"],
    "chat.suggest.": [f"{name}.{part}" for name in ("explain", "write", "code", "translate") for part in
                      ("title", "text", "prompt")],
}  # fmt: skip


class AssetParser(HTMLParser):
    """Collect what a browser fetches on first load: stylesheets, scripts and icons."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and attributes.get("src"):
            self.urls.append(str(attributes["src"]))
        if tag == "link" and attributes.get("rel") in ("stylesheet", "icon") and attributes.get("href"):
            self.urls.append(str(attributes["href"]))


async def chat_html(client: Client, auth: AuthActions, **headers: str) -> str:
    await auth.register("reader@example.com", name="Reader")
    response = await client.get("/", headers=headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return await response.get_data(as_text=True)


async def test_signed_out_visitors_are_sent_to_sign_in(client: Client) -> None:
    response = await client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/login"


async def test_the_page_obeys_the_csp_and_greets_the_user(client: Client, auth: AuthActions) -> None:
    html = await chat_html(client, auth)
    page = assert_csp_clean(html)
    for element in ["composer-input", "conv-search", "model-button", "notice-dialog", "presets-dialog", "sidebar"]:
        assert element in page.by_id, element
    assert "你好，Reader" in html
    assert page.by_id["drawer-open"]["aria-controls"] == "sidebar"
    assert page.by_id["composer-input"]["enterkeyhint"] == "send"
    catalogue = json.loads(page.script_bodies[0])
    assert catalogue["messages"]["chat.err.quota_title"] == CHAT_MESSAGES["chat.err.quota_title"][0]


async def test_english_page(client: Client, auth: AuthActions) -> None:
    html = await chat_html(client, auth, **{"Accept-Language": "en"})
    assert '<html lang="zh-CN" ' in html  # the account's own language (zh-CN by default) outranks the browser
    response = await client.get("/lang/en?next=/")
    assert response.headers["Location"] == "/"
    html = await (await client.get("/")).get_data(as_text=True)
    assert '<html lang="en" ' in html and "Hello, Reader" in html and "How can I help you today?" in html


async def test_first_load_is_at_most_200_kb_compressed(client: Client, auth: AuthActions) -> None:
    await auth.register("reader@example.com", name="Reader")
    gzip_ok = {"Accept-Encoding": "gzip, deflate, br"}  # what a browser sends: the bytes counted are those served
    page = await client.get("/", headers=gzip_ok)
    assert page.headers["Content-Encoding"] == "gzip"
    sizes = {"/": len(await page.get_data(as_text=False))}
    html = gzip.decompress(await page.get_data(as_text=False)).decode()
    parser = AssetParser()
    parser.feed(html)
    for url in parser.urls:
        assert re.search(r"\?v=[0-9a-f]{10}$", url), f"unversioned asset {url}"
        response = await client.get(url, headers=gzip_ok)
        assert response.status_code == 200, url
        served = await response.get_data(as_text=False)
        if response.headers.get("Content-Encoding") != "gzip":
            assert len(served) < 1024 or not response.mimetype.startswith("text/"), url  # small or binary
        sizes[url] = len(served)
    for name in [*CHAT_SCRIPTS, *(file for file, _media in CHAT_STYLESHEETS)]:
        assert any(url.startswith(f"/static/{name}?") for url in parser.urls), f"{name} is not loaded"
    total = sum(sizes.values())
    print(f"chat page first load: {total / 1024:.1f} KB gzipped over {len(sizes)} files")
    assert total <= FIRST_LOAD_BUDGET, sorted(sizes.items(), key=lambda item: -item[1])[:5]


def test_every_chat_key_is_translated_with_the_same_placeholders() -> None:
    assert not set(CHAT_MESSAGES) & set(CHAT_FEATURE_MESSAGES)
    for key, texts in {**CHAT_MESSAGES, **CHAT_FEATURE_MESSAGES}.items():
        assert key.startswith("chat."), key
        assert len(texts) == len(SUPPORTED_LANGUAGES) and all(text.strip() for text in texts), key
        placeholders = [sorted(re.findall(r"\{(\w+)\}", text)) for text in texts]
        assert all(found == placeholders[0] for found in placeholders), f"{key}: {placeholders}"
        for lang in SUPPORTED_LANGUAGES:
            assert key in CATALOGUES[lang]


def test_every_key_the_page_uses_exists() -> None:
    sources = [TEMPLATE.read_text(encoding="utf-8")]
    sources += [path.read_text(encoding="utf-8") for path in sorted((STATIC / "js" / "chat").glob("*.js"))]
    used: set[str] = set()
    for source in sources:
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+(?:\.[a-z_]+)+)["']""", source))
        used |= set(re.findall(r"""["']((?:chat|common|nav|validate|error)\.[a-z_.]+[a-z_])["']""", source))
    used |= {prefix + name for prefix, names in DYNAMIC_KEYS.items() for name in names}
    missing = sorted(key for key in used if key not in CATALOGUES["en"])
    assert missing == [], missing
    assert len(used) > 100


def test_display_name() -> None:
    assert display_name("Ann", "a@example.com", "") == "Ann"
    assert display_name("", "bob.smith@example.com", "") == "bob.smith"
    assert display_name(None, None, "+8613800138000") == "+8613800138000"


def test_every_listed_asset_exists() -> None:
    for name in [*CHAT_SCRIPTS, *(file for file, _media in CHAT_STYLESHEETS)]:
        assert (STATIC / name).is_file(), name
    assert sorted(path.name for path in (STATIC / "js" / "chat").glob("*.js")) == sorted(
        Path(name).name for name in CHAT_SCRIPTS if name.startswith("js/chat/")
    ), "a chat script is not loaded by the page"
