"""`chatgate codes generate` end to end: CSV out, the codes redeemable, bad arguments one clear line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.test_cli import _cli, _one_error_line


def test_codes_generate_prints_csv_of_new_codes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    plans = tmp_path / "plans.json"
    plans.write_text(json.dumps([{"name": "pro", "title": "Pro", "prices": {"monthly": 2900}, "limits": {}}]))
    assert _cli(data_dir, "plans", "import", str(plans)).returncode == 0
    result = _cli(data_dir, "codes", "generate", "--plan", "pro", "--days", "30", "--count", "3",
                  "--expires", "2037-01-01")  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 3 and len({row["code"] for row in rows}) == 3
    for row in rows:
        assert len(row["code"]) == 19 and row["code"].count("-") == 3
        assert (row["kind"], row["plan"], row["days"], row["expires_at"]) == ("plan", "pro", "30",
                                                                              "2037-01-01T00:00:00Z")  # fmt: skip
    chances = _cli(data_dir, "codes", "generate", "--reset-chances", "2", "--count", "1")
    assert next(iter(csv.DictReader(io.StringIO(chances.stdout))))["reset_chances"] == "2"
    for bad in (["--plan", "nope", "--days", "30"], ["--plan", "pro", "--days", "30", "--expires", "soon"],
                ["--plan", "pro"]):  # fmt: skip
        line = _one_error_line(_cli(data_dir, "codes", "generate", "--count", "1", *bad))
        assert "nope" in line or "expires" in line or "days" in line, line
