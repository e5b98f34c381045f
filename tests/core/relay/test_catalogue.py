"""Models and upstreams as runtime config: seeding from settings, validation, masked public form."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.relay.catalogue import (
    Model,
    Upstream,
    delete_model,
    get_model,
    known_context_window,
    list_models,
    save_model,
    seed_models,
)
from core.settings import Settings
from core.store.connection import Store


async def test_seed_uses_the_original_endpoint_convention_once(settings: Settings, store: Store) -> None:
    seeded = settings.model_copy(
        update={
            "OPENAI_ENDPOINT": "https://relay.example.com",
            "OPENAI_API_KEY": settings.OPENAI_API_KEY.__class__("sk-one, sk-two"),
            "OPENAI_MODELS": ["gpt-4o-mini", "gpt-4.1", "my-local-model"],
        }
    )
    assert await seed_models(store, seeded)
    models = await list_models(store)
    assert [model.id for model in models] == ["gpt-4o-mini", "gpt-4.1", "my-local-model"]
    assert [model.context_window for model in models] == [128_000, 1_047_576, 128_000]
    assert models[0].name == "GPT-4o mini"
    upstream = models[0].upstreams[0]
    assert upstream.base_url == "https://relay.example.com/v1" and upstream.keys == ["sk-one", "sk-two"]
    models[0].name = "Renamed by the admin"
    await save_model(store, models[0])
    assert not await seed_models(store, seeded)  # a later start keeps what the admin changed
    again = await get_model(store, "gpt-4o-mini")
    assert again is not None and again.name == "Renamed by the admin"


async def test_save_validates_and_writes_nothing_on_bad_input(store: Store) -> None:
    bad = [
        {"id": "", "upstreams": [{"id": "u", "base_url": "http://x/v1"}]},
        {"id": "m", "upstreams": []},
        {"id": "m", "upstreams": [{"id": "u", "base_url": "ftp://x"}]},
        {"id": "m", "upstreams": [{"id": "u", "base_url": "http://x", "kind": "azure"}]},
        {"id": "m", "context_window": 0, "upstreams": [{"id": "u", "base_url": "http://x"}]},
        {"id": "m", "upstreams": [{"id": "u", "base_url": "http://x", "keys": "sk-1"}]},
        {"id": "m", "upstreams": [{"id": "u", "base_url": "http://x"}, {"id": "u", "base_url": "http://y"}]},
    ]
    for data in bad:
        with pytest.raises(InvalidInput):
            await save_model(store, Model.from_dict(data))
    assert await list_models(store) == []


async def test_round_trip_and_masked_public_form(store: Store) -> None:
    model = Model.from_dict(
        {
            "id": "gpt-4o",
            "name": "GPT-4o",
            "upstreams": [
                {
                    "id": "azure-east",
                    "base_url": "https://east.openai.azure.com",
                    "keys": ["0123456789abcdef"],
                    "kind": "azure",
                    "deployment": "gpt4o",
                    "api_version": "2024-10-21",
                    "priority": 5,
                    "weight": 2,
                },
            ],
        }
    )
    await save_model(store, model)
    assert await get_model(store, "gpt-4o") == model
    public = model.public()
    assert public["upstreams"][0]["keys"] == ["012...cdef"] and "0123456789abcdef" not in str(public)
    assert "0123456789abcdef" not in repr(model.upstreams[0])
    assert await delete_model(store, "gpt-4o") and not await delete_model(store, "gpt-4o")
    assert await get_model(store, "gpt-4o") is None


def test_known_context_windows() -> None:
    assert known_context_window("gpt-4o-mini") == 128_000
    assert known_context_window("gpt-4-32k-0613") == 32_768
    assert known_context_window("gpt-3.5-turbo") == 16_385
    assert known_context_window("o1-mini") == 128_000
    assert known_context_window("openai/gpt-4.1-nano") == 1_047_576
    assert known_context_window("something-new") == 128_000


def test_upstream_keeps_keys_out_of_its_repr() -> None:
    upstream = Upstream(id="u", base_url="http://x/v1", keys=["sk-secret-value"])
    assert "sk-secret-value" not in repr(upstream)


async def test_a_model_takes_text_only_unless_told_otherwise(store: Store) -> None:
    upstreams = [{"id": "u", "base_url": "http://x/v1"}]
    assert Model.from_dict({"id": "m", "upstreams": upstreams}).input_types == ["text"]
    seen = Model.from_dict({"id": "v", "upstreams": upstreams, "input_types": ["image", "text"]})
    assert seen.input_types == ["text", "image"]
    await save_model(store, seen)
    again = await get_model(store, "v")
    assert again is not None and again.input_types == ["text", "image"]
    for bad in (["image"], ["text", "video"], "text", [1]):
        with pytest.raises(InvalidInput) as caught:
            Model.from_dict({"id": "m", "upstreams": upstreams, "input_types": bad})
        assert caught.value.data["field"] == "input_types"
