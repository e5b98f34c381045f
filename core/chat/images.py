"""Images sent with a chat message (for models whose `input_types` include "image").

The browser shrinks a picture before sending it, as a `data:image/...;base64,` URL inside the JSON body (so the
body limit, MAX_BODY_BYTES, bounds it). Each image is kept once in the conversation's hash
``{u:ID}:imgs:<cid>`` (image id -> ``"<mime>;<base64>"``) and the message lists the ids, so the history shows
them and later turns send them upstream again as `image_url` content parts.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.errors import InvalidInput, NotFound
from core.store.connection import Store

MAX_IMAGES_PER_MESSAGE = 4
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
_DATA_URL = re.compile(r"^data:(image/[a-z+.-]+);base64,([A-Za-z0-9+/=\s]+)$")
_IMAGE_ID = re.compile(r"^[a-f0-9]{16}$")
_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


@dataclass(frozen=True)
class Image:
    mime: str
    data: bytes

    @property
    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode()}"


def parse_images(urls: Sequence[str]) -> list[Image]:
    """Read the data URLs a client sent; InvalidInput (field `images`) for anything that is not one of our types."""
    if len(urls) > MAX_IMAGES_PER_MESSAGE:
        raise InvalidInput(f"At most {MAX_IMAGES_PER_MESSAGE} images per message.", field="images")
    images = []
    for index, url in enumerate(urls):
        match = _DATA_URL.match(url) if isinstance(url, str) else None
        if match is None or match.group(1) not in IMAGE_TYPES:
            raise InvalidInput("An image must be a PNG, JPEG, WebP or GIF data URL.", field=f"images[{index}]")
        try:
            data = base64.b64decode(match.group(2), validate=False)
        except (binascii.Error, ValueError) as error:
            raise InvalidInput("The image data is not valid base64.", field=f"images[{index}]") from error
        mime = match.group(1)
        if not data.startswith(_MAGIC[mime]) or (mime == "image/webp" and data[8:12] != b"WEBP"):
            raise InvalidInput(f"The image data is not a {mime} file.", field=f"images[{index}]")
        images.append(Image(mime, data))
    return images


def _stored(image: Image) -> str:
    return f"{image.mime};{base64.b64encode(image.data).decode()}"


def _image(raw: object) -> Image:
    mime, _, data = str(raw).partition(";")
    return Image(mime, base64.b64decode(data))


async def save_images(store: Store, user_id: int | str, cid: str, images: Sequence[Image]) -> tuple[str, ...]:
    """Keep the images of one message; return their ids (in order)."""
    if not images:
        return ()
    ids = [secrets.token_hex(8) for _ in images]
    await store.redis.hset(store.keys.images(user_id, cid), mapping=dict(zip(ids, map(_stored, images), strict=True)))
    return tuple(ids)


async def load_images(store: Store, user_id: int | str, cid: str, ids: Iterable[str]) -> dict[str, Image]:
    """Return the stored images among `ids` (missing ones are left out)."""
    wanted = [image_id for image_id in dict.fromkeys(ids) if _IMAGE_ID.match(image_id)]
    if not wanted:
        return {}
    raws = await store.redis.hmget(store.keys.images(user_id, cid), wanted)
    return {image_id: _image(raw) for image_id, raw in zip(wanted, raws, strict=True) if raw}


async def get_image(store: Store, user_id: int | str, cid: str, image_id: str) -> Image:
    """Return one image of a conversation, or NotFound."""
    found = await load_images(store, user_id, cid, [image_id])
    if image_id not in found:
        raise NotFound("Image not found.")
    return found[image_id]
