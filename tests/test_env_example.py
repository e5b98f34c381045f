"""`.env.example` documents every setting, and names nothing the settings do not read."""

import re
from pathlib import Path

from core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def _documented() -> set[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_every_setting_is_documented() -> None:
    assert set(Settings.model_fields) - _documented() == set()


def test_every_documented_name_is_a_setting() -> None:
    assert _documented() - set(Settings.model_fields) == set()


def test_example_loads_as_settings() -> None:
    settings = Settings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
    assert settings.OPENAI_MODELS == ["gpt-4o-mini", "gpt-4o"]
    assert settings.TEXT_SECURITY == []
