"""The state of each follower's messages, kept in the store so any process can take any delivery.

WeChat delivers a message up to three times (it waits 5 s for each). The first delivery to arrive anywhere decides
what the message is (`arrive`, atomic): a *job* (its own answer: a chat turn, a command, an event) or a *fetch* (a
plain message sent while parts of an earlier answer wait in the outbox, or while an answer is promised: it hands
that over). Only the first delivery starts the job, so a message costs one model call whatever the retries. The
job's answer is stored as the message's reply (`finish`); every delivery of the message, on any process, answers
with it. When the last delivery finds no reply, `give_up` promises the answer to the follower's next message: the
job's parts then go to the outbox, where the next message's fetch (`take`) finds them.

A job runs under the lease ``lock:wechat-job:<openid>:<key>``: a job whose process died leaves no lease, and a
waiter finishes it with an apology instead of waiting for it forever (`lost_jobs`).
Keys: core.store.keys (``{w:<openid>}:wx:*``); scripts: core.store.lua.wechat.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.store.connection import Store

MESSAGE_TTL_SECONDS = 3600  # dedupe window: far beyond WeChat's 15 s of retries and any answer's time
OUTBOX_TTL_SECONDS = 86_400  # parts waiting for the next message are kept a day
LOST_AFTER_SECONDS = 10.0  # a running job without its lease this long after arrival has died with its process


@dataclass(frozen=True)
class Arrival:
    deliveries: int  # how many deliveries of this message arrived so far, this one included
    kind: str  # job | fetch
    state: str  # run | done | gone
    reply: str | None


@dataclass(frozen=True)
class Taken:
    status: str  # done | taken | wait | start | job | gone
    parts: list[str]


def job_lease(openid: str, key: str) -> str:
    return f"wechat-job:{openid}:{key}"


class Mailbox:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _keys(self, openid: str, key: str) -> list[str]:
        keys = self.store.keys
        return [keys.wechat_message(openid, key), keys.wechat_outbox(openid), keys.wechat_waiting(openid)]

    async def arrive(self, openid: str, key: str, *, may_fetch: bool, now: float, take: bool = False) -> Arrival:
        """Count a delivery of message `key`; the first one decides whether it is a job or a fetch (and with `take`,
        a fetch takes a waiting part as its reply at once). One round trip: a retry finds a ready reply here."""
        args = [MESSAGE_TTL_SECONDS, now, "1" if may_fetch else "0", "1" if take else "0"]
        result = await self.store.scripts.run("wechat_arrive", self._keys(openid, key), args)
        deliveries, kind, state, reply = result
        return Arrival(int(deliveries), str(kind), str(state), reply if reply is not None else None)

    async def finish(self, openid: str, key: str, parts: list[str]) -> bool:
        """Place a job's answer: the reply of its message (and the rest in the outbox), or all in the outbox when
        the message was given up on. False when the message was already finished."""
        args: list[object] = [OUTBOX_TTL_SECONDS, key, *parts]
        return bool(await self.store.scripts.run("wechat_finish", self._keys(openid, key), args))

    async def take(self, openid: str, key: str, count: int = 1) -> Taken:
        """For a fetch: take up to `count` waiting parts (see core.store.lua.wechat.WECHAT_TAKE)."""
        result = await self.store.scripts.run("wechat_take", self._keys(openid, key), [count])
        status, *rest = result
        return Taken(str(status), [str(part) for part in rest if part is not None])

    async def reply_of(self, openid: str, key: str) -> tuple[str, str | None, float]:
        """Return a message's (state, reply, arrival time); state "gone" when it is unknown."""
        key_name = self.store.keys.wechat_message(openid, key)
        state, reply, at = await self.store.redis.hmget(key_name, "st", "reply", "at")
        return (str(state) if state else "gone"), (str(reply) if reply is not None else None), float(at or 0)

    async def give_up(self, openid: str, key: str) -> str | None:
        """The last delivery found no reply: promise the answer to the next message. Returns the reply if it came
        in the meantime."""
        keys = self.store.keys
        result = await self.store.scripts.run(
            "wechat_give_up",
            [keys.wechat_message(openid, key), keys.wechat_waiting(openid)],
            [key, OUTBOX_TTL_SECONDS],
        )
        return str(result[1]) if result[0] == "done" and len(result) > 1 and result[1] is not None else None

    async def queue(self, openid: str, parts: list[str]) -> None:
        """Put parts in the outbox for the follower's next message (service mode: more than one message allows)."""
        if not parts:
            return
        outbox = self.store.keys.wechat_outbox(openid)
        async with self.store.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(outbox, *parts)
            pipe.expire(outbox, OUTBOX_TTL_SECONDS)
            await pipe.execute()

    async def lost_jobs(self, openid: str, keys: list[str], now: float) -> list[str]:
        """Return the message keys among `keys` whose job is running without a live process."""
        lost = []
        for key in keys:
            state, _reply, at = await self.reply_of(openid, key)
            if state not in ("run", "gone") or now - at <= LOST_AFTER_SECONDS:
                continue
            if not await self.store.redis.exists(self.store.keys.lock(job_lease(openid, key))):
                lost.append(key)
        return lost

    async def waiting(self, openid: str) -> list[str]:
        """Return the keys of the messages whose answer was promised to the next message."""
        return [str(key) for key in await self.store.redis.smembers(self.store.keys.wechat_waiting(openid))]
