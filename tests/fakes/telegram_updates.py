"""Real-shaped Telegram objects for the fake Bot API: updates a user's client would cause, and the bot's messages.

Shapes from https://core.telegram.org/bots/api (Update, Message, Chat, User, MessageEntity, CallbackQuery).
"""

from __future__ import annotations

import itertools
import time
from typing import Any

PRIVATE_FIRST_NAME = "Ann"


class UpdateFactory:
    def __init__(self, bot_id: int, username: str) -> None:
        self.bot_id = bot_id
        self.username = username
        self._update_ids = itertools.count(700_000_001)
        self._user_message_ids = itertools.count(1)

    @property
    def bot_user(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "ChatGate", "username": self.username}

    @staticmethod
    def user(user_id: int, language_code: str = "en", first_name: str = PRIVATE_FIRST_NAME) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code}

    @staticmethod
    def chat(chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": PRIVATE_FIRST_NAME}
        return {"id": chat_id, "type": "supergroup", "title": "Test group"}

    def message_object(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        reply_markup: Any = None,
        sender: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": sender or self.bot_user,
            "text": text,
        }
        if reply_markup:
            message["reply_markup"] = reply_markup
        return message

    def _update(self, **payload: Any) -> dict[str, Any]:
        return {"update_id": next(self._update_ids), **payload}

    def private_message(self, user_id: int, text: str, *, language_code: str = "en") -> dict[str, Any]:
        """An update with a text message from a user in their private chat with the bot."""
        return self._update(message=self._user_message(user_id, user_id, text, language_code=language_code))

    def group_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        reply_to: dict[str, Any] | None = None,
        language_code: str = "en",
    ) -> dict[str, Any]:
        """An update with a message in a group; `@<bot>` in the text is marked as a mention entity."""
        message = self._user_message(chat_id, user_id, text, language_code=language_code)
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return self._update(message=message)

    def photo_message(self, user_id: int) -> dict[str, Any]:
        message = self._user_message(user_id, user_id, "")
        del message["text"]
        message["photo"] = [{"file_id": "AgAD-photo", "file_unique_id": "AQAD", "width": 90, "height": 90}]
        return self._update(message=message)

    def callback(self, user_id: int, message: dict[str, Any], data: str) -> dict[str, Any]:
        """An update for a press on an inline button of one of the bot's messages."""
        query = {"id": str(next(self._update_ids)), "from": self.user(user_id), "chat_instance": "42",
                 "message": message, "data": data}  # fmt: skip
        return self._update(callback_query=query)

    def _user_message(self, chat_id: int, user_id: int, text: str, *, language_code: str = "en") -> dict[str, Any]:
        message = self.message_object(
            chat_id, next(self._user_message_ids), text, sender=self.user(user_id, language_code)
        )
        entities = []
        if text.startswith("/"):
            entities.append({"type": "bot_command", "offset": 0, "length": len(text.split()[0])})
        mention = f"@{self.username}"
        if mention in text:
            entities.append({"type": "mention", "offset": text.index(mention), "length": len(mention)})
        if entities:
            message["entities"] = entities
        return message
