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


def _cli(data_dir: Path, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatgate", *args],
        cwd=data_dir.parent, env={**_env(data_dir), **(extra_env or {})}, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """Assert the command failed with exit status 2 and exactly one `error: ...` line (no traceback); return it."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


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
         "limits": {"gpt-4o": {"limit": 50, "window": "3h"}}, "max_tokens": 4000, "max_prompt_tokens": 32000}
    )  # fmt: skip
    plan_file = tmp_path / "plans.json"
    plan_file.write_text(json.dumps(plans), encoding="utf-8")
    imported = _cli(data_dir, "plans", "import", str(plan_file))
    assert imported.returncode == 0, imported.stderr
    assert "warning" not in imported.stderr  # gpt-4o is one of the seeded models
    plans[-1]["limits"]["gpt-9"] = {"limit": 1, "window": "1d"}
    plan_file.write_text(json.dumps(plans), encoding="utf-8")
    warned = _cli(data_dir, "plans", "import", str(plan_file))
    assert warned.returncode == 0 and "'pro' has a limit for 'gpt-9', which is not a configured model" in warned.stderr
    again = json.loads(_cli(data_dir, "plans", "export").stdout)
    assert {plan["name"] for plan in again} >= {"free", "pro"}
    assert next(p for p in again if p["name"] == "pro")["limits"]["gpt-4o"] == {"limit": 50, "window": "3h"}
    assert {key: next(p for p in again if p["name"] == "pro")[key] for key in ("max_tokens", "max_prompt_tokens")} == {
        "max_tokens": 4000, "max_prompt_tokens": 32000,
    }  # fmt: skip
    plans[-1]["max_tokens"] = 0
    plan_file.write_text(json.dumps(plans), encoding="utf-8")
    refused = _cli(data_dir, "plans", "import", str(plan_file))
    assert refused.returncode != 0 and "max_tokens" in refused.stderr


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


def test_an_existing_account_made_admin_gets_the_new_password_and_loses_its_sessions(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with _serving(data_dir) as (base, _process):
        old = {"email": "bob@example.com", "password": "bob password 1"}
        registered = httpx.post(f"{base}/api/auth/register", json=old, timeout=10).json()
        token, user_id = registered["token"], registered["user"]["id"]
        bearer = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{base}/api/me", headers=bearer, timeout=10).status_code == 200
        result = _cli(data_dir, "admin", "create", "--email", "BOB@example.com", "--password", "new admin pw 1")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == (
            f"existing account #{user_id} (bob@example.com) promoted to administrator: its password was replaced "
            "and 1 session(s) signed out"
        )
        assert httpx.get(f"{base}/api/me", headers=bearer, timeout=10).status_code == 401
        assert httpx.post(f"{base}/api/auth/login", json=old, timeout=10).status_code == 401
        new = {**old, "password": "new admin pw 1"}
        assert httpx.post(f"{base}/api/auth/login", json=new, timeout=10).json()["user"]["role"] == "admin"
        fresh = _cli(data_dir, "admin", "create", "--phone", "139 0013 9000", "--password", "new admin pw 1")
        assert fresh.stdout.endswith("(+8613900139000) is ready\n"), fresh.stdout


def test_an_unreachable_store_is_one_clear_line_without_the_password(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    closed = _free_port()
    env = {"REDIS_URL": f"redis://chatgate:url-secret-1@127.0.0.1:{closed}/0", "REDIS_TOKEN": "token-secret-2"}
    serve = ["serve", "--port", str(_free_port()), "--admin-port", str(_free_port())]
    for args in (["admin", "create", "--email", "a@example.com", "--password", "long password 1"], serve,
                 ["plans", "export"]):  # fmt: skip
        result = _cli(data_dir, *args, extra_env=env)
        line = _one_error_line(result)
        assert f"cannot use the store at redis://***@127.0.0.1:{closed}/0" in line and "Connect" in line, line
        assert "secret" not in result.stderr + result.stdout
    assert not (data_dir / "store").exists()  # REDIS_URL set: no embedded store was started


def test_serve_on_a_taken_port_is_one_clear_line_and_starts_no_store(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for ports in (["--port", str(port), "--admin-port", str(_free_port())],
                      ["--port", str(_free_port()), "--admin-port", str(port)]):  # fmt: skip
            result = _cli(data_dir, "serve", *ports)
            assert _one_error_line(result) == f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
            assert result.stdout == ""  # it did not claim to listen anywhere
    assert not (data_dir / "store").exists()  # refused before the embedded store was started


def test_users_reindex_rebuilds_the_dashboard_indexes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert (
        _cli(data_dir, "admin", "create", "--email", "ops@example.com", "--password", "a long passphrase").returncode
        == 0
    )
    result = _cli(data_dir, "users", "reindex")
    assert result.returncode == 0 and result.stdout.strip() == "reindexed 1 user(s)"
