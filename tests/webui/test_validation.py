"""JSON bodies that the pydantic models refuse: a 400 naming the field, like the hand-made checks."""

from __future__ import annotations

from tests.webui.conftest import Client


async def test_a_refused_body_names_its_field(client: Client) -> None:
    missing = await client.post("/api/auth/register", json={"email": "a@example.com"})
    error = (await missing.get_json())["error"]
    assert (missing.status_code, error["code"], error["field"]) == (400, "invalid_input", "password")
    assert error["message"].startswith("password: ")
    wrong_type = await client.post("/api/auth/register", json={"email": "a@example.com", "password": 5})
    assert (await wrong_type.get_json())["error"]["field"] == "password"
    unknown = await client.post("/api/auth/register", json={"email": "a@example.com", "password": "x" * 12, "x": 1})
    assert (await unknown.get_json())["error"]["field"] == "x"
