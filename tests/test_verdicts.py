"""Every verdict rule returns each verdict it can on planted numbers."""
import math

import pytest

from wmnb.errors import ConfigError
from wmnb.verdicts import HOLDS, INCONCLUSIVE, MIXED, NOT, combine, interval_verdict, per_seed_values


@pytest.mark.parametrize("lo,hi,expected", [(0.1, 0.3, HOLDS), (-0.3, -0.1, NOT), (-0.1, 0.2, INCONCLUSIVE),
                                            (math.nan, math.nan, INCONCLUSIVE)])
def test_interval_verdict_above(lo, hi, expected):
    assert interval_verdict(lo, hi, 0.0) == expected


def test_interval_verdict_below_and_threshold():
    assert interval_verdict(0.1, 0.2, 0.5, direction="below") == HOLDS
    assert interval_verdict(0.6, 0.7, 0.5, direction="below") == NOT
    assert interval_verdict(0.4, 0.6, 0.5, direction="below") == INCONCLUSIVE


def test_failed_controls_or_incomparable_models_are_inconclusive():
    assert interval_verdict(0.1, 0.3, controls_pass=False) == INCONCLUSIVE
    assert interval_verdict(-0.3, -0.1, comparable=False) == INCONCLUSIVE


def test_combine():
    assert combine([HOLDS, HOLDS]) == HOLDS
    assert combine([NOT]) == NOT
    assert combine([HOLDS, NOT, INCONCLUSIVE]) == MIXED
    assert combine([HOLDS, INCONCLUSIVE]) == INCONCLUSIVE
    assert combine([MIXED, HOLDS]) == MIXED
    with pytest.raises(ConfigError):
        combine(["perhaps"])
    with pytest.raises(ConfigError):
        combine([])


def test_per_seed_values():
    assert per_seed_values([0, 1], [0.5, 0.25], label=["gru", "gru"]) == [
        dict(seed=0, value=0.5, model="gru"), dict(seed=1, value=0.25, model="gru")]
    with pytest.raises(ConfigError):
        per_seed_values([0], [1.0, 2.0])


def test_check_choices_names_parameter_value_and_allowed():
    from wmnb.errors import check_choices
    assert check_choices("cores", "gru", ("rnn", "gru")) == ("gru",)
    assert check_choices("cores", ["rnn", "gru"], ("rnn", "gru")) == ("rnn", "gru")
    with pytest.raises(ConfigError, match=r"cores=\(\) is not allowed"):
        check_choices("cores", [], ("rnn", "gru"))
    with pytest.raises(ConfigError, match=r"cores='tcn' is not allowed; choose one of \['rnn', 'gru'\]"):
        check_choices("cores", ["gru", "tcn"], ("rnn", "gru"))
