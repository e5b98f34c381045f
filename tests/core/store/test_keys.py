"""The key schema: multi-key scripts only ever touch keys of one Redis Cluster hash slot."""

from __future__ import annotations

from redis.crc import key_slot

from core.store.keys import Keys


def slots(*keys: str) -> set[int]:
    return {key_slot(key.encode()) for key in keys}


def test_every_key_of_one_user_is_in_one_slot() -> None:
    keys = Keys()
    user = [
        keys.user(42), keys.api_keys(42), keys.subscriptions(42), keys.quota_window(42, "gpt-4o"),
        keys.daily_tokens(42, "20261125"), keys.sessions(42), keys.session(42, "s1"), keys.conversations(42),
        keys.conversation(42, "c1"), keys.messages(42, "c1"), keys.channel_context(42, "web"), keys.presets(42),
        keys.user_usage(42, "20261125"), keys.invitees(42), keys.order(42, "o1"), keys.order_callbacks(42, "o1"),
        keys.user_orders(42), keys.order_rate(42), keys.redemptions(42), keys.redeem_fails_user(42),
        keys.invite_rewards(42), keys.invite_reward_day(42, "20261125"), keys.commissions(42),
    ]  # fmt: skip
    assert len(slots(*user)) == 1
    assert slots(keys.user(42)) != slots(keys.user(43))  # users spread over the cluster


def test_the_code_send_claim_keys_share_one_slot_whatever_the_target_and_ip() -> None:
    keys = Keys(prefix="site")
    claims = [
        (keys.code_cooldown(target), keys.code_daily_target(target, "20261125"), keys.code_daily_ip(ip, "20261125"))
        for target, ip in (("alice@example.com", "203.0.113.7"), ("+8613800138000", "2001:db8::1"))
    ]
    assert len(slots(*[key for claim in claims for key in claim])) == 1


def test_keys_carry_the_prefix_and_the_schema_version() -> None:
    keys = Keys(prefix="site")
    assert keys.user(7) == "site:v1:{u:7}:user"
    assert keys.code_cooldown("a@b.c") == "site:v1:{codes}:cool:a@b.c"
    assert keys.plans() == "site:v1:cfg:plans"
