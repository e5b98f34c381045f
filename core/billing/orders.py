"""Orders: one purchase of one cycle of a plan, its status, and every payment callback it received.

An order lives in its owner's hash slot (``{u:ID}:order:<id>``, with its callback log ``...:cb``), so crediting it
and extending the subscription is one script (core.billing.payments). ``order:<id>`` maps the id to the owner
(claimed with SET NX: ids are unique); ``idx:orders`` lists every order and ``idx:orders:pending`` the ones not yet
settled, for the dashboard and the reconciliation job (never SCAN). The amount is integer fen, taken from the plan
when the order is made; status is one of pending, paid, expired, failed, refunded.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from redis.typing import EncodableT, FieldT

from core.billing.purchases import Price
from core.billing.subscriptions import Subscription, parse_subscription
from core.errors import NotFound
from core.store.connection import Store

Status = Literal["pending", "paid", "expired", "failed", "refunded"]
STATUSES: tuple[str, ...] = ("pending", "paid", "expired", "failed", "refunded")
ORDER_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
MAX_ORDER_ID = 32
CALLBACK_LOG_CAP = 100
MAX_FIELD_CHARS = 256


@dataclass(frozen=True)
class Order:
    id: str
    user_id: int
    plan: str
    plan_title: str
    cycle: str
    seconds: int
    amount: int
    status: str
    created_at: float
    updated_at: float
    expires_at: float
    paid_at: float | None = None
    pay_url: str = ""
    qr_url: str = ""
    wap: bool = False
    open_order_id: str = ""
    transaction_id: str = ""
    subscription: Subscription | None = None
    mode: str = ""
    error: str = ""
    settled: bool = False  # paid and its follow-ups (invitation reward, commission) done

    def public(self) -> dict[str, Any]:
        """What the owner sees (and the dashboard); no secret is in an order."""
        return {
            "order_id": self.id, "plan": self.plan, "plan_title": self.plan_title, "cycle": self.cycle,
            "days": self.seconds // 86_400, "amount": self.amount, "status": self.status,
            "created_at": self.created_at, "updated_at": self.updated_at, "expires_at": self.expires_at,
            "paid_at": self.paid_at, "pay_url": self.pay_url, "qr_url": self.qr_url, "wap": self.wap,
            "mode": self.mode or None,
            "subscription": self.subscription.public() if self.subscription else None,
        }  # fmt: skip


def new_order_id(now: float) -> str:
    """A 24-character id: UTC time to the second (sorts and reads well in a merchant console) + 10 random chars."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now))
    return stamp + "".join(secrets.choice(ORDER_ID_ALPHABET) for _ in range(10))


def looks_like_order_id(value: str) -> bool:
    return 0 < len(value) <= MAX_ORDER_ID and value.isascii() and value.isalnum()


def order_from_fields(fields: Mapping[str, str]) -> Order | None:
    if not fields.get("id"):
        return None
    paid_at = fields.get("paid_at")
    subscription = fields.get("subscription")
    return Order(
        id=fields["id"], user_id=int(fields["user_id"]), plan=fields.get("plan", ""),
        plan_title=fields.get("plan_title", ""), cycle=fields.get("cycle", ""), seconds=int(fields.get("seconds", 0)),
        amount=int(fields.get("amount", 0)), status=fields.get("status", "pending"),
        created_at=float(fields.get("created_at", 0)), updated_at=float(fields.get("updated_at", 0)),
        expires_at=float(fields.get("expires_at", 0)), paid_at=float(paid_at) if paid_at else None,
        pay_url=fields.get("pay_url", ""), qr_url=fields.get("qr_url", ""), wap=fields.get("wap") == "1",
        open_order_id=fields.get("open_order_id", ""), transaction_id=fields.get("transaction_id", ""),
        subscription=parse_subscription(subscription) if subscription else None, mode=fields.get("mode", ""),
        error=fields.get("error", ""), settled=fields.get("settled") == "1",
    )  # fmt: skip


async def create_order(store: Store, user_id: int, price: Price, *, wap: bool, expires_in: int, now: float) -> Order:
    """Write a new pending order for one cycle of a plan at its price now, indexed for the owner and the dashboard."""
    for _ in range(10):  # 32^10 random ids per second: a clash is a broken random source
        order_id = new_order_id(now)
        if await store.redis.set(store.keys.order_owner(order_id), user_id, nx=True):
            break
    else:
        raise RuntimeError("could not find a free order id")
    fields: dict[FieldT, EncodableT] = {
        "id": order_id, "user_id": user_id, "plan": price.plan.name, "plan_title": price.plan.title,
        "cycle": price.cycle, "seconds": price.seconds, "amount": price.amount, "status": "pending",
        "created_at": now, "updated_at": now, "expires_at": now + expires_in, "wap": int(wap),
    }  # fmt: skip
    async with store.redis.pipeline(transaction=False) as pipe:  # the user's slot, then the global indexes
        pipe.hset(store.keys.order(user_id, order_id), mapping=fields)
        pipe.zadd(store.keys.user_orders(user_id), {order_id: now})
        pipe.zadd(store.keys.orders_index(), {order_id: now})
        pipe.zadd(store.keys.pending_orders(), {order_id: now})
        await pipe.execute()
    order = order_from_fields({str(name): str(value) for name, value in fields.items()})
    assert order is not None
    return order


