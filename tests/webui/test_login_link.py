"""A bot's one-time sign-in link: GET only shows the page (link previews spend nothing), POST signs in once."""

from __future__ import annotations

from quart import Quart

from core.accounts.login_links import LOGIN_LINK_PATH, issue_login_link
from core.accounts.users import find_user_by_target
from tests.webui.conftest import AuthActions
from web.context import services

SITE = "https://chat.example"


async def _link(app: Quart, auth: AuthActions, next_path: str = "/pricing") -> str:
    await auth.register("bob@example.com")
    await auth.logout()
    async with app.app_context():
        svc = services()
        user = await find_user_by_target(svc.store, "bob@example.com")
        assert user is not None
        url = await issue_login_link(svc.store, svc.settings.model_copy(update={"DOMAIN": SITE}), user.id, next_path)
    assert url.startswith(f"{SITE}{LOGIN_LINK_PATH}")
    return url.removeprefix(SITE)


async def test_the_link_signs_the_browser_in_once_and_lands_on_its_page(app: Quart, auth: AuthActions) -> None:
    path = await _link(app, auth)
    assert path.startswith(LOGIN_LINK_PATH)
    client = app.test_client()
    page = await client.get(path)
    assert page.status_code == 200 and "link-form" in await page.get_data(as_text=True)
    assert page.headers["X-Robots-Tag"] == "noindex"
    assert (await client.get("/api/me")).status_code == 401  # showing the page used nothing up
    done = await client.post(path)
    assert done.status_code == 303 and done.headers["Location"] == "/pricing"
    me = await client.get("/api/me")
    assert me.status_code == 200 and (await me.get_json())["user"]["email"] == "bob@example.com"
    again = await app.test_client().post(path)
    assert again.status_code == 410 and "link-form" not in await again.get_data(as_text=True)


async def test_a_foreign_next_path_lands_home_and_a_cross_site_post_is_refused(app: Quart, auth: AuthActions) -> None:
    path = await _link(app, auth, next_path="//evil.example/x")
    client = app.test_client()
    refused = await client.post(path, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    done = await client.post(path)
    assert done.status_code == 303 and done.headers["Location"] == "/"


async def test_a_made_up_link_says_it_expired(app: Quart) -> None:
    client = app.test_client()
    response = await client.post(f"{LOGIN_LINK_PATH}made-up-token")
    assert response.status_code == 410
    assert (await client.get("/api/me")).status_code == 401
