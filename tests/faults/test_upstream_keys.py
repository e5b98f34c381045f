"""An upstream with several keys, one of them refused: every call is answered, by the upstream's next key."""

from __future__ import annotations

from core.relay.catalogue import Model, Upstream
from core.relay.engine import Relay
from core.relay.upstreams import upstream_health
from core.settings import Settings
from core.store.connection import Store
from tests.chat_support import MODEL
from tests.fakes.openai_upstream import FakeUpstream, text_of

BODY = {"messages": [{"role": "user", "content": "Hello"}]}


async def test_a_refused_key_fails_over_to_the_upstreams_next_key(settings: Settings, store: Store) -> None:
    relay = Relay(settings, store)
    try:
        async with FakeUpstream(keys={"sk-good"}) as fake:  # the only upstream: no other to fail over to
            keys = ["sk-revoked", "sk-good", "sk-also-revoked"]
            model = Model(id=MODEL, name=MODEL, upstreams=[Upstream(id="one", base_url=fake.base_url, keys=keys)])
            for _ in range(3):  # each call starts at the next key in rotation
                async with await relay.stream(model, BODY) as stream:
                    assert "".join([event.content async for event in stream]) == text_of(8)
            completion = await relay.complete(model, BODY)
            assert completion.text == text_of(8)
            tried = [request.key for request in fake.chat_requests]
    finally:
        await relay.close()
    assert tried == [
        "sk-revoked", "sk-good",  # the first key refused: the second answers
        "sk-good",
        "sk-also-revoked", "sk-revoked", "sk-good",
        "sk-revoked", "sk-good",  # the same for a whole (non-stream) answer
    ]  # fmt: skip
    assert (await upstream_health(store, ["one"]))["one"].fails == 0  # it answered: a bad key is not a bad upstream
