"""`chatgate doctor` against the loopback provider fakes: each configured provider is really asked, once."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.aliyun_sms import AliyunSmsFake
from tests.fakes.baidu_censor import FakeBaiduCensor
from tests.fakes.mailgun import MailgunFake
from tests.fakes.openai_moderation import FakeOpenAIModeration
from tests.fakes.tencent_tms import FakeTencentTMS

ROOT = Path(__file__).resolve().parent.parent
# Provider settings of the developer's environment must not leak into the doctor under test.
CLEARED = ("REDIS_", "NEXT_PUBLIC_", "SMS_", "SMTP_", "MAILGUN_", "ELASTIC", "TENCENT_", "BAIDU_", "OPENAI_", "ALIYUN_")


@dataclass
class Fakes:
    mailgun: MailgunFake
    aliyun: AliyunSmsFake
    tms: FakeTencentTMS
    baidu: FakeBaiduCensor
    openai: FakeOpenAIModeration

    def env(self) -> dict[str, str]:
        """Return the environment that points every provider of the doctor at its fake, with the right secrets."""
        return {
            "NEXT_PUBLIC_EMAIL_SERVICE": "mailgun",
            "MAILGUN_API_BASE": self.mailgun.url,
            "MAILGUN_EMAIL_DOMAIN": self.mailgun.domain,
            "MAILGUN_EMAIL_API_KEY": self.mailgun.api_key,
            "SMS_PROVIDER": "aliyun",
            "ALIYUN_SMS_ENDPOINT": self.aliyun.url,
            "SMS_ACCESS_KEY_ID": self.aliyun.access_key_id,
            "SMS_ACCESS_KEY_SECRET": self.aliyun.access_key_secret,
            "SMS_SIGN_NAME": self.aliyun.sign_name,
            "SMS_TEMPLATE_CODE": self.aliyun.template_code,
            "TEXT_SECURITY": "tencent,baidu,openai",
            "TENCENT_TMS_ENDPOINT": self.tms.url,
            "TENCENT_SECRETID": self.tms.secret_id,
            "TENCENT_SECRETKEY": self.tms.secret_key,
            "BAIDU_API_BASE": self.baidu.url,
            "BAIDU_APIKEY": self.baidu.api_key,
            "BAIDU_SECRETKEY": self.baidu.secret_key,
            "OPENAI_MODERATION_ENDPOINT": self.openai.url,
            "OPENAI_API_KEY": self.openai.api_key,
        }


@pytest.fixture
async def fakes() -> AsyncIterator[Fakes]:
    async with (
        MailgunFake() as mailgun,
        AliyunSmsFake() as aliyun,
        FakeTencentTMS() as tms,
        FakeBaiduCensor() as baidu,
        FakeOpenAIModeration() as openai,
    ):
        yield Fakes(mailgun, aliyun, tms, baidu, openai)


async def doctor(data_dir: Path, settings: dict[str, str]) -> tuple[int, str]:
    """Run `python -m chatgate doctor` without blocking this loop (the fakes answer from it)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(CLEARED)}
    env.update(
        DATA_DIR=str(data_dir), CHATGATE_ENV="test", PYTHONPATH=str(ROOT), MODERATION_TIMEOUT_SECONDS="2",
        OPENAI_ENDPOINT="http://127.0.0.1:9",  # the upstream: a closed port, nothing leaves the machine
        **settings,
    )  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chatgate", "doctor",
        cwd=data_dir.parent, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, output.decode()


def lines_of(output: str, prefix: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(prefix)]


async def test_doctor_asks_every_provider_and_says_what_the_check_costs(tmp_path: Path, fakes: Fakes) -> None:
    _, output = await doctor(tmp_path / "data", fakes.env())
    assert "[ok  ] notifier: configured providers look right" in output, output
    assert "[ok  ] moderation: configured providers look right" in output, output
    assert '[ok  ] moderation: note: tencent: checked by moderating the text "ok": one billed' in output
    assert lines_of(output, "[FAIL] notifier") == [] and lines_of(output, "[FAIL] moderation") == []
    # Each provider was really contacted, once, and nothing was sent.
    assert fakes.mailgun.domain_reads == 1 and fakes.mailgun.messages == []
    assert fakes.aliyun.actions == ["QuerySmsSignList"] and fakes.aliyun.messages == []
    assert [request.text for request in fakes.tms.requests] == ["ok"]
    assert fakes.baidu.token_requests == 1 and fakes.baidu.censor_requests == []
    assert fakes.openai.inputs == [["ok"]]


async def test_doctor_fails_on_wrong_secrets_and_unreachable_providers(tmp_path: Path, fakes: Fakes) -> None:
    async with FakeBaiduCensor() as gone:
        closed = gone.url
    wrong = {
        **fakes.env(),
        "SMS_ACCESS_KEY_SECRET": "wrong-aliyun-secret",
        "TENCENT_SECRETKEY": "wrong-tms-secret",
        "BAIDU_API_BASE": closed,
    }
    code, output = await doctor(tmp_path / "data", wrong)
    assert code == 1
    assert lines_of(output, "[FAIL] notifier") == [
        f"[FAIL] notifier: aliyun: {fakes.aliyun.url} refused SMS_ACCESS_KEY_ID / SMS_ACCESS_KEY_SECRET "
        "(SignatureDoesNotMatch)"
    ], output
    failed = lines_of(output, "[FAIL] moderation")
    assert len(failed) == 2, output
    assert failed[0].startswith("[FAIL] moderation: tencent: AuthFailure.SignatureFailure: ")
    assert failed[1] == f"[FAIL] moderation: baidu: request failed (ConnectError) (at {closed}/oauth/2.0/token)"
    assert "look right" not in output  # neither component is reported fine
    for secret in ("wrong-aliyun-secret", "wrong-tms-secret", fakes.baidu.secret_key, fakes.mailgun.api_key):
        assert secret not in output
