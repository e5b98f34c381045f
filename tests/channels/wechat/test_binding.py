"""Binding: "绑定 <code>" moves the follower's identity onto the web account that showed the code; from then on the
web account's history, usage and quota include what the follower does in WeChat."""

from __future__ import annotations

import httpx

from core.accounts.channel_identities import account_of, issue_bind_code
from core.chat.conversations import list_conversations
from tests.channels.wechat.conftest import WorldFactory
from tests.chat_support import MODEL, PASSWORD
from tests.fakes.openai_upstream import FakeUpstream, text_of


async def test_after_binding_the_web_account_counts_the_wechat_messages(
    wechat_world: WorldFactory, upstream: FakeUpstream
) -> None:
    world = await wechat_world()
    store, settings = world.store, world.settings
    assert (await world.fake.send_text("o-alice", "before binding")).reply == text_of(8).strip()
    web_app = world.fake.targets[0].removesuffix(settings.WECHAT_PATH)
    async with httpx.AsyncClient(base_url=web_app) as client:
        registered = await client.post("/api/auth/register", json={"email": "alice@example.com", "password": PASSWORD})
        assert registered.status_code == 201
        bearer = {"Authorization": f"Bearer {registered.json()['token']}"}
        web_id = registered.json()["user"]["id"]
        code = await issue_bind_code(store, settings, web_id)
        wrong = await world.fake.send_text("o-alice", "绑定 00000000")
        assert wrong.reply == "绑定码错误或已过期，请在网页的账户页面获取新的绑定码。"
        bound = await world.fake.send_text("o-alice", f"绑定 {code}")
        assert bound.reply == "已绑定网页账户 a***@example.com。对话记录、套餐和额度现在与网页共享。"
        owner = await account_of(store, "wechat", "o-alice")
        assert owner is not None and owner.id == web_id
        for words in ("after binding", "and again"):
            assert (await world.fake.send_text("o-alice", words)).reply == text_of(8).strip()
        usage = (await client.get("/api/usage?days=1", headers=bearer)).json()["days"]
        assert [(row["model"], row["requests"]) for row in usage] == [(MODEL, 2)]
        models = (await client.get("/api/models", headers=bearer)).json()["models"]
        assert [(m["id"], m["limit"], m["remaining"]) for m in models] == [(MODEL, 20, 18)]
    conversations = await list_conversations(store, web_id)
    assert [c.channel for c in conversations] == ["wechat"] and conversations[0].message_count == 6
    assert "剩余 18/20" in ((await world.fake.send_text("o-alice", "用量")).reply or "")  # one quota, both places
