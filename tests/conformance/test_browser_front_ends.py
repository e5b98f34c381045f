"""Items 6 and 7: CORS for browser front-ends on /v1 only (V1_CORS_ORIGINS), and /v1's own body limit for inline
images (V1_MAX_BODY_BYTES, 20 MB by default) while the web API keeps MAX_BODY_BYTES."""

from __future__ import annotations

import base64
import io
import os

import openai
import orjson
import pytest

from core.settings import Settings
from tests.conformance.conftest import CHAT, HELLO, OpenGate

APP = "https://chat.example.com"
PREFLIGHT = {
    "Origin": APP,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, x-stainless-os",
}


def test_the_setting_is_a_comma_list_or_a_star(settings: Settings) -> None:
    parsed = Settings(**{**settings.model_dump(), "V1_CORS_ORIGINS": f"{APP}, https://other.example"})
    assert parsed.V1_CORS_ORIGINS == [APP, "https://other.example"]
    assert Settings(**{**settings.model_dump(), "V1_CORS_ORIGINS": "*"}).V1_CORS_ORIGINS == ["*"]
    assert settings.V1_CORS_ORIGINS == [] and settings.V1_MAX_BODY_BYTES == 20_000_000


async def test_allowed_origins_get_preflights_and_headers_on_v1_only(open_gate: OpenGate) -> None:
    gate = await open_gate(V1_CORS_ORIGINS=[APP + "/", "https://other.example"])
    status, headers, _ = await gate.http("OPTIONS", "/v1/chat/completions", headers=PREFLIGHT, key=False)
    assert status == 204 and headers["access-control-allow-origin"] == APP
    assert "POST" in headers["access-control-allow-methods"]
    assert headers["access-control-allow-headers"] == PREFLIGHT["Access-Control-Request-Headers"]
    assert "access-control-allow-credentials" not in headers and "x-request-id" in headers
    body = {"model": CHAT, "messages": HELLO}
    status, headers, _ = await gate.http("POST", "/v1/chat/completions", json=body, headers={"Origin": APP})
    assert status == 200 and headers["access-control-allow-origin"] == APP and "Origin" in headers["vary"]
    exposed = headers["access-control-expose-headers"]
    assert "x-request-id" in exposed and "x-ratelimit-remaining-requests" in exposed and "retry-after-ms" in exposed
    status, headers, _ = await gate.http("GET", "/v1/models", headers={"Origin": APP}, key=False)
    assert status == 401 and headers["access-control-allow-origin"] == APP  # errors are readable too
    # Another origin, and the cookie-authenticated API, get nothing.
    stranger = {**PREFLIGHT, "Origin": "https://evil.example"}
    status, headers, _ = await gate.http("OPTIONS", "/v1/chat/completions", headers=stranger, key=False)
    assert "access-control-allow-origin" not in headers
    for path in ("/api/me", "/api/chat"):
        status, headers, _ = await gate.http("OPTIONS", path, headers=PREFLIGHT, key=False)
        assert "access-control-allow-origin" not in headers and status != 204
    _, headers, _ = await gate.http("GET", "/api/me", headers={"Origin": APP})
    assert "access-control-allow-origin" not in headers


async def test_any_origin_with_a_star(open_gate: OpenGate) -> None:
    gate = await open_gate(V1_CORS_ORIGINS=["*"])
    status, headers, _ = await gate.http("OPTIONS", "/v1/embeddings", headers={**PREFLIGHT, "Origin": "https://x.y"})
    assert status == 204 and headers["access-control-allow-origin"] == "*"


async def test_no_cors_by_default(open_gate: OpenGate) -> None:
    gate = await open_gate()
    _, headers, _ = await gate.http("OPTIONS", "/v1/chat/completions", headers=PREFLIGHT, key=False)
    assert "access-control-allow-origin" not in headers
    _, headers, _ = await gate.http("GET", "/v1/models", headers={"Origin": APP})
    assert "access-control-allow-origin" not in headers


def photo(size: int) -> str:
    """A `size`-byte JPEG-looking payload as a data URL (random bytes: base64 makes it a third bigger)."""
    return "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8\xff\xe0" + os.urandom(size - 4)).decode()


async def test_an_800_kb_photo_goes_through_v1_but_the_web_api_keeps_its_limit(open_gate: OpenGate) -> None:
    gate = await open_gate()  # MAX_BODY_BYTES stays at its 1 MB default
    image = photo(800_000)
    content = [{"type": "text", "text": "What is in this photo?"}, {"type": "image_url", "image_url": {"url": image}}]
    async with gate.aio() as client:
        answer = await client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": content}])
    assert answer.choices[0].message.content
    sent = gate.fake.chat_requests[0].body["messages"][0]["content"]
    assert sent[1]["image_url"]["url"] == image  # the picture arrived whole
    big = io.BytesIO(orjson.dumps({"email": "a@example.com", "password": "x" * 1_100_000}))
    json_type = {"Content-Type": "application/json"}
    status, _, body = await gate.http("POST", "/api/auth/login", data=big, headers=json_type, key=False)
    assert status == 413 and b"payload_too_large" in body


async def test_a_body_over_the_v1_limit_is_413(open_gate: OpenGate) -> None:
    gate = await open_gate(V1_MAX_BODY_BYTES=200_000)
    content = [{"type": "image_url", "image_url": {"url": photo(300_000)}}]
    async with gate.aio() as client:
        with pytest.raises(openai.APIStatusError) as refused:
            await client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": content}])
    assert refused.value.status_code == 413 and refused.value.code == "payload_too_large"
    chunked = b"".join(
        [b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "', b"x" * 250_000, b'"}]}']
    )

    async def pieces():  # no Content-Length: the limit holds while the body streams in
        for start in range(0, len(chunked), 50_000):
            yield chunked[start : start + 50_000]

    status, _, body = await gate.http("POST", "/v1/chat/completions", data=pieces(),
                                      headers={"Content-Type": "application/json"})  # fmt: skip
    assert status == 413 and b"payload_too_large" in body
    assert gate.fake.chat_requests == [] and await gate.window() == 0
