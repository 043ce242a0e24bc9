import pytest

from visualshop import env


@pytest.mark.parametrize(
    "read, default",
    [
        (env.env_str, "fallback"),
        (env.env_int, 7),
        (env.env_float, 0.5),
        (env.env_bool, True),
        (env.env_list, ["a"]),
    ],
)
def test_an_empty_variable_means_the_default_as_an_unset_one_does(monkeypatch, read, default):
    monkeypatch.setenv("VISUALSHOP_TEST_SETTING", "")
    assert read("VISUALSHOP_TEST_SETTING", default) == default
    monkeypatch.delenv("VISUALSHOP_TEST_SETTING")
    assert read("VISUALSHOP_TEST_SETTING", default) == default
