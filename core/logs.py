"""Logging for every process: one format (text or JSON lines), and the request id of the call being served.

The web layer takes a request's id from its `X-Request-Id` header (when it is a sane token) or makes one, answers it
in `x-request-id`, and sets `request_id` for the task serving the request; the bots set it per update. Every log
record then carries it, the relay sends it to the upstream as `X-Request-Id`, so "send me your request id" finds a
chat from its channel to the upstream. Secrets never reach a log: settings hold them as SecretStr, and the HTTP
client loggers that print URLs (some providers put tokens in query strings) are kept at WARNING.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="-")

_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
NOISY_LOGGERS = ("httpx", "httpx2", "hpack")


def new_request_id(offered: str | None = None) -> str:
    """Return `offered` when it is a sane id (letters, digits, `._:-`, at most 64), else a fresh random one."""
    if offered and _SANE_ID.fullmatch(offered):
        return offered
    return f"req_{random.getrandbits(96):024x}"  # unique, not secret: no system call per request


class RequestIdFilter(logging.Filter):
    """Put the current request id on every record (`-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request id, message (and the exception, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Set up the root logger once per process."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in NOISY_LOGGERS:  # they log request URLs at INFO; some providers carry tokens in the query string
        logging.getLogger(noisy).setLevel(logging.WARNING)
