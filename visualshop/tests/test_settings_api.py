import pytest

from visualshop.settings.api import _rate


@pytest.mark.parametrize("value, rate", [(None, "30/min"), ("", None), ("  ", None), ("5/second", "5/second")])
def test_an_unset_rate_is_the_default_and_an_empty_one_switches_the_limit_off(monkeypatch, value, rate):
    if value is None:
        monkeypatch.delenv("API_THROTTLE_IMAGE_SEARCH", raising=False)
    else:
        monkeypatch.setenv("API_THROTTLE_IMAGE_SEARCH", value)
    assert _rate("API_THROTTLE_IMAGE_SEARCH", "30/min") == rate
