"""Realistic answers for trying ChatGate without an OpenAI key (`python -m tests.fakes.openai_upstream`).

Each answer shows what the chat renders: headings, lists, a task list, code with highlighting, a table, math and a
Mermaid diagram, in the language of the question (Chinese when it has Chinese characters). The fake takes them in
turn, so three questions show all three; `pieces` splits an answer into token-sized pieces for streaming.
"""

from __future__ import annotations

import re

CODE = (
    "Here is a small, tested way to **count words** in a text file with Python:\n\n"
    "```python\nfrom collections import Counter\nfrom pathlib import Path\n\n\n"
    "def top_words(path: str, n: int = 5) -> list[tuple[str, int]]:\n"
    '    """Return the n most common words of a UTF-8 text file."""\n'
    '    words = Path(path).read_text(encoding="utf-8").lower().split()\n'
    "    return Counter(words).most_common(n)\n\n\n"
    'print(top_words("notes.txt"))\n```\n\n'
    "| Step | What it does | Cost |\n|---|---|---|\n"
    "| Read | loads the whole file | $O(n)$ memory |\n| Split | breaks on any whitespace | $O(n)$ |\n"
    "| Count | `Counter` tallies each word | $O(n)$ |\n\n"
    "Next steps:\n\n- [x] Count the words\n- [ ] Strip punctuation with `str.translate`\n"
    "- [ ] Stream large files line by line\n"
)
CODE_ZH = (
    "下面用 Python 统计文本文件中**出现最多的词**：\n\n"
    "```python\nfrom collections import Counter\nfrom pathlib import Path\n\n\n"
    "def top_words(path: str, n: int = 5) -> list[tuple[str, int]]:\n"
    '    """返回 UTF-8 文本文件中最常见的 n 个词。"""\n'
    '    words = Path(path).read_text(encoding="utf-8").lower().split()\n'
    "    return Counter(words).most_common(n)\n\n\n"
    'print(top_words("笔记.txt"))\n```\n\n'
    "| 步骤 | 作用 | 开销 |\n|---|---|---|\n"
    "| 读取 | 一次读入整个文件 | $O(n)$ 内存 |\n| 切分 | 按空白字符分词 | $O(n)$ |\n"
    "| 计数 | `Counter` 统计每个词 | $O(n)$ |\n\n"
    "接下来可以：\n\n- [x] 统计词频\n- [ ] 用 `str.translate` 去掉标点\n- [ ] 大文件逐行读取\n"
)
MATH = (
    "## Solving $ax^2 + bx + c = 0$\n\n"
    "Completing the square gives the **quadratic formula**:\n\n"
    "$$x = \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}$$\n\n"
    "The discriminant \\(\\Delta = b^2 - 4ac\\) tells you how many real roots there are:\n\n"
    "1. $\\Delta > 0$: two real roots;\n2. $\\Delta = 0$: one double root;\n3. $\\Delta < 0$: no real root.\n\n"
    "Example: for $x^2 - 5x + 6 = 0$,\n\n\\[\\Delta = 25 - 24 = 1, \\quad x = \\frac{5 \\pm 1}{2}\\]\n\n"
    "so $x = 2$ or $x = 3$. And, of course, $E = mc^2$.\n"
)
MATH_ZH = (
    "## 求解 $ax^2 + bx + c = 0$\n\n"
    "配方后得到**求根公式**：\n\n"
    "$$x = \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}$$\n\n"
    "判别式 \\(\\Delta = b^2 - 4ac\\) 决定实根的个数：\n\n"
    "1. $\\Delta > 0$：两个不等实根；\n2. $\\Delta = 0$：一个二重根；\n3. $\\Delta < 0$：没有实根。\n\n"
    "例如 $x^2 - 5x + 6 = 0$：\n\n\\[\\Delta = 25 - 24 = 1, \\quad x = \\frac{5 \\pm 1}{2}\\]\n\n"
    "所以 $x = 2$ 或 $x = 3$。顺便一提，$E = mc^2$。\n"
)
PLAN = (
    "A simple release flow for a small team:\n\n"
    "```mermaid\nflowchart LR\n  A[Branch] --> B[Pull request]\n  B --> C{Review passed?}\n"
    "  C -- yes --> D[Merge]\n  C -- no --> A\n  D --> E[Deploy]\n```\n\n"
    "> Keep each pull request small: reviews get faster and safer.\n\n"
    "| Day | Focus | Owner |\n|---|---|---|\n| Mon | plan the sprint | lead |\n"
    "| Tue–Thu | build and review | everyone |\n| Fri | release and retro | lead |\n\n"
    "Checklist before a release:\n\n- [x] Tests pass\n- [x] Changelog updated\n- [ ] Announcement drafted\n"
)
PLAN_ZH = (
    "小团队的一个简单发布流程：\n\n"
    "```mermaid\nflowchart LR\n  A[建分支] --> B[提合并请求]\n  B --> C{评审通过？}\n"
    "  C -- 是 --> D[合并]\n  C -- 否 --> A\n  D --> E[部署]\n```\n\n"
    "> 每个合并请求尽量小：评审更快，也更安全。\n\n"
    "| 时间 | 重点 | 负责人 |\n|---|---|---|\n| 周一 | 规划迭代 | 组长 |\n"
    "| 周二至周四 | 开发与评审 | 全员 |\n| 周五 | 发布与复盘 | 组长 |\n\n"
    "发布前检查：\n\n- [x] 测试通过\n- [x] 更新日志\n- [ ] 起草公告\n"
)
ANSWERS = {"en": (CODE, MATH, PLAN), "zh": (CODE_ZH, MATH_ZH, PLAN_ZH)}
_CJK = re.compile(r"[\u3400-\u9fff]")
_PIECE = re.compile(r"\s*\S{1,4}|\s+", re.DOTALL)


def demo_answer(question: str, turn: int) -> str:
    """The demo answer for the `turn`-th request, in the question's language."""
    answers = ANSWERS["zh" if _CJK.search(question) else "en"]
    return answers[turn % len(answers)]


def pieces(text: str) -> list[str]:
    """Split `text` into pieces about the size of tokens (1-4 characters and the spaces before them)."""
    found = _PIECE.findall(text)
    assert "".join(found) == text
    return found


def last_user_text(messages: object) -> str:
    """The text of the last user message of a Chat Completions `messages` array."""
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            return str(content or "")
    return ""


def title_request(messages: object) -> bool:
    """Whether a request asks for a conversation title (ChatGate's title prompt: a system message about a title)."""
    first = messages[0] if isinstance(messages, list) and messages else {}
    return isinstance(first, dict) and first.get("role") == "system" and "title" in str(first.get("content", ""))


def demo_title(prompt: str) -> str:
    """A short title from the quoted first question (the first few words, as a model would shorten it)."""
    question = prompt.removeprefix("User:").split("\n\nAssistant:")[0].strip()
    words = question.split()
    return " ".join(words[:5]).title() if len(words) > 1 else question[:12]
