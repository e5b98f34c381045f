"""The webhook WeChat calls: `GET WECHAT_PATH` (URL verification) and `POST WECHAT_PATH` (messages and events).

Both check the signature first: a request not signed with WECHAT_TOKEN gets 403 and nothing runs. A body that is
not a WeChat message (malformed XML, an entity-expansion payload) is answered `success` (WeChat's "no reply") and
logged; nothing runs either. Replies are passive XML, encrypted in safe mode (`encrypt_type=aes`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from quart import Blueprint, Response, request

from channels.wechat.codec import Refused

if TYPE_CHECKING:
    from channels.wechat import WeChatChannel

log = logging.getLogger(__name__)

NO_REPLY = "success"  # WeChat's "received, nothing to answer"


def _text(body: str, status: int = 200) -> Response:
    return Response(body, status=status, content_type="text/plain; charset=utf-8")


def webhook_blueprint(channel: WeChatChannel) -> Blueprint:
    """Return the webhook routes of one official account."""
    bp = Blueprint("wechat", __name__)
    path = channel.settings.WECHAT_PATH

    @bp.get(path)
    async def verify() -> Response:
        """Answer WeChat's server-URL check with its echostr."""
        try:
            channel.codec.check(request.args, fresh=False)
        except Refused:
            return _text("forbidden", 403)
        return _text(request.args.get("echostr", ""))

    @bp.post(path)
    async def receive() -> Response:
        """Take one delivery of a message or event; answer with the passive reply, or `success`."""
        try:
            channel.codec.check(request.args)
            body: bytes = await request.get_data(cache=False, as_text=False)  # type: ignore[assignment]
            inbound = channel.codec.open(body, request.args)
        except Refused as refused:
            log.warning("WeChat webhook: refused an unsigned request (%s)", refused)
            return _text("forbidden", 403)
        if inbound is None:
            log.warning("WeChat webhook: a signed body that is not a WeChat message was ignored")
            return _text(NO_REPLY)
        reply = await channel.delivery.handle(inbound)
        if not reply:
            return _text(NO_REPLY)
        return Response(channel.codec.reply(inbound, reply, request.args), content_type="application/xml")

    @bp.after_app_serving
    async def _drain() -> None:
        await channel.delivery.drain(grace=10.0)

    return bp
