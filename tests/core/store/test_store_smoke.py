from core.store.connection import Store


async def test_store_is_real_and_empty(store: Store) -> None:
    assert await store.redis.dbsize() == 0
    await store.redis.set(store.keys.user_seq(), 1)
    assert await store.redis.incr(store.keys.user_seq()) == 2


async def test_verify_code_script_reports_missing_code(store: Store) -> None:
    assert await store.scripts.run("verify_code", [store.keys.code("login", "a@b.c")], ["x", 5]) == -1
