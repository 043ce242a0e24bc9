from datetime import UTC, datetime

import pytest

from ranking.models import EngagementTotals, ProductEngagement
from ranking.selectors import DEFAULT_RATES, product_facts
from vision import knn
from vision.selectors import embedding_model_active

pytestmark = pytest.mark.django_db


def test_the_candidates_facts_with_engagement_and_taste(processed_shop):
    model = embedding_model_active()
    dress, mug = processed_shop.id("D1"), processed_shop.id("M1")
    taste = knn.image_vector(model, processed_shop.images["D1"].pk)
    ProductEngagement.objects.create(
        product_id=dress, impressions=10, clicks=2, carts=1, purchases=0.5, as_of=datetime.now(UTC)
    )

    facts, rates, similarities = product_facts([dress, mug], taste=taste, taste_model_id=model.pk)

    assert rates == DEFAULT_RATES  # no catalogue totals yet
    assert (facts[dress].price, facts[dress].in_stock, facts[mug].in_stock) == (20.0, True, True)
    assert facts[dress].category_id == processed_shop.products["D1"].category_id
    assert (facts[dress].impressions, facts[dress].clicks, facts[dress].carts, facts[dress].purchases) == (
        10,
        2,
        1,
        0.5,
    )
    assert (facts[mug].impressions, facts[mug].clicks) == (0, 0)
    assert similarities[dress] == pytest.approx(1.0, abs=1e-3)  # its own picture
    assert similarities[mug] < 0.99
    assert facts[dress].age_days == pytest.approx(0.0, abs=0.01)

    EngagementTotals.objects.create(impressions=100, clicks=20, carts=5, as_of=datetime.now(UTC))
    facts, rates, similarities = product_facts([dress])
    assert (rates.ctr, rates.cart_rate) == (0.2, 0.25)
    assert similarities == {}  # no taste vector given
    # A taste of a model that has no vectors (retired since): no cosine rather than a wrong one.
    assert product_facts([dress], taste=taste, taste_model_id=model.pk + 1000)[2] == {}
