from core.tc3 import tc3_signature

OFFICIAL_PAYLOAD = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'


def test_official_vector() -> None:
    signature = tc3_signature(
        "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        "cvm",
        "cvm.tencentcloudapi.com",
        "application/json; charset=utf-8",
        OFFICIAL_PAYLOAD,
        1551113065,
    )
    assert signature == "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"


def test_signature_depends_on_host() -> None:
    args = ("k", "tms", "a.example", "application/json", b"{}", 1551113065)
    assert tc3_signature(*args) != tc3_signature("k", "tms", "b.example", "application/json", b"{}", 1551113065)
