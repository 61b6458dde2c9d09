"""The claims dashboard: verdict rules decided from numbers, and the machine-readable claims.json."""
import json

import pandas as pd
import pytest

from wmnb.claims import f9_from_table, table, write_json


def _runs(angle, identity):
    return pd.DataFrame({"core": "gru", "seed": range(len(angle)), "novel_angle": angle,
                         "novel_identity": identity})


def test_f9_verdicts_follow_the_stated_rule():
    assert f9_from_table(_runs([0.98, 0.97, 0.98], [0.89, 0.90, 0.88]))["verdict"] == "holds"
    assert f9_from_table(_runs([0.80, 0.81, 0.79], [0.90, 0.91, 0.92]))["verdict"] == "does not hold"
    # the interval straddles the margin: underpowered, not a verdict either way
    assert f9_from_table(_runs([0.90, 0.95, 0.85], [0.90, 0.90, 0.90]))["verdict"] == "inconclusive"
    one = f9_from_table(_runs([0.95], [0.80]))
    assert one["verdict"] == "inconclusive" and pd.isna(one["ci_low"])  # one run: no interval


def test_claims_json_has_the_documented_fields(tmp_path):
    rec = f9_from_table(_runs([0.98, 0.97, 0.98], [0.89, 0.90, 0.88]))
    write_json([rec], tmp_path / "claims.json", meta={"profile": "smoke"})
    data = json.loads((tmp_path / "claims.json").read_text())
    (row,) = data["claims"]
    assert set(row) == {"claim", "statement", "measure", "protocol", "value", "interval", "per_seed", "controls",
                        "paper", "verdict", "arm"}
    assert row["arm"] == "default"  # a record without an arm is the book's default arm's
    assert [r["value"] for r in row["per_seed"]] == pytest.approx([0.09, 0.07, 0.10])
    assert row["claim"] == "F9" and row["verdict"] == "holds" and len(row["interval"]) == 2
    assert row["interval"][0] < row["value"] < row["interval"][1]
    t = table([rec])
    assert list(t.columns) == ["claim", "statement", "measure", "protocol", "value", "ci_low", "ci_high",
                               "per_seed", "controls", "paper", "verdict"]
    assert t.per_seed[0] == "gru s0 0.090 · gru s1 0.070 · gru s2 0.100"


def test_claim_selection_by_id_family_and_group():
    from wmnb import claims
    from wmnb.errors import ConfigError

    assert claims._selected("F6 (lstm)", ["F"]) and claims._selected("F6 (lstm)", ["F6"])
    assert not claims._selected("F6 (lstm)", ["F2"]) and not claims._selected("A", ["F"])
    assert claims._selected("A", ["A2"]) and not claims._selected("A1", ["A2"])
    assert claims.check_only(None) is None and claims.check_only(["F", "A1"]) == ("F", "A1")
    for bad in ("F", [], ["X"], ["F10"], ["F6 (tcn)"]):
        with pytest.raises(ConfigError):
            claims.check_only(bad)
