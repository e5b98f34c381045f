"""Dead ends: a browser opening an unknown page (or a failing one) gets a page in its language with a way back;
the JSON APIs keep answering JSON. The account page sums up the plan and quota and leads back to the chat."""

from __future__ import annotations

import time

import pytest
from quart import Quart

from core.billing.quotas import consume_quota
from core.store.connection import Store
from tests.chat_support import MODEL, add_model, set_plan
from tests.fakes.openai_upstream import FakeUpstream
from tests.webui.conftest import AuthActions, MakeApp
from tests.webui.test_pages import assert_csp_clean, parse

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


# (/pricing was such a page until the payments issue; any unknown page will do.)
@pytest.mark.parametrize("path", ["/no-such-page", "/no/such/page", "/static/nope.js"])
async def test_an_unknown_page_is_a_page_in_the_users_language(app: Quart, path: str) -> None:
    client = app.test_client()
    response = await client.get(path, headers=HTML)
    html = await response.get_data(as_text=True)
    assert response.status_code == 404 and response.mimetype == "text/html"
    page = assert_csp_clean(html)
    assert '<html lang="zh-CN"' in html and "找不到这个页面" in html
    assert [a["href"] for tag, a in page.tags if tag == "a" and "btn-primary" in a.get("class", "")] == ["/"]
    english = await client.get(path, headers={**HTML, "Accept-Language": "en-US,en;q=0.9"})
    assert "This page does not exist" in await english.get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/api/nope", HTML),
        ("GET", "/v1/nope", HTML),
        ("POST", "/no-such-page", HTML),
        ("GET", "/no-such-page", {}),
    ],
)
async def test_apis_and_non_browsers_keep_json(app: Quart, method: str, path: str, headers: dict[str, str]) -> None:
    response = await app.test_client().open(path, method=method, headers=headers)
    assert response.status_code in (404, 405) and response.mimetype == "application/json"


async def test_a_failing_page_says_so_and_offers_a_retry(make_app: MakeApp) -> None:
    app = await make_app()

    async def broken() -> str:
        raise RuntimeError("boom")

    app.add_url_rule("/broken", "broken", broken)
    app.add_url_rule("/api/broken", "api_broken", broken)
    client = app.test_client()
    page = await client.get("/broken?x=1", headers={**HTML, "Accept-Language": "en"})
    html = await page.get_data(as_text=True)
    assert page.status_code == 500 and "Something went wrong" in html and "boom" not in html
    assert parse(html).tags and 'href="/broken?x=1"' in html
    api = await client.get("/api/broken", headers=HTML)
    assert api.status_code == 500 and (await api.get_json())["error"]["code"] == "internal_error"


async def test_the_account_page_sums_up_the_plan_and_leads_back_to_the_chat(auth: AuthActions, store: Store) -> None:
    async with FakeUpstream() as fake:
        await add_model(store, [fake])
        await add_model(store, [fake], model_id="gpt-4o")
        plan = await set_plan(store, {MODEL: (2, "3h"), "gpt-4o": (1, "1d")})
        await auth.register("plan@example.com")
        await consume_quota(store, auth.user["id"], plan, "gpt-4o", time.time())
        html = await (await auth.client.get("/account")).get_data(as_text=True)
    page = parse(html)
    assert "plan" in page.by_id and "Free 套餐" in html
    assert "剩余 2/2 次 · 每 3 小时" in html and "已用完 · 24 小时后恢复" in html  # gpt-4o: its 1 a day is used
    assert "发送、重新生成和编辑消息各计一次。" in html
    links = [a.get("href") for tag, a in page.tags if tag == "a"]
    assert "/pricing" in links and links.count("/") >= 2  # the brand, "Chat" in the top bar, "Back to chat"
