"""The product card (storefront.templatetags.shop.product_card): its markup, pinned whole for
the cases the shop's grids use, since it is built in Python rather than a template."""

from decimal import Decimal
from types import SimpleNamespace

from storefront.templatetags.shop import product_card


def picture(**overrides):
    return SimpleNamespace(
        **{"card_url": "/media/derived/a.jpg", "width": 320, "height": 400, "srcset": "", **overrides}
    )


def product(**overrides):
    values = {
        "pk": 7,
        "title": "Marta <dress> & “more”",
        "price": Decimal("59.5"),
        "currency": "EUR",
        "in_stock": True,
        "brand": SimpleNamespace(name="Lumen & Loom"),
        "visible_images": [picture()],
        "get_absolute_url": lambda: "/p/7/marta-dress/",
        **overrides,
    }
    return SimpleNamespace(**values)


def test_a_grid_card_shows_the_first_picture_lazily_with_brand_title_and_price_escaped():
    assert product_card(product()) == (
        '<article class="product-card">\n'
        '  <div class="product-card__media">\n'
        "    \n"
        '    <img class="product-card__image" src="/media/derived/a.jpg" width="320" height="400" loading="lazy"'
        ' decoding="async" alt="Marta &lt;dress&gt; &amp; “more”">\n'
        "    \n"
        "    \n"
        "    \n"
        "  </div>\n"
        '  <div class="product-card__body">\n'
        '    <p class="product-card__brand">Lumen &amp; Loom</p>\n'
        '    <h3 class="product-card__title"><a class="product-card__link" href="/p/7/marta-dress/">'
        "Marta &lt;dress&gt; &amp; “more”</a></h3>\n"
        '    <p class="product-card__price">€59.50</p>\n'
        "  </div>\n"
        "</article>\n"
    )


def test_a_search_result_card_says_why_and_uses_the_matched_picture_and_its_box():
    result = SimpleNamespace(position=3, similarity=87, match_label="Match", matched_words=("red", "<b>"))
    matched = picture(card_url="/media/derived/b.jpg", srcset="/media/derived/b.jpg 320w", width=600, height=800)
    html = product_card(
        product(in_stock=False, brand=None),
        image=matched,
        width=300,
        height=400,
        result=result,
        sizes="50vw",
        eager=True,
    )
    assert html == (
        '<article class="product-card result-card" data-product-id="7" data-position="3" data-similarity="87"'
        ' data-stock="out">\n'
        '  <div class="product-card__media">\n'
        "    \n"
        '    <img class="product-card__image" src="/media/derived/b.jpg" srcset="/media/derived/b.jpg 320w"'
        ' sizes="50vw" width="300" height="400" fetchpriority="high" decoding="async"'
        ' alt="Marta &lt;dress&gt; &amp; “more”">\n'
        "    \n"
        "    \n"
        '    <span class="badge badge--out">Out of stock</span>\n'
        "  </div>\n"
        '  <div class="product-card__body">\n'
        "    \n"
        '    <h3 class="product-card__title"><a class="product-card__link" href="/p/7/marta-dress/">'
        "Marta &lt;dress&gt; &amp; “more”</a></h3>\n"
        '    <p class="product-card__price">€59.50</p>\n'
        '    <ul class="result-card__why" aria-label="Why it is shown">\n'
        '      <li class="result-card__reason result-card__reason--photo">Match (87%)</li>\n'
        '      <li class="result-card__reason result-card__reason--words">Matches “red”, “&lt;b&gt;”</li>\n'
        "    </ul>\n"
        "  </div>\n"
        "</article>\n"
    )


def test_without_a_picture_the_card_shows_a_named_placeholder_and_a_srcset_gets_default_sizes():
    html = product_card(product(visible_images=[]))
    assert (
        '    <div class="product-card__placeholder" role="img"'
        ' aria-label="Marta &lt;dress&gt; &amp; “more”: no photo yet"></div>\n    \n    \n  </div>' in html
    )
    with_srcset = product_card(product(visible_images=[picture(srcset="/a.jpg 320w", width=0, height=0)]))
    assert (
        'srcset="/a.jpg 320w" sizes="(min-width: 1240px) 280px, (min-width: 1024px) 23vw, (min-width: 700px) 31vw,'
        ' 46vw" width="480" height="600"' in with_srcset
    )


def test_a_result_without_a_similarity_or_words_says_nothing_about_why():
    result = SimpleNamespace(position=1, similarity=None, match_label="", matched_words=())
    html = product_card(product(), result=result)
    assert html.startswith('<article class="product-card result-card" data-product-id="7" data-position="1">')
    assert "result-card__why" not in html
    words_only = product_card(product(), result=SimpleNamespace(**{**vars(result), "matched_words": ("linen",)}))
    assert (
        '\n      \n      <li class="result-card__reason result-card__reason--words">Matches “linen”</li>' in words_only
    )
