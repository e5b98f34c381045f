"""The fake upstream's `POST /v1/embeddings` and `POST /v1/moderations`, in OpenAI's shapes.

Embeddings: one deterministic vector per input (`dimensions` long, default 8; `encoding_format` base64 packs
little-endian float32 as OpenAI does), usage = the words (or token ids) of the input. Moderations: one result per
input, flagged (category `violence`) when the text has the word "kill"; image parts are scored 0.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Any

FLAG_WORD = "kill"
CATEGORIES = ("harassment", "hate", "illicit", "self-harm", "sexual", "violence")


def embeddings_answer(body: dict[str, Any], model: str) -> dict[str, Any] | str:
    """The answer to an embeddings request, or the message of a 400."""
    value = body.get("input")
    items = value if isinstance(value, list) and not all(isinstance(v, int) for v in value) else [value]
    if not items or any(not item for item in items):
        return "'input' must be a non-empty string or array"
    dimensions = int(body.get("dimensions") or 8)
    data, tokens = [], 0
    for index, item in enumerate(items):
        vector = _vector(str(item), dimensions)
        tokens += len(item) if isinstance(item, list) else len(str(item).split())
        encoded: Any = vector
        if body.get("encoding_format") == "base64":
            encoded = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    return {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def _vector(text: str, dimensions: int) -> list[float]:
    seed = hashlib.sha256(text.encode()).digest()
    return [round((seed[i % len(seed)] - 128) / 128, 6) for i in range(dimensions)]


def moderations_answer(body: dict[str, Any], model: str) -> dict[str, Any] | str:
    """The answer to a moderations request, or the message of a 400."""
    value = body.get("input")
    if isinstance(value, str):
        texts = [value]
    elif isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        texts = list(value)
    elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        texts = [" ".join(str(part.get("text", "")) for part in value if part.get("type") == "text")]
    else:
        return "'input' is a required property"
    results = [_result(text) for text in texts]
    return {"id": "modr-fake", "model": model, "results": results}


def _result(text: str) -> dict[str, Any]:
    flagged = FLAG_WORD in text.lower()
    categories = {name: flagged and name == "violence" for name in CATEGORIES}
    scores = {name: 0.93 if categories[name] else 0.001 for name in CATEGORIES}
    applied = {name: ["text"] for name in CATEGORIES}
    return {"flagged": flagged, "categories": categories, "category_scores": scores,
            "category_applied_input_types": applied}  # fmt: skip
