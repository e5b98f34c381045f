"""Chat: the one chat entry point every channel calls (core.chat.pipeline `relay_chat`; channels through
core.chat.channel), the request and its checks, conversation turns, conversations and their messages, context
fitting, token counting, prompt presets, the answer's events and its settlement, and the /v1 fast path."""
