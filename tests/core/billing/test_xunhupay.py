"""The XunhuPay protocol against the documented vector and the loopback fake: hash, create, query, notify checks."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from core.billing import xunhupay
from core.errors import PaymentFailed, PaymentsDisabled
from core.settings import Settings
from tests.fakes.xunhupay import XunhuPayFake

VECTOR = {
    "appid": "20146123713", "nonce_str": "abc123", "notify_url": "http://www.xx.com/notify.php", "time": "1700000000",
    "title": "耐克球鞋", "total_fee": "0.1", "trade_order_id": "1700000000", "version": "1.1",
}  # fmt: skip
VECTOR_SECRET = "6D7B025B8DD098C485F0805193136FB9"


def test_the_hash_matches_the_documented_vector() -> None:
    assert xunhupay.xunhu_hash(VECTOR, VECTOR_SECRET) == "ae771a2b4c921a73e2619d4016c16780"
    # hash itself, None and '' are left out; "0" is signed; the exact strings count ("0.1" is not "0.10")
    assert xunhupay.xunhu_hash({**VECTOR, "hash": "x", "attach": "", "plugins": None}, VECTOR_SECRET) == (
        "ae771a2b4c921a73e2619d4016c16780")  # fmt: skip
    assert xunhupay.xunhu_hash({**VECTOR, "attach": "0"}, VECTOR_SECRET) != "ae771a2b4c921a73e2619d4016c16780"
    assert xunhupay.xunhu_hash({**VECTOR, "total_fee": "0.10"}, VECTOR_SECRET) != "ae771a2b4c921a73e2619d4016c16780"


def test_money_crosses_the_boundary_as_yuan_and_comes_back_as_fen() -> None:
    assert [xunhupay.fen_to_yuan(fen) for fen in (1, 10, 2900, 2990, 100_000_000)] == [
        "0.01", "0.10", "29.00", "29.90", "1000000.00"]  # fmt: skip
    assert [xunhupay.yuan_to_fen(text) for text in ("0.1", "29", "29.90", " 29.9 ")] == [10, 2900, 2990, 2990]
    assert [xunhupay.yuan_to_fen(text) for text in ("0.001", "-1", "abc", "", "NaN", "Infinity")] == [None] * 6


@pytest.fixture
async def gateway() -> XunhuPayFake:
    async with XunhuPayFake() as fake:
        yield fake  # type: ignore[misc]


async def test_create_signs_what_it_sends_and_reads_the_answer(gateway: XunhuPayFake, settings: Settings) -> None:
    paying = settings.model_copy(update={**gateway.settings_update(), "DOMAIN": "https://chat.example.com",
                                         "CALLBACK_DOMAIN": "https://pay.example.com"})  # fmt: skip
    async with httpx.AsyncClient() as http:
        links = await xunhupay.create_payment(http, paying, order_id="20260101000000ABCDEFGHJK", amount=2990,
                                              title="ChatGate Pro 30天", wap=False, now=1_800_000_000)  # fmt: skip
        phone = await xunhupay.create_payment(http, paying, order_id="20260101000000ABCDEFGHJL", amount=1,
                                              title="t", wap=True, now=1_800_000_000)  # fmt: skip
    desktop_form, phone_form = gateway.created
    assert desktop_form["total_fee"] == "29.90" and desktop_form["version"] == "1.1"
    assert desktop_form["notify_url"] == "https://pay.example.com/api/pay/xunhu/notify"
    assert desktop_form["return_url"] == "https://chat.example.com/pay/return?order=20260101000000ABCDEFGHJK"
    assert "type" not in desktop_form and phone_form["type"] == "WAP" and phone_form["wap_url"]
    assert links.qr_url.startswith(gateway.url + "/qrcode") and links.pay_url.startswith(gateway.url + "/pay")
    assert links.open_order_id and phone.open_order_id != links.open_order_id


async def test_create_refusals_and_a_wrong_secret_fail_plainly(gateway: XunhuPayFake, settings: Settings) -> None:
    paying = settings.model_copy(update=gateway.settings_update())
    async with httpx.AsyncClient() as http:
        gateway.refuse_next_create(40029, "Invalid sign!")
        with pytest.raises(PaymentFailed) as refused:
            await xunhupay.create_payment(http, paying, order_id="A1", amount=100, title="t", wap=False, now=1)
        assert refused.value.data["gateway_error"] == "Invalid sign!"
        wrong = paying.model_copy(update={"XUNHU_PAY_APPSECRET": SecretStr("not-the-secret")})
        with pytest.raises(PaymentFailed):  # the fake refuses our hash
            await xunhupay.create_payment(http, wrong, order_id="A2", amount=100, title="t", wap=False, now=1)
        closed = paying.model_copy(update={"XUNHU_PAY_GATEWAY": "http://127.0.0.1:9"})
        with pytest.raises(PaymentFailed):
            await xunhupay.create_payment(http, closed, order_id="A3", amount=100, title="t", wap=False, now=1)
        with pytest.raises(PaymentsDisabled):
            await xunhupay.create_payment(http, settings, order_id="A4", amount=100, title="t", wap=False, now=1)


async def test_query_reads_the_status_and_the_misspelled_transaction_id(
    gateway: XunhuPayFake, settings: Settings
) -> None:
    paying = settings.model_copy(update=gateway.settings_update())
    async with httpx.AsyncClient() as http:
        await xunhupay.create_payment(http, paying, order_id="Q1", amount=100, title="t", wap=False, now=1)
        assert (await xunhupay.query_payment(http, paying, "Q1", 2)).status == "WP"
        await gateway.pay("Q1", notify=False)
        paid = await xunhupay.query_payment(http, paying, "Q1", 3)
        assert (paid.status, paid.transaction_id) == ("OD", gateway.payments["Q1"]["transaction_id"])
        with pytest.raises(PaymentFailed):
            await xunhupay.query_payment(http, paying, "NOPE", 4)
    assert gateway.queries[0]["out_trade_order"] == "Q1"


def test_notify_problems_are_named(settings: Settings) -> None:
    paying = settings.model_copy(
        update={"XUNHU_PAY_APPID": "20146123713", "XUNHU_PAY_APPSECRET": SecretStr(VECTOR_SECRET)}
    )
    fields = {"trade_order_id": "O1", "total_fee": "29.90", "status": "OD", "appid": "20146123713",
              "transaction_id": "42", "unknown_extra": "signed too"}  # fmt: skip

    def signed(**changes: str) -> dict[str, str]:
        data = {**fields, **changes}
        return {**data, "hash": xunhupay.xunhu_hash(data, VECTOR_SECRET)}

    assert xunhupay.notify_problem(signed(), paying) is None
    tampered = {**signed(), "unknown_extra": "changed"}  # every received field is signed
    assert xunhupay.notify_problem(tampered, paying) == "bad_hash"
    assert xunhupay.notify_problem(signed(appid="999"), paying) == "wrong_appid"
    assert xunhupay.notify_problem(signed(status="WP"), paying) == "status_WP"
    assert xunhupay.notify_problem(signed(status="CD"), paying) == "status_CD"
    assert xunhupay.notify_problem(signed(total_fee="29.901"), paying) == "bad_amount"
    assert xunhupay.notify_problem({k: v for k, v in signed().items() if k != "hash"}, paying) == "missing_fields"
    assert xunhupay.notify_problem({}, paying) == "missing_fields"


def test_titles_carry_no_emoji_or_backslash_and_fit() -> None:
    assert xunhupay.payment_title("Chat\\Gate😀", "Pro", 30, "zh-CN") == "ChatGate Pro 30天"
    assert xunhupay.payment_title("ChatGate", "Pro", 365, "en") == "ChatGate Pro 365 days"
    assert len(xunhupay.payment_title("x" * 200, "Pro", 30, "en")) == 127
