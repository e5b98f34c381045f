import pytest

from core.chat.presets import MAX_PRESETS_PER_USER, delete_preset, get_preset, list_presets, save_preset
from core.errors import InvalidInput, LimitReached, NotFound
from core.store.connection import Store

T0 = 1_700_000_000.0


async def test_create_list_update_delete(store: Store) -> None:
    writer = await save_preset(store, 1, " Writer ", "You are a careful editor.\n", now=T0)
    coder = await save_preset(store, 1, "Coder", "You write Python.", now=T0 + 1)
    assert writer.name == "Writer" and writer.prompt == "You are a careful editor."
    assert [p.id for p in await list_presets(store, 1)] == [writer.id, coder.id]
    assert await list_presets(store, 2) == []
    updated = await save_preset(store, 1, "Editor", "Be terse.", preset_id=writer.id, now=T0 + 50)
    assert updated.id == writer.id and updated.created_at == T0
    assert await get_preset(store, 1, writer.id) == updated
    await delete_preset(store, 1, writer.id)
    assert [p.id for p in await list_presets(store, 1)] == [coder.id]
    with pytest.raises(NotFound):
        await delete_preset(store, 1, writer.id)


async def test_other_users_presets_are_not_found(store: Store) -> None:
    mine = await save_preset(store, 1, "Mine", "prompt", now=T0)
    with pytest.raises(NotFound):
        await save_preset(store, 2, "Steal", "prompt", preset_id=mine.id, now=T0)
    with pytest.raises(NotFound):
        await delete_preset(store, 2, mine.id)
    with pytest.raises(NotFound):
        await get_preset(store, 2, mine.id)
    assert await get_preset(store, 1, mine.id) == mine


@pytest.mark.parametrize(
    ("name", "prompt"), [("", "p"), ("n" * 61, "p"), ("ok", ""), ("ok", "   "), ("ok", "p" * 8001)]
)
async def test_bad_input_writes_nothing(store: Store, name: str, prompt: str) -> None:
    with pytest.raises(InvalidInput):
        await save_preset(store, 1, name, prompt, now=T0)
    assert await store.redis.dbsize() == 0


async def test_at_most_fifty(store: Store) -> None:
    for i in range(MAX_PRESETS_PER_USER):
        await save_preset(store, 1, f"p{i}", "x", now=T0 + i)
    with pytest.raises(LimitReached):
        await save_preset(store, 1, "one more", "x", now=T0)
    first = (await list_presets(store, 1))[0]
    # Editing an existing one is still allowed at the cap.
    assert (await save_preset(store, 1, "renamed", "y", preset_id=first.id)).name == "renamed"
    assert len(await list_presets(store, 1)) == MAX_PRESETS_PER_USER
