"""The shop's browsing pages: home, category listings (filters and price buckets from
catalog.product_filters, facet counts from catalog.listing_facets, chips and page links from
storefront.filter_links), product pages with their "Visually similar" row."""

from __future__ import annotations

import dataclasses
import uuid

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render

from catalog import product_filters, selectors
from catalog.listing_facets import ListingFacets, listing_facets
from catalog.models import Product
from ranking.recommendations import recommended_product_ids
from search import hydration
from storefront.context_processors import category_tree_for
from storefront.filter_links import Chip, FacetOption, Query, facet_options, filter_chips, pagination
from storefront.forms import ListingForm
from tracking import services as tracking_services
from tracking.visitors import request_identity

PAGE_SIZE = 24
FEATURED_COUNT = 12


def home(request):
    tree = category_tree_for(request)
    selectors.category_covers(tree)
    featured = selectors.product_featured(FEATURED_COUNT)
    recommended = _recommended(request, FEATURED_COUNT // 2)
    selectors.products_with_srcset([*featured, *recommended])
    selectors.images_with_srcset(c.cover for c in tree.roots if c.cover is not None)
    return render(
        request,
        "storefront/home.html",
        {
            "categories": tree.roots,
            # The hero's call to action: the department with the widest choice.
            "hero_category": max(tree.roots, key=lambda c: (len(c.subcategories), -tree.roots.index(c)), default=None),
            "featured": featured,
            "recommended": recommended,
        },
    )


def _recommended(request, limit: int, exclude: tuple[int, ...] = ()) -> list[Product]:
    """The visitor's "Recommended for you" row (ranking.recommendations): empty for a newcomer
    or an untracked visitor."""
    identity = request_identity(request)
    ids = recommended_product_ids(identity.visitor_id if identity else None, limit=limit, exclude=exclude)
    products = hydration.products_by_id(ids)
    return [products[pid] for pid in ids if pid in products]


def category_detail(request, slug: str):

    tree = category_tree_for(request)
    category = tree.get(slug)
    if category is None:
        raise Http404("No such category")
    ancestors = tree.ancestors(category)

    buckets = product_filters.price_bucket_values()
    chosen = ListingForm(request.GET, price_buckets=buckets).values()  # no category: the page's own
    try:
        filters = product_filters.from_fields(chosen)
    except product_filters.UnknownFilterValue:  # a brand the shop does not have: not a filter
        chosen["brand"] = ""
        filters = product_filters.from_fields(chosen)
    filters = dataclasses.replace(filters, category_ids=tree.descendant_ids(category))
    facets = listing_facets(filters)

    paginator = Paginator(selectors.products_sorted(product_filters.product_list(filters), chosen["sort"]), PAGE_SIZE)
    paginator.count = facets.total  # counted by the facet query already
    page = paginator.get_page(request.GET.get("page"))
    selectors.products_with_srcset(page.object_list)
    query = Query.from_request(request)
    return render(
        request,
        "storefront/category.html",
        {
            "category": category,
            "ancestors": ancestors[:-1],
            "active_category_slug": ancestors[0].slug,
            "subcategories": category.subcategories,
            "page": page,
            "pagination": pagination(query, paginator, page.number),
            "chosen": chosen,
            "facets": _facet_options(facets, chosen, buckets),
            "chips": _chips(query, facets, chosen, buckets),
            "sorts": [
                {"value": value, "label": label, "selected": value == chosen["sort"]}
                for value, label in selectors.PRODUCT_SORTS.items()
            ],
            "filtered": _is_filtered(chosen),
        },
    )


def product_detail(request, pk: int, slug: str):
    try:
        product = selectors.product_get(pk)
    except Product.DoesNotExist:
        raise Http404("No such product") from None
    if slug != (product.slug or "item"):
        return redirect(product, permanent=True)
    ancestors = category_tree_for(request).ancestors(product.category) if product.category_id else []
    selectors.products_with_srcset([product])
    rows = hydration.similar_product_cards(product.pk, limit=settings.SIMILAR_PRODUCTS_COUNT, known_active=True)
    # The picture that made each one similar (search.hydration picks a visible one).
    similar = [
        {"product": row.product, "image": next((i for i in row.product.visible_images if i.pk == row.image_id), None)}
        for row in rows
    ]
    selectors.images_with_srcset(item["image"] for item in similar if item["image"] is not None)
    recommended = _recommended(
        request, settings.SIMILAR_PRODUCTS_COUNT, exclude=(product.pk, *(item["product"].pk for item in similar))
    )
    selectors.products_with_srcset(recommended)
    sizes_in_stock = [size for size in product.sizes if size.in_stock]
    _click_from_link(request, product.pk)
    return render(
        request,
        "storefront/product.html",
        {
            "product": product,
            "ancestors": ancestors,
            "active_category_slug": ancestors[0].slug if ancestors else "",
            "images": product.visible_images,
            "similar": similar,
            "recommended": recommended,
            # The size picker's sizes (prefetched by product_get), and the one size chosen for
            # the shopper when it is the only one left.
            "sizes": product.sizes,
            "only_size": sizes_in_stock[0] if len(sizes_in_stock) == 1 else None,
        },
    )


def _click_from_link(request, product_id: int) -> None:
    """A search result's link brought the shopper here (?sid=<search>&pos=<n>, and &cid=<the
    click's id> when the page's script sent the click too): record the click. Parameters
    that are not well formed are ignored: they are the link's, not the shopper's, and the
    product page shows the same either way."""
    search_id = _uuid_param(request.GET.get("sid"))
    if search_id is None:
        return
    position = request.GET.get("pos", "")
    tracking_services.click_recorded(
        request_identity(request),
        product_id=product_id,
        search_id=search_id,
        position=int(position) if position.isdigit() and 1 <= int(position) <= 32767 else None,
        event_id=_uuid_param(request.GET.get("cid")),
    )


def _uuid_param(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


# -- the listing's filters as the template shows them -------------------------------------------


def _is_filtered(chosen: dict) -> bool:
    return bool(chosen["brand"] or chosen["colour"] or chosen["price"] or chosen["in_stock"])


def _facet_options(
    facets: ListingFacets, chosen: dict, buckets: list[tuple[str, str]]
) -> dict[str, list[FacetOption] | int]:
    """The filter form's options; a chosen brand or colour nothing matches any more stays
    listed, so it can be unticked. Price ranges with nothing in them are left out unless chosen."""

    def chosen_list(name: str) -> list[str]:
        return [chosen[name]] if chosen[name] else []

    return {
        "brand": facet_options(
            "brand", [(f.value, f.label, f.count) for f in facets.brand], chosen_list("brand"), keep_chosen=True
        ),
        "colour": facet_options(
            "colour", [(f.value, f.label, f.count) for f in facets.colour], chosen["colour"], keep_chosen=True
        ),
        "price": facet_options(
            "price",
            [
                (value, label, count)
                for (value, label), count in zip(buckets, facets.price)
                if count or value == chosen["price"]
            ],
            chosen_list("price"),
        ),
        "in_stock": facets.in_stock,
    }


def _chips(query: Query, facets: ListingFacets, chosen: dict, buckets: list[tuple[str, str]]) -> list[Chip]:
    """One removable chip per active filter (storefront.filter_links.filter_chips: page reset, sort kept)."""
    active = [
        *([("brand", chosen["brand"])] if chosen["brand"] else []),
        *(("colour", colour) for colour in chosen["colour"]),
        *([("price", chosen["price"])] if chosen["price"] else []),
        *([("in_stock", "1")] if chosen["in_stock"] else []),
    ]
    labels = {"brand": {f.value: f.label for f in facets.brand}, "price": dict(buckets)}
    return filter_chips(query, active, labels, in_stock_label="In stock")
