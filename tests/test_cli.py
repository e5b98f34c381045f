"""The `chatgate` CLI end to end, in subprocesses, on the embedded store of a fresh DATA_DIR."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "NEXT_PUBLIC_", "SMS_", "SMTP_"))}
    # Upstreams point at a closed loopback port: nothing in these tests may leave the machine.
    env.update(
        DATA_DIR=str(data_dir), CHATGATE_ENV="test", PYTHONPATH=str(ROOT), TEXT_SECURITY="",
        OPENAI_ENDPOINT="http://127.0.0.1:9", OPENAI_API_KEY="sk-test-upstream",
    )  # fmt: skip
    return env


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatgate", *args],
        cwd=data_dir.parent, env=_env(data_dir), capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serving(data_dir: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port, admin_port = _free_port(), _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "chatgate", "serve", "--port", str(port), "--admin-port", str(admin_port)],
        cwd=data_dir.parent, env=_env(data_dir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/login", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            pytest.fail("chatgate serve did not answer within 30 s")
        yield base, process
    finally:
        process.terminate()
        process.wait(15)


def test_admin_create_then_serve_then_restart_keeps_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    created = _cli(data_dir, "admin", "create", "--email", "Boss@Example.com", "--password", "correct horse 1")
    assert created.returncode == 0, created.stderr
    assert "administrator" in created.stdout
    credentials = {"email": "boss@example.com", "password": "correct horse 1"}
    for _ in range(2):  # the second start reads the append-only file the first one wrote
        with _serving(data_dir) as (base, _process):
            response = httpx.post(f"{base}/api/auth/login", json=credentials, timeout=10)
            assert response.status_code == 200, response.text
            assert response.json()["user"]["role"] == "admin"
    assert (data_dir / "store" / "appendonlydir").is_dir()


def test_serve_prints_where_it_listens_and_the_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with _serving(data_dir) as (_base, process):
        process.terminate()
        output, _ = process.communicate(timeout=15)
    assert "http://127.0.0.1:" in output
    assert str(data_dir.resolve() / "store") in output
    assert "Event loop: uvloop" in output  # installed with ChatGate on Linux: the default (EVENT_LOOP=auto)


def test_plans_export_import_round_trip(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    exported = _cli(data_dir, "plans", "export")
    assert exported.returncode == 0, exported.stderr
    plans = json.loads(exported.stdout)
    assert any(plan["name"] == "free" for plan in plans)
    plans.append(
        {"name": "pro", "title": "Pro", "prices": {"monthly": 2900, "quarterly": 7900, "yearly": 29900},
         "limits": {"gpt-4o": {"limit": 50, "window": "3h"}}}
    )  # fmt: skip
    plan_file = tmp_path / "plans.json"
    plan_file.write_text(json.dumps(plans), encoding="utf-8")
    imported = _cli(data_dir, "plans", "import", str(plan_file))
    assert imported.returncode == 0, imported.stderr
    again = json.loads(_cli(data_dir, "plans", "export").stdout)
    assert {plan["name"] for plan in again} >= {"free", "pro"}
    assert next(p for p in again if p["name"] == "pro")["limits"]["gpt-4o"] == {"limit": 50, "window": "3h"}


def test_plans_import_rejects_bad_file_and_writes_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"name": "x", "title": "X", "prices": {"monthly": 9.9}, "limits": {}}]))
    result = _cli(data_dir, "plans", "import", str(bad))
    assert result.returncode == 2
    assert "error" in result.stderr
    assert "x" not in {plan["name"] for plan in json.loads(_cli(data_dir, "plans", "export").stdout)}


def test_notice_set_and_show(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    notice = tmp_path / "notice.md"
    notice.write_text("# 公告\n\nHello", encoding="utf-8")
    assert _cli(data_dir, "notice", "set", str(notice)).returncode == 0
    shown = _cli(data_dir, "notice", "show")
    assert "version 1" in shown.stdout and "# 公告" in shown.stdout


def test_doctor_reports_missing_providers(tmp_path: Path) -> None:
    result = _cli(tmp_path / "data", "doctor")
    assert "registration works without a verification code" in result.stdout
    assert "store answers" in result.stdout
    assert "[FAIL] model gpt-4o-mini via upstream" in result.stdout and "does not answer" in result.stdout
    assert result.returncode == 1


def test_commands_use_the_running_embedded_server(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with _serving(data_dir) as (base, _process):
        url_file = data_dir / "store" / "store.url"
        served_url = url_file.read_text()
        created = _cli(data_dir, "admin", "create", "--email", "live@example.com", "--password", "live password 1")
        assert created.returncode == 0, created.stderr
        assert url_file.read_text() == served_url  # the command did not start (and then stop) a second server
        credentials = {"email": "live@example.com", "password": "live password 1"}
        response = httpx.post(f"{base}/api/auth/login", json=credentials, timeout=10)
        assert response.status_code == 200, response.text
