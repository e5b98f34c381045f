"""The web API and pages of the chat's round two: per-chat settings and model, versions, JSON export, share links
and their public page, masks, preferences, written titles, pictures, limits, and the chat page's own states."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from core.accounts.preferences import get_preferences
from core.relay.catalogue import save_model
from core.store.connection import Store
from tests.chat_support import add_model
from tests.core.chat.test_turns_round_two import data_url, png
from tests.fakes.openai_upstream import Behaviour, FakeUpstream, text_of
from tests.webui.conftest import MakeApp
from tests.webui.test_api_chat import Chatter, make_chatter
from tests.webui.test_pages import assert_csp_clean, parse

HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
async def fake() -> Any:
    async with FakeUpstream() as upstream:
        yield upstream


async def share(chatter: Chatter, cid: str) -> dict[str, Any]:
    response = await chatter.client.post(f"/api/conversations/{cid}/share", headers=chatter.auth.headers)
    data: dict[str, Any] = await response.get_json()
    return data


async def first_chat(chatter: Chatter, **body: Any) -> str:
    events = await chatter.events(content="Bake bread", **body)
    return str(events[0]["conversation_id"])


async def test_a_chats_model_and_settings_are_changed_and_checked(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    chatter = await make_chatter(make_app, store, fake)
    await add_model(store, [fake], model_id="gpt-4o")
    settings = {"system": "Be brief.", "system_name": "Brief", "temperature": 0.5, "max_tokens": 300,
                "context_messages": 4}  # fmt: skip
    cid = await first_chat(chatter, settings=settings)
    conversation = (await chatter.conversation(cid))["conversation"]
    assert conversation["settings"] == settings and conversation["title_source"] == "auto"
    assert fake.chat_requests[-1].body["temperature"] == 0.5

    path = f"/api/conversations/{cid}"
    changed = await chatter.client.patch(path, json={"model": "gpt-4o", "settings": {"temperature": 1}},
                                         headers=chatter.auth.headers)  # fmt: skip
    body = await changed.get_json()
    assert changed.status_code == 200 and body["model"] == "gpt-4o"
    assert body["settings"] == {"system": "", "system_name": "", "temperature": 1.0, "max_tokens": None,
                                "context_messages": None}  # fmt: skip
    for bad, status, code in (
        ({"model": "nope"}, 404, "model_not_found"),
        ({"settings": {"temperature": 3}}, 400, "invalid_input"),
        ({"settings": {"system": "x" * 32_001}}, 400, "message_too_long"),
        ({}, 400, "invalid_input"),
    ):
        response = await chatter.client.patch(path, json=bad, headers=chatter.auth.headers)
        assert (response.status_code, (await response.get_json())["error"]["code"]) == (status, code), bad
    assert (await chatter.conversation(cid))["conversation"]["model"] == "gpt-4o"  # the refused changes left it


async def test_versions_of_an_edited_question_are_listed_and_flipped(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    chatter = await make_chatter(make_app, store, fake)
    cid = await first_chat(chatter)
    first = (await chatter.conversation(cid))["messages"][0]
    await chatter.events(action="edit", conversation_id=cid, message_id=first["id"], content="Bake rye bread")
    messages = (await chatter.conversation(cid))["messages"]
    assert messages[0]["versions"] == {"index": 1, "count": 2} and messages[0]["content"] == "Bake rye bread"
    path = f"/api/conversations/{cid}/versions"
    flipped = await chatter.client.post(path, json={"group": messages[0]["group"], "index": 0},
                                        headers=chatter.auth.headers)  # fmt: skip
    shown = (await flipped.get_json())["messages"]
    assert [m["content"] for m in shown] == ["Bake bread", text_of(8)] and shown[0]["versions"]["index"] == 0
    missing = await chatter.client.post(path, json={"group": "nope", "index": 0}, headers=chatter.auth.headers)
    assert missing.status_code == 404


async def test_export_as_json(make_app: MakeApp, store: Store, fake: FakeUpstream) -> None:
    chatter = await make_chatter(make_app, store, fake)
    cid = await first_chat(chatter)
    response = await chatter.client.get(f"/api/conversations/{cid}/export?format=json")
    assert response.headers["Content-Type"].startswith("application/json")
    assert 'filename="Bake-bread.json"' in response.headers["Content-Disposition"]
    data = json.loads(await response.get_data())
    assert data["conversation"]["id"] == cid
    assert [(m["role"], m["content"]) for m in data["messages"]] == [("user", "Bake bread"), ("assistant", text_of(8))]
    assert data["messages"][1]["tokens"] == 8
    bad = await chatter.client.get(f"/api/conversations/{cid}/export?format=pdf")
    assert bad.status_code == 400


async def test_a_share_link_shows_a_read_only_page_without_account_data(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    chatter = await make_chatter(make_app, store, fake)
    cid = await first_chat(chatter, system="secret system words")
    shared = await share(chatter, cid)
    assert shared["url"] == f"http://localhost/s/{shared['id']}"  # DOMAIN unset: the host the request came to
    visitor = chatter.client.app.test_client()
    page = await visitor.get(f"/s/{shared['id']}", headers=HTML)
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["X-Robots-Tag"].startswith("noindex")
    robots = [a for tag, a in parse(html).tags if tag == "meta" and a.get("name") == "robots"]
    assert robots and robots[0]["content"].startswith("noindex")
    assert_csp_clean(html)
    assert "Bake bread" in html and text_of(8).strip() in html
    for private in ("alice@example.com", "secret system words", chatter.auth.csrf_token):
        assert private not in html
    revoked = await chatter.client.delete(f"/api/conversations/{cid}/share", headers=chatter.auth.headers)
    assert (await revoked.get_json()) == {"ok": True}
    gone = await visitor.get(f"/s/{shared['id']}", headers=HTML)
    assert gone.status_code == 404 and "找不到这个页面" in await gone.get_data(as_text=True)


async def test_pictures_are_kept_and_served_to_their_owner_and_through_a_share(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    chatter = await make_chatter(make_app, store, fake)
    model = await add_model(store, [fake])
    model.input_types = ["text", "image"]
    await save_model(store, model)
    models = await (await chatter.client.get("/api/models")).get_json()
    assert models["models"][0]["input_types"] == ["text", "image"]
    cid = await first_chat(chatter, images=[data_url(png())])
    question = (await chatter.conversation(cid))["messages"][0]
    path = f"/api/conversations/{cid}/images/{question['images'][0]}"
    image = await chatter.client.get(path)
    assert image.status_code == 200 and image.mimetype == "image/png" and await image.get_data() == png()
    assert (await chatter.client.app.test_client().get(path)).status_code == 401
    shared = await share(chatter, cid)
    public = await chatter.client.app.test_client().get(f"/s/{shared['id']}/images/{question['images'][0]}")
    assert public.status_code == 200 and await public.get_data() == png()
    refused = await chatter.post(content="Look", images=["data:image/png;base64," + base64.b64encode(b"no").decode()])
    assert refused.status_code == 400 and (await refused.get_json())["error"]["field"] == "images[0]"


async def test_limits_and_refusals_say_why(make_app: MakeApp, store: Store, fake: FakeUpstream) -> None:
    chatter = await make_chatter(make_app, store, fake, MAX_BODY_BYTES=200_000)
    response = await chatter.post(content="x" * 38_000)
    error = (await response.get_json())["error"]
    assert response.status_code == 400
    assert (error["code"], error["max"], error["length"], error["field"]) == ("message_too_long", 32_000, 38_000,
                                                                            "content")  # fmt: skip
    too_big = await chatter.post(content="hi", images=[data_url(b"\x89PNG\r\n\x1a\n" + b"0" * 200_000)])
    assert too_big.status_code == 413 and (await too_big.get_json())["error"]["code"] == "payload_too_large"
    assert fake.chat_requests == []


async def test_a_title_is_written_on_request_once(make_app: MakeApp, store: Store, fake: FakeUpstream) -> None:
    chatter = await make_chatter(make_app, store, fake)
    cid = await first_chat(chatter)
    fake.behaviour = Behaviour(pieces=("Bread", " at home"))
    titled = await chatter.client.post(f"/api/conversations/{cid}/title", headers=chatter.auth.headers)
    assert (await titled.get_json())["title"] == "Bread at home"
    models = await (await chatter.client.get("/api/models")).get_json()
    assert models["models"][0]["remaining"] == 9  # the title was free: one message used, by the question
    no_csrf = await chatter.client.post(f"/api/conversations/{cid}/title")
    assert no_csrf.status_code == 403


async def test_masks_preferences_and_the_chat_page_states(make_app: MakeApp, store: Store, fake: FakeUpstream) -> None:
    chatter = await make_chatter(make_app, store, fake)
    zh = (await (await chatter.client.get("/api/masks")).get_json())["masks"]
    en = (await (await chatter.client.get("/api/masks", headers={"Accept-Language": "en"})).get_json())["masks"]
    assert len(zh) >= 10 and zh[0]["name"] == "翻译助手" and all(mask["builtin"] for mask in zh)
    await chatter.client.patch("/api/account", json={"lang": "en"}, headers=chatter.auth.headers)
    en = (await (await chatter.client.get("/api/masks")).get_json())["masks"]
    assert en[0]["name"] == "Translator" and [m["id"] for m in en] == [m["id"] for m in zh]

    assert (await (await chatter.client.get("/api/preferences")).get_json()) == {"theme": "system"}
    dark = await chatter.client.patch("/api/preferences", json={"theme": "dark"}, headers=chatter.auth.headers)
    assert (await dark.get_json()) == {"theme": "dark"} and "cg_theme=dark" in dark.headers["Set-Cookie"]
    assert (await get_preferences(store, chatter.auth.user["id"])).theme == "dark"
    bad = await chatter.client.patch("/api/preferences", json={"theme": "pink"}, headers=chatter.auth.headers)
    assert bad.status_code == 400
    html = await (await chatter.client.get("/")).get_data(as_text=True)
    page = assert_csp_clean(html)
    assert 'data-theme="dark"' in html and page.by_id["hljs-dark"].get("media") is None  # the dark code colours
    assert page.by_id["hljs-light"]["media"] == "not all"
    assert "hidden" in page.by_id["thread-skeleton"] and "hidden" not in page.by_id["empty-state"]
    opening = parse(await (await chatter.client.get("/?c=abc123")).get_data(as_text=True))
    assert "hidden" not in opening.by_id["thread-skeleton"] and "hidden" in opening.by_id["empty-state"]
    config = json.loads(next(body for attrs, body in zip(opening.scripts, opening.script_bodies, strict=True)
                             if attrs.get("id") == "chat-config"))  # fmt: skip
    assert config["message_max_chars"] == 32_000 and config["assets"]["katex_js"].startswith("/static/vendor/katex/")
    frame = await chatter.client.get(config["assets"]["mermaid_frame"])
    assert frame.headers["X-Frame-Options"] == "SAMEORIGIN"
    policy = frame.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy and "script-src 'self'" in policy and "unsafe-eval" not in policy
