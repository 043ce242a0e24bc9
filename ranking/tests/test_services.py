import pytest

from ranking import services
from ranking.features import FEATURE_SET
from ranking.models import RankerVersion

pytestmark = pytest.mark.django_db
Status = RankerVersion.Status


def version(**fields) -> RankerVersion:
    return RankerVersion.objects.create(
        feature_set=FEATURE_SET, feature_names=["fused_rank"], model_text="tree", **fields
    )


def statuses(*versions) -> list[str]:
    return [RankerVersion.objects.get(pk=v.pk).status for v in versions]


def test_promoting_retires_the_live_one():
    first, second = version(), version()
    assert services.ranker_promote(first) is None
    assert services.ranker_promote(second) == first
    assert statuses(first, second) == [Status.RETIRED, Status.LIVE]
    assert services.ranker_promote(second) is None  # already live: nothing changes
    assert statuses(first, second) == [Status.RETIRED, Status.LIVE]


def test_a_failed_version_or_one_of_another_feature_set_is_never_promoted():
    with pytest.raises(services.PromotionRefused, match="has no model"):
        services.ranker_promote(version(status=Status.FAILED))
    old = RankerVersion.objects.create(feature_set="2020-01-01.1", feature_names=[], model_text="tree")
    with pytest.raises(services.PromotionRefused, match="was trained on feature set 2020-01-01.1"):
        services.ranker_promote(old)
    assert not RankerVersion.objects.filter(status=Status.LIVE).exists()


def test_rollback_puts_back_the_one_before_and_never_the_one_rolled_back():
    first, second, third = version(), version(), version()
    for each in (first, second, third):
        services.ranker_promote(each)

    assert services.ranker_rollback() == (third, second)
    assert statuses(first, second, third) == [Status.RETIRED, Status.LIVE, Status.ROLLED_BACK]
    assert services.ranker_rollback() == (second, first)
    assert statuses(first, second, third) == [Status.LIVE, Status.ROLLED_BACK, Status.ROLLED_BACK]
    assert services.ranker_rollback() == (first, None)  # today's order serves
    assert services.ranker_rollback() == (None, None)