async def order_owner(store: Store, order_id: str) -> int | None:
    """Return the user id that owns an order id, or None."""
    if not looks_like_order_id(order_id):
        return None
    owner = await store.redis.get(store.keys.order_owner(order_id))
    return int(owner) if owner else None


async def get_order(store: Store, user_id: int, order_id: str) -> Order | None:
    """Return one of a user's orders, or None (another user's order is None too)."""
    if not looks_like_order_id(order_id):
        return None
    fields: dict[str, str] = await store.redis.hgetall(store.keys.order(user_id, order_id))  # type: ignore[assignment]
    return order_from_fields(fields)


async def require_order(store: Store, user_id: int, order_id: str) -> Order:
    """Return the user's order or raise NotFound (also for another user's order: no hint that it exists)."""
    order = await get_order(store, user_id, order_id)
    if order is None:
        raise NotFound("No such order.")
    return order


async def find_order(store: Store, order_id: str) -> Order | None:
    """Return an order by id whoever owns it (callbacks, reconciliation, the dashboard)."""
    owner = await order_owner(store, order_id)
    return None if owner is None else await get_order(store, owner, order_id)


async def list_orders(store: Store, user_id: int, limit: int = 50) -> list[Order]:
    """Return the user's orders, newest first."""
    ids = await store.redis.zrevrange(store.keys.user_orders(user_id), 0, limit - 1)
    async with store.redis.pipeline(transaction=False) as pipe:
        for order_id in ids:
            pipe.hgetall(store.keys.order(user_id, str(order_id)))
        rows = await pipe.execute()
    return [order for row in rows if (order := order_from_fields(row)) is not None]


async def set_order_fields(store: Store, order: Order, **fields: str | int | float) -> None:
    mapping: dict[FieldT, EncodableT] = {name: value for name, value in fields.items()}
    await store.redis.hset(store.keys.order(order.user_id, order.id), mapping=mapping)


async def move_order(store: Store, order: Order, expected: str, new: Status, now: float, **extra: str) -> bool:
    """Change an order's status only if it still is `expected` (atomic); True when it moved."""
    pairs = [item for name, value in {"updated_at": now, **extra}.items() for item in (name, value)]
    return bool(await store.scripts.run("transition_status", [store.keys.order(order.user_id, order.id)],
                                        [expected, new, *pairs]))  # fmt: skip


def callback_entry(source: str, fields: Mapping[str, str], *, ip: str, now: float) -> dict[str, Any]:
    """What is kept of a callback (or a query answer): when, from where, and the fields (bounded)."""
    kept = {str(name)[:64]: str(value)[:MAX_FIELD_CHARS] for name, value in list(fields.items())[:40]}
    return {"at": now, "source": source, "ip": ip, "fields": kept}


async def log_callback(store: Store, user_id: int | None, order_id: str, entry: dict[str, Any], verdict: str) -> None:
    """Keep a callback with its verdict: in its order's log, or in the unmatched log when no order is known."""
    key = store.keys.order_callbacks(user_id, order_id) if user_id else store.keys.unmatched_callbacks()
    async with store.redis.pipeline(transaction=False) as pipe:
        pipe.rpush(key, orjson.dumps({**entry, "verdict": verdict}))
        pipe.ltrim(key, -CALLBACK_LOG_CAP, -1)
        await pipe.execute()


async def order_callbacks(store: Store, order: Order) -> list[dict[str, Any]]:
    """Return every callback an order received, oldest first, each with its verdict (the dashboard shows them)."""
    return [orjson.loads(raw) for raw in await store.redis.lrange(store.keys.order_callbacks(order.user_id, order.id),
                                                                   0, -1)]  # fmt: skip


async def unmatched_callbacks(store: Store) -> list[dict[str, Any]]:
    """Return the callbacks that named no known order (forged, garbage, another shop's), oldest first."""
    return [orjson.loads(raw) for raw in await store.redis.lrange(store.keys.unmatched_callbacks(), 0, -1)]


async def list_all_orders(store: Store, offset: int = 0, limit: int = 50) -> list[Order]:
    """Return every user's orders, newest first (the dashboard)."""
    ids = await store.redis.zrevrange(store.keys.orders_index(), offset, offset + limit - 1)
    orders = [await find_order(store, str(order_id)) for order_id in ids]
    return [order for order in orders if order is not None]
