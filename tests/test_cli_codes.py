"""`chatgate codes generate`: CSV out (a real subprocess on the test store), bad arguments one clear line."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from chatgate.cli import main
from chatgate.codes_csv import parse_expiry
from core.store.keys import Keys
from tests.conftest import CLUSTER, TEST_JWT_SECRET

ROOT = Path(__file__).resolve().parent.parent
PRO = {"name": "pro", "title": "Pro", "prices": {"monthly": 2900}, "limits": {}}


@pytest.fixture
def cli_env(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The test store, emptied, holding the plan `pro`; the environment a CLI run needs to use it."""
    client = (redis.RedisCluster if CLUSTER else redis.Redis).from_url(store_url)
    try:
        client.flushall(target_nodes="primaries") if CLUSTER else client.flushall()
        client.hset(Keys().plans(), "pro", json.dumps(PRO))
    finally:
        client.close()
    env = {"REDIS_URL": store_url, "CHATGATE_ENV": "test", "JWT_SECRET": TEST_JWT_SECRET,
           "DATA_DIR": str(tmp_path / "data"), "OPENAI_ENDPOINT": "http://127.0.0.1:9",
           "REDIS_CLUSTER": "true" if CLUSTER else "false"}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    return env


def test_codes_generate_prints_csv_of_new_codes(cli_env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chatgate", "codes", "generate", "--plan", "pro", "--days", "30", "--count", "3",
         "--expires", "2037-01-01"],
        env={**os.environ, **cli_env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 3 and len({row["code"] for row in rows}) == 3
    for row in rows:
        assert len(row["code"]) == 19 and row["code"].count("-") == 3
        assert (row["kind"], row["plan"], row["days"], row["expires_at"]) == ("plan", "pro", "30",
                                                                              "2037-01-01T00:00:00Z")  # fmt: skip


def test_reset_chance_codes_and_bad_arguments(cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["codes", "generate", "--reset-chances", "2", "--count", "1"]) == 0
    assert next(iter(csv.DictReader(io.StringIO(capsys.readouterr().out))))["reset_chances"] == "2"
    for bad, words in ((["--plan", "nope", "--days", "30"], "nope"), (["--plan", "pro"], "days"),
                       (["--plan", "pro", "--days", "30", "--expires", "soon"], "expires")):  # fmt: skip
        assert main(["codes", "generate", "--count", "1", *bad]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and words in err[0], err
    assert parse_expiry("2027-01-01T08:00:00+08:00") == parse_expiry("2027-01-01")
