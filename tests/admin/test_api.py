"""The dashboard's JSON API, section by section, with the bad input each refuses (a clear error, nothing changed)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from core.accounts.registration import register_user
from core.billing.plans import ensure_free_plan
from core.billing.usage import record_usage
from core.moderation.log import log_block
from core.moderation.verdicts import Verdict
from core.services import Services
from core.settings import Settings
from tests.admin.conftest import Dash
from tests.fakes.openai_upstream import FakeUpstream
from webui import create_app

KEY = "sk-upstream-key-0123456789"


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream(keys={KEY}) as server:
        yield server


def pro(**changes: object) -> dict[str, object]:
    return {"name": "pro", "title": "Pro", "prices": {"monthly": 2990},
            "limits": {"gpt-4o-mini": {"limit": 50, "window": "3h"}}, **changes}  # fmt: skip


async def test_users_search_detail_and_actions(dash: Dash, services: Services, settings: Settings) -> None:
    user = await register_user(services.store, settings, None, email="wang@example.com", password="pw 12345678",
                               name="Wang", now=time.time())  # fmt: skip
    await record_usage(services.store, user.id, "gpt-4o-mini", 10, 20, time.time())
    await dash.call("POST", "/api/plans", pro(), status=201)
    found = await dash.get("/api/users?q=wan")
    assert [u["id"] for u in found["users"]] == [user.id] and "password_hash" not in found["users"][0]
    assert [u["id"] for u in (await dash.get("/api/users?sort=active"))["users"]] == [user.id]
    await dash.call("POST", f"/api/users/{user.id}/grant", {"plan": "pro", "days": 7})
    await dash.call("POST", f"/api/users/{user.id}/reset-chances", {"add": 2})
    await dash.call("POST", f"/api/users/{user.id}/block", {"blocked": True})
    detail = await dash.get(f"/api/users/{user.id}")
    assert detail["plan"]["name"] == "pro" and detail["user"]["blocked"] and detail["user"]["reset_chances"] == 2
    assert detail["usage"][0]["prompt_tokens"] == 10 and detail["orders"] == [] and detail["channels"] == {}
    for path, body in [(f"/api/users/{user.id}/grant", {"plan": "pro", "days": "7"}),
                       (f"/api/users/{user.id}/grant", {"plan": "pro", "days": 0}),
                       (f"/api/users/{user.id}/reset-chances", {"add": 0}),
                       (f"/api/users/{user.id}/block", {"blocked": "yes"})]:  # fmt: skip
        error = await dash.call("POST", path, body, status=400)
        assert error["error"]["code"] == "invalid_input" and error["error"]["field"]
    assert (await dash.get("/api/users/999", status=404))["error"]["code"] == "not_found"
    assert (await dash.call("DELETE", f"/api/users/{user.id}"))["ok"]
    assert (await dash.get("/api/users?q=wang"))["users"] == []


async def test_plans(dash: Dash, services: Services) -> None:
    await ensure_free_plan(services.store, ["gpt-4o-mini"])
    created = await dash.call("POST", "/api/plans", pro(), status=201)
    assert created["subscribers"] == 0 and created["prices"] == {"monthly": 2990}
    assert (await dash.call("POST", "/api/plans", pro(), status=409))["error"]["code"] == "already_exists"
    bad_cases = [pro(prices={"monthly": -100}), pro(limits={"gpt-4o-mini": {"limit": 5, "window": "3 fortnights"}}),
                 pro(name="x y"), pro(prices={"monthly": 29.9})]  # fmt: skip
    for bad in bad_cases:
        error = await dash.call("PUT", "/api/plans/pro", bad, status=400)
        assert error["error"]["code"] == "invalid_input"
    assert "window" in (await dash.call("PUT", "/api/plans/pro", bad_cases[1], status=400))["error"]["message"]
    listed = {plan["name"]: plan for plan in (await dash.get("/api/plans"))["plans"]}
    assert listed["pro"]["title"] == "Pro" and listed["pro"]["prices"] == {"monthly": 2990}  # nothing changed
    await dash.call("PUT", "/api/plans/pro", pro(hidden=True, position=3))
    assert (await dash.call("DELETE", "/api/plans/free", status=403))["error"]["code"] == "forbidden"
    await dash.call("POST", "/api/users/1/grant", {"plan": "pro", "days": 1})  # the admin itself holds pro now
    assert (await dash.call("DELETE", "/api/plans/pro", status=409))["error"]["code"] == "in_use"


async def test_announcement(dash: Dash) -> None:
    assert (await dash.get("/api/notice"))["notice"] is None
    first = (await dash.call("PUT", "/api/notice", {"markdown": "# Hello"}))["notice"]
    second = (await dash.call("PUT", "/api/notice", {"markdown": "# Again"}))["notice"]
    assert (first["version"], second["version"]) == (1, 2)
    assert (await dash.call("PUT", "/api/notice", {"markdown": "  "}, status=400))["error"]["field"] == "markdown"
    await dash.call("DELETE", "/api/notice")
    assert (await dash.get("/api/notice"))["notice"] is None


async def test_models_and_upstreams(dash: Dash, services: Services, fake: FakeUpstream) -> None:
    upstream = {"id": "relay", "name": "Relay", "base_url": fake.base_url, "keys": [KEY], "priority": 1}
    created = await dash.call("POST", "/api/upstreams", upstream, status=201)
    assert created["keys"] == ["sk-...6789"]
    model = {"id": "gpt-4o-mini", "name": "Mini", "upstreams": ["relay"], "input_price": 108, "output_price": 432}
    assert (await dash.call("POST", "/api/models", model, status=201))["upstreams"] == ["relay"]
    assert (await dash.call("POST", "/api/upstreams/relay/test", {}))["ok"] is True
    listed = (await dash.get("/api/upstreams"))["upstreams"][0]
    assert listed["models"] == ["gpt-4o-mini"] and listed["keys"] == ["sk-...6789"]
    error = await dash.call("PUT", "/api/upstreams/relay", {"keys": ["has a space in it"]}, status=400)
    assert error["error"]["field"] == "keys"
    assert (await dash.call("PUT", "/api/models/gpt-4o-mini", {"input_price": -5}, status=400))["error"]["field"]
    assert (await dash.call("DELETE", "/api/upstreams/relay", status=409))["error"]["code"] == "in_use"
    models = (await dash.get("/api/models"))["models"]
    assert abs(models[0].pop("created") - services.clock()) < 60  # when it was added: /v1/models shows it
    assert models == [
        {
            **model,
            "context_window": 128_000,
            "upstream_model": "",
            "enabled": True,
            "position": 0,
            "input_types": ["text"],
            "serves": ["chat"],
        }
    ]
    served = await dash.call("PUT", "/api/models/gpt-4o-mini", {"serves": ["embeddings"]})
    assert served["serves"] == ["embeddings"]
    refused = await dash.call("PUT", "/api/models/gpt-4o-mini", {"serves": []}, status=400)
    assert refused["error"]["field"] == "serves"
    await dash.call("PUT", "/api/upstreams/relay", {"enabled": False})
    assert (await dash.call("POST", "/api/upstreams/ghost/test", {}, status=404))["error"]["code"] == "not_found"


async def test_moderation(dash: Dash, services: Services) -> None:
    policy = await dash.get("/api/moderation")
    assert policy["providers"] == [] and {p["name"] for p in policy["available"]} >= {"keywords", "tencent"}
    tencent = next(p for p in policy["available"] if p["name"] == "tencent")
    assert "TENCENT_SECRETID" in tencent["missing"]
    updated = await dash.call("PUT", "/api/moderation", {"providers": ["keywords"], "fail_open": False,
                                                         "words": ["Casino", "casino", " scam "]})  # fmt: skip
    assert updated["providers"] == ["keywords"] and updated["words"] == ["casino", "scam"] and not updated["fail_open"]
    error = await dash.call("PUT", "/api/moderation", {"providers": ["tencent"]}, status=400)
    assert "TENCENT_SECRETID" in error["error"]["message"]
    await log_block(services.store, user_id="5", direction="input", verdict=Verdict("block", "keywords", "keyword",
                    ("casino",)), text="a casino", now=time.time(), channel="telegram")  # fmt: skip
    [entry] = (await dash.get("/api/moderation/log"))["entries"]
    assert (entry["user_id"], entry["channel"], entry["provider"], entry["direction"]) == (
        "5",
        "telegram",
        "keywords",
        "input",
    )


async def test_settings_and_the_audit_log(dash: Dash) -> None:
    data = await dash.get("/api/settings")
    assert data["settings"]["registration"] == "open"
    assert {"name": "OPENAI_API_KEY", "set": False} in data["secrets"]
    await dash.call("PUT", "/api/settings", {"title": "GateKeeper", "registration": "invite", "invite_bonus_days": 2})
    error = await dash.call("PUT", "/api/settings", {"registration": "maybe", "title": "Other"}, status=400)
    assert error["error"]["field"] == "registration"
    assert (await dash.get("/api/settings"))["settings"]["title"] == "GateKeeper"
    entries = (await dash.get("/api/audit"))["entries"]
    assert [e["action"] for e in entries] == ["settings.update"]
    assert entries[0]["actor"] == "root@example.com" and entries[0]["after"]["registration"] == "invite"
    assert (await dash.get("/api/audit?action=plan.create"))["entries"] == []
    assert (await dash.get("/api/audit?actor=1&action=settings.update"))["entries"][0]["id"] == entries[0]["id"]
    assert (await dash.get("/api/audit?actor=me", status=400))["error"]["field"] == "actor"


async def test_stats(dash: Dash, services: Services, settings: Settings) -> None:
    user = await register_user(services.store, settings, None, email="s@example.com", password="pw 12345678",
                               now=time.time())  # fmt: skip
    await record_usage(services.store, user.id, "gpt-4o-mini", 100, 50, time.time())
    stats = await dash.get("/api/stats")
    assert len(stats["days"]) == 30 and stats["totals"]["requests"] == 1 and stats["users"]["total"] == 2
    narrow = await dash.get(f"/api/stats?from={stats['to']}&to={stats['to']}")
    assert [day["date"] for day in narrow["days"]] == [stats["to"]] and narrow["days"][0]["active_users"] == 1
    assert (await dash.get("/api/stats?from=2026-13-01", status=400))["error"]["field"] == "from"


async def test_orders_and_codes_without_payments(dash: Dash, services: Services) -> None:
    await ensure_free_plan(services.store, ["gpt-4o-mini"])
    await dash.call("POST", "/api/plans", pro(), status=201)
    assert (await dash.get("/api/orders"))["orders"] == []
    assert (await dash.get("/api/orders?status=lost", status=400))["error"]["field"] == "status"
    assert (await dash.call("POST", "/api/orders/NOPE/refund", status=404))["error"]["code"] == "not_found"
    batch = await dash.call("POST", "/api/codes", {"plan": "pro", "days": 30, "count": 3, "expires_at": "2099-01-01"},
                            status=201)  # fmt: skip
    assert len(batch["codes"]) == 3 and batch["batch"]["count"] == 3
    listed = await dash.get("/api/codes")
    assert [b["id"] for b in listed["batches"]] == [batch["batch"]["id"]]
    codes = await dash.get(f"/api/codes?batch={batch['batch']['id']}")
    assert [c["status"] for c in codes["codes"]] == ["new"] * 3 and all(c["hint"] for c in codes["codes"])
    assert (await dash.call("POST", f"/api/codes/{batch['batch']['id']}/disable"))["disabled"] == 3
    for bad in (
        {"plan": "pro", "days": 30, "count": 0},
        {"plan": "pro", "count": 2},
        {"plan": "pro", "days": 3, "count": 2, "expires_at": "someday"},
        {"reset_chances": 0, "count": 2},
    ):
        await dash.call("POST", "/api/codes", bad, status=400)
    assert len((await dash.get("/api/codes"))["batches"]) == 1


async def test_registration_mode_reaches_the_web_app(dash: Dash, services: Services) -> None:
    web = create_app(services)
    async with web.test_app():
        client = web.test_client()
        body = {"email": "new@example.com", "password": "pw 12345678"}
        await dash.call("PUT", "/api/settings", {"registration": "closed", "title": "Closed Shop"})
        page = await (await client.get("/register")).get_data(as_text=True)
        assert 'id="registration-closed"' in page and "Closed Shop" in page
        refused = await client.post("/api/auth/register", json=body)
        assert refused.status_code == 403 and (await refused.get_json())["error"]["code"] == "registration_closed"
        await dash.call("PUT", "/api/settings", {"registration": "invite"})
        refused = await client.post("/api/auth/register", json=body)
        assert refused.status_code == 400 and (await refused.get_json())["error"]["field"] == "invite_code"
        await dash.call("PUT", "/api/settings", {"registration": "open"})
        assert (await client.post("/api/auth/register", json=body)).status_code == 201
