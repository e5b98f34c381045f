"""The baseline of benchmarks/wechat_webhook.py: a bare signed-XML echo handler, no store and no chat.

Usage: .venv/bin/python benchmarks/wechat_echo.py --port P --token T [--aes-key K --appid A]
One route, POST /echo, on Quart + Hypercorn like the web app: check the signature (wechatpy), open the safe-mode
envelope when asked, parse the message (wechatpy), and answer a passive reply with the message's own text.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart, Response, request
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature


def build_app(token: str, crypto: WeChatCrypto | None) -> Quart:
    app = Quart(__name__)

    @app.post("/echo")
    async def echo() -> Response:
        args = request.args
        try:
            check_signature(token, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
        except InvalidSignatureException:
            return Response("forbidden", status=403)
        body = (await request.get_data()).decode()
        if crypto is not None:
            body = crypto.decrypt_message(body, args["msg_signature"], args["timestamp"], args["nonce"])
        message = parse_message(body)
        xml = create_reply(message.content, message, render=True)
        if crypto is not None:
            xml = crypto.encrypt_message(xml, args["nonce"], args["timestamp"])
        return Response(xml, content_type="application/xml")

    return app


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--aes-key", default="")
    parser.add_argument("--appid", default="")
    args = parser.parse_args()
    crypto = WeChatCrypto(args.token, args.aes_key, args.appid) if args.aes_key else None
    config = Config()
    config.bind = [f"127.0.0.1:{args.port}"]
    config.accesslog = None
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await serve(build_app(args.token, crypto), config, shutdown_trigger=stop.wait)


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
