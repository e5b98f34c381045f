import pytest

from core.errors import InvalidInput
from core.site.notice import MARKDOWN_MAX_CHARS, Notice, clear_notice, get_notice, set_notice
from core.store.connection import Store

T0 = 1_700_000_000.0


async def test_no_notice_at_first(store: Store) -> None:
    assert await get_notice(store) is None


async def test_each_set_bumps_the_version(store: Store) -> None:
    first = await set_notice(store, "# 公告\n\nWelcome!\n", T0)
    assert first == Notice(1, "# 公告\n\nWelcome!", T0)
    assert await get_notice(store) == first
    second = await set_notice(store, "Maintenance tonight", T0 + 60)
    assert second.version == 2
    assert await get_notice(store) == Notice(2, "Maintenance tonight", T0 + 60)


async def test_clearing_keeps_the_version_counting(store: Store) -> None:
    await set_notice(store, "one", T0)
    await clear_notice(store, T0 + 1)
    assert await get_notice(store) is None
    assert (await set_notice(store, "two", T0 + 2)).version == 2


@pytest.mark.parametrize("markdown", ["", "  \n ", "x" * (MARKDOWN_MAX_CHARS + 1)])
async def test_bad_markdown_is_refused(store: Store, markdown: str) -> None:
    await set_notice(store, "kept", T0)
    with pytest.raises(InvalidInput):
        await set_notice(store, markdown, T0 + 1)
    assert await get_notice(store) == Notice(1, "kept", T0)
