"""wmnb.errors: the shared parameter checks name the parameter, the bad value and what is allowed."""
import pytest

from wmnb.errors import ConfigError, check_choice, check_float, check_int


def test_check_choice_names_parameter_value_and_allowed():
    with pytest.raises(ConfigError) as e:
        check_choice("core", "transformer", ["rnn", "gru", "lstm"])
    msg = str(e.value)
    assert "core" in msg and "transformer" in msg and "gru" in msg


@pytest.mark.parametrize("value", [0, -3, 2.5, "4", True])
def test_check_int_rejects_bad_values(value):
    with pytest.raises(ConfigError, match="hidden_size"):
        check_int("hidden_size", value, low=1)


def test_check_float_open_interval():
    assert check_float("p_match", 0.5, low=0, high=1, low_open=True, high_open=True) == 0.5
    for bad in (0.0, 1.0, float("nan"), "x"):
        with pytest.raises(ConfigError, match="p_match"):
            check_float("p_match", bad, low=0, high=1, low_open=True, high_open=True)
