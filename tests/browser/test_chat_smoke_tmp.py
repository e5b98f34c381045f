from __future__ import annotations
from typing import Any
import pytest
from playwright.sync_api import expect
from tests.browser.chat_helpers import ChatTab, chat_server, open_chat, upstream  # noqa: F401
from tests.browser.conftest import DESKTOP, PHONE

pytestmark = pytest.mark.browser

ANSWER = """Here is a **quick** example:

```python
def greet(name: str) -> str:
    return f"Hello, {name}!"
```

| Plan | Price |
|---|---|
| Free | 0 |
| Pro | 29 |

- one
- two
"""

def test_smoke(open_chat: Any, upstream: Any) -> None:
    tab: ChatTab = open_chat("en", DESKTOP)
    tab.sign_in("smoke@example.com")
    tab.page.screenshot(path="/tmp/scratch/empty.png")
    upstream.answer = ANSWER
    tab.send("Show me some python")
    tab.wait_idle()
    tab.page.screenshot(path="/tmp/scratch/answer.png")
    tab.page.set_viewport_size(PHONE)
    tab.page.screenshot(path="/tmp/scratch/phone.png")
    print(tab.problems)
