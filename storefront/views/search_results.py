"""The search pages: results for words, a photo or both (GET /search/) and the photo upload
(POST /search/photo/), which stores the photo under a token and redirects to the results.

The searching is ranking.serving.ranked_search (search.product_search.search_products in the
live ranker's order for this visitor; the page's features are logged with the search id); filters from the form's fields and the hits'
products come from catalog.product_filters (from_fields) and search.hydration (hydrate), as
for the API; the page's links (chips, facets, pages) from storefront.filter_links. Bad input renders the normal page
with a message beside the control it concerns.
"""

from __future__ import annotations

import io
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods
from PIL import Image

from catalog import selectors as catalog_selectors
from catalog.image_files import DERIVATIVE_SIZES
from catalog.models import ProductImage
from catalog.product_filters import PRICE_BUCKETS, UnknownFilterValue, from_fields
from ranking import services as ranking_services
from ranking.serving import ranked_search
from search.hydration import hydrate
from search.photo_search import PhotoSearchUnavailable
from search.product_search import InvalidSearch, SearchRequest
from search.query_photos import QueryPhotoNotFound, query_photo_content, query_photo_store
from search.suggestions import words_that_find
from storefront.context_processors import category_tree_for
from storefront.filter_links import (
    Chip,
    FacetGroup,
    Query,
    facet_options,
    filter_chips,
    pagination,
)
from storefront.forms import (
    MAX_PAGE,
    SEARCH_PAGE_SIZE,
    PhotoUploadForm,
    SearchForm,
    size_text,
    upload_too_large_message,
)
from storefront.query_photo_access import query_photo_remember
from storefront.rate_limits import results_scope, search_rate_limit, upload_scope
from tracking import services as tracking_services
from tracking.visitors import request_identity
from vision.colours import NAMES as COLOUR_NAMES
from vision.decoding import ImageRejected

PAGE_SIZE = SEARCH_PAGE_SIZE
# Room in a multipart body for the other fields and part headers beside the photo.
MULTIPART_ALLOWANCE = 64 * 1024
# The query string's parameters, in the order links write them.
PARAM_ORDER = ("q", "photo", "crop", "category", "brand", "colour", "price", "in_stock")

FILTER_PARAMS = ("category", "brand", "colour", "price", "in_stock")

PHOTO_GONE = "That photo is no longer available. Upload it again to search with it."
PHOTO_UNAVAILABLE = "Search by photo is not available yet. Try searching with words."


def wants_json(request) -> bool:
    """The photo widget (static/js/photo-search.js) asks for JSON: the results URL instead of a
    303 it would follow (and search twice), the messages instead of the page around them."""
    return "application/json" in request.headers.get("Accept", "")


def photo_rejected_message(error: ImageRejected) -> str:
    return f"We could not use that photo: {error}."


# --- page parts ---------------------------------------------------------------------------


def search_query(data: dict) -> Query:
    """The search's parameters (the form's cleaned data) as its links write them."""
    pairs = []
    for name in PARAM_ORDER:
        value = data.get(name)
        if name == "colour":
            pairs.extend(("colour", colour) for colour in value or ())
        elif name == "crop" and value is not None:
            pairs.append(("crop", f"{value.left},{value.top},{value.right},{value.bottom}"))
        elif name == "in_stock" and value:
            pairs.append(("in_stock", "1"))
        elif value and isinstance(value, str):
            pairs.append((name, value))
    return Query(reverse("storefront:search"), tuple(pairs), PARAM_ORDER)


@dataclass(frozen=True)
class Card:
    """A result as the product card (storefront.templatetags.shop.product_card) shows it."""

    product: object
    image: ProductImage | None  # with its srcset (catalog.selectors.images_with_srcset)
    width: int  # the grid thumbnail's box, so it has the picture's shape
    height: int
    similarity: int | None  # the match in percent: the hit's share of the search's highest possible score
    match_label: str  # what the percent says: "Looks similar" (photo), "Match" (photo and words)
    matched_words: tuple[str, ...]
    position: int  # 1-based rank over all pages
    search_id: uuid.UUID | None = None  # the recorded search (tracking), carried by the card's link


def card_box(image: ProductImage) -> tuple[int, int]:
    """Width and height of a result's picture as the grid thumbnail (no query)."""
    width, height = image.width or 480, image.height or 600
    scale = min(1.0, DERIVATIVE_SIZES["thumbnail"] / max(width, height)) if image.thumbnail else 1.0
    return max(1, round(width * scale)), max(1, round(height * scale))


def match_percent(score: float, ceiling: float | None) -> int | None:
    """A hit's share of the highest score its search can give, in percent: it rises and falls
    with the score, so the percents on the cards always agree with their order."""
    if not ceiling:
        return None
    return max(0, min(100, round(100 * score / ceiling)))


def cards(
    hydrated, offset: int, *, mode: str = "text", ceiling: float | None = None, search_id: uuid.UUID | None = None
) -> list[Card]:
    result = []
    label = "Looks similar" if mode == "photo" else "Match"
    for position, item in enumerate(hydrated, start=offset + 1):
        image = next((i for i in item.product.visible_images if i.pk == item.image_id), None)
        width, height = card_box(image) if image is not None else (0, 0)
        similarity = match_percent(item.hit.score, ceiling)
        result.append(
            Card(
                item.product,
                image,
                width,
                height,
                similarity,
                label,
                tuple(item.hit.matched_words),
                position,
                search_id,
            )
        )
    catalog_selectors.images_with_srcset(card.image for card in result if card.image is not None)
    return result


def _did_you_mean(query: Query, text: str, filters) -> dict | None:
    """Words that found nothing: the part of them that finds something, as a link."""
    suggestion = words_that_find(text, filters)
    if suggestion is None:
        return None
    return {"words": suggestion, "url": query.without("q", "page").adding("q", suggestion).url()}


def nearest_categories(shown: list[Card], limit: int = 4) -> list:
    """The categories of the products shown, most frequent first (ties: the better-ranked
    first): where a photo with no close match may lead. No query (the cards carry them)."""
    counts: dict[int, list] = {}
    for card in shown:
        category = card.product.category
        if category is not None:
            counts.setdefault(category.pk, [category, 0])[1] += 1
    ranked = sorted(counts.values(), key=lambda entry: -entry[1])  # stable: first seen first among equals
    return [category for category, _ in ranked[:limit]]


def chips(query: Query, applied: tuple[str, ...], tree) -> list[Chip]:
    """One removable chip per filter, in the query's order; `applied` names them as the
    search described them ("brand Northwind")."""
    named = {label.split(" ", 1)[0]: label.split(" ", 1)[1] for label in applied if " " in label}
    chosen = [(name, value) for name, value in query.pairs if name in FILTER_PARAMS]
    labels = {
        "category": {value: tree.get(value).name for name, value in chosen if name == "category" and tree.get(value)},
        "brand": {value: named["brand"] for name, value in chosen if name == "brand" and "brand" in named},
        "price": PRICE_BUCKETS,
    }
    return filter_chips(query, chosen, labels, in_stock_label="In stock only")


def facet_groups(query: Query, facets, tree) -> list[FacetGroup]:
    """Links that narrow the results. Words (text and hybrid): the facet counts over every
    match. A photo alone has no counts: every category and colour is offered."""
    if facets is not None:
        groups = [
            FacetGroup(
                name,
                title,
                facet_options(name, [(v.value, v.label, v.count) for v in values], query.values(name), query),
            )
            for name, title, values in (
                ("category", "Category", facets.category),
                ("brand", "Brand", facets.brand),
                ("colour", "Colour", facets.colour),
                ("price", "Price", facets.price),
            )
        ]
        return [group for group in groups if group.options]
    chosen_categories = query.values("category")
    categories = FacetGroup("category", "Category")
    for root in tree.roots:
        categories.options += facet_options("category", [(root.slug, root.name, None)], chosen_categories, query)
        categories.options += facet_options(
            "category",
            [(child.slug, child.name, None) for child in root.subcategories],
            chosen_categories,
            query,
            nested=True,
        )
    colours = FacetGroup(
        "colour",
        "Colour",
        facet_options("colour", [(name, name, None) for name in COLOUR_NAMES], query.values("colour"), query),
    )
    return [categories, colours] if categories.options else [colours]


def _photo_size(content: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(content)) as picture:  # reads the header only
        return picture.size


def _crop_mark(crop, width: int, height: int) -> dict | None:
    """The crop box as percentages of the photo, to draw it over the picture."""
    if crop is None:
        return None
    left, top = min(crop.left, width), min(crop.top, height)
    right, bottom = min(max(crop.right, left), width), min(max(crop.bottom, top), height)
    return {
        name: f"{100 * value / whole:.2f}"
        for name, value, whole in (
            ("left", left, width),
            ("top", top, height),
            ("width", right - left, width),
            ("height", bottom - top, height),
        )
    }


# --- views --------------------------------------------------------------------------------


@search_rate_limit(results_scope)
def results(request):
    """GET /search/ — see storefront.forms for the parameters."""
    form = SearchForm(request.GET)
    context, status = _results_context(request, form)
    return render(request, "storefront/search_results.html", context, status=status)


@csrf_exempt  # checked below, once the size is known: CsrfViewMiddleware would read the body first
@require_http_methods(["GET", "POST"])
@search_rate_limit(upload_scope)  # before anything reads the body
def photo_upload(request):
    """POST /search/photo/ — store the photo, then 303 to its results. GET goes to the search page.
    Asked for JSON (Accept: application/json, as the photo widget does): 200 {"url": results} or
    400 {"errors": [messages]}, the same messages the page shows.

    An upload too large by its Content-Length is refused before anything reads the body (the
    CSRF check reads request.POST, which parses and spools the whole body); then the CSRF check
    runs as usual (_photo_upload, csrf_protect): 403 without a valid token."""
    if request.method == "GET":
        return redirect("storefront:search")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.API_MAX_UPLOAD_BYTES + MULTIPART_ALLOWANCE:
        form = PhotoUploadForm()
        tracking_services.photo_upload_recorded(request_identity(request), rejection_code="too_large")
        return _upload_failed(request, form, upload_too_large_message(length))
    return _photo_upload(request)


@csrf_protect
def _photo_upload(request):
    form = PhotoUploadForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            stored = query_photo_store(data["photo"].read())
        except ImageRejected as error:
            tracking_services.photo_upload_recorded(request_identity(request), rejection_code=error.code)
            form.add_error("photo", photo_rejected_message(error))
        else:
            tracking_services.photo_upload_recorded(request_identity(request))
            query_photo_remember(request.session, stored.token)
            crop = data["crop_box"]
            query = search_query(
                {
                    "q": data["q"],
                    "photo": stored.token,
                    "crop": stored.crop_in_stored_pixels(crop) if crop is not None else None,
                }
            )
            if wants_json(request):
                return JsonResponse({"url": query.url()})
            return HttpResponseRedirect(query.url(), status=303)
    return _upload_failed(request, form)


def _upload_failed(request, form: PhotoUploadForm, message: str = ""):
    errors = [message] if message else [str(error) for errors in form.errors.values() for error in errors]
    if wants_json(request):
        return JsonResponse({"errors": errors}, status=400)
    q = form.data.get("q", "") if form.is_bound else ""
    query = search_query({"q": q.strip()[:200]})
    context = _base_context(request, query, SearchForm())
    context.update({"upload_errors": errors, "upload_q": q})
    return render(request, "storefront/search_results.html", context, status=400)


def _filter_values(query: Query) -> dict[str, list[str]]:
    """The search's filters as its query string gives them, for its tracking event."""
    values: dict[str, list[str]] = {}
    for name, value in query.pairs:
        if name in FILTER_PARAMS:
            values.setdefault(name, []).append(value)
    return values


def _base_context(request, query: Query, form: SearchForm) -> dict:
    return {
        "form": form,
        "query": query,
        "header_q": query.get("q"),
        "q": query.get("q"),
        "mode": "",
        "cards": [],
        "total": 0,
        "chips": [],
        "facet_groups": [],
        "pagination": None,
        "errors": [],
        "upload_errors": [],
        "photo_errors": [],
        "photo": None,
        "searched": False,
        "page_number": 1,
        "clean_url": "",
        "clear_filters_url": query.without(*FILTER_PARAMS).url(),
        "upload_limit": size_text(settings.API_MAX_UPLOAD_BYTES),
        "upload_limit_bytes": settings.API_MAX_UPLOAD_BYTES,
    }


def _results_context(request, form: SearchForm) -> tuple[dict, int]:
    valid = form.is_valid()
    data = form.cleaned_data
    query = search_query(data)
    context = _base_context(request, query, form)
    tree = category_tree_for(request)
    status = 200
    if not valid:
        context["errors"] = [str(error) for name in PARAM_ORDER + ("page",) for error in form.errors.get(name, ())]
        context["clean_url"] = query.url()
        context["chips"] = chips(query, (), tree)
        return context, 400

    text, token, crop, page = data["q"], data["photo"], data["crop"], data["page"]
    content = None
    if token:
        try:
            content = query_photo_content(token)
        except QueryPhotoNotFound:
            context["photo_errors"] = [PHOTO_GONE]
            query = query.without("photo")
            context["query"] = query
            token, crop = "", None
            status = 200 if text else 404
        else:
            width, height = _photo_size(content)
            context["photo"] = {
                "token": token,
                "url": reverse("storefront:query-photo", args=[token]),
                "width": width,
                "height": height,
                "crop": query.get("crop"),
                "remove_url": query.without("photo").url() if text else "",
                "words_remove_url": query.without("q").url() if text else "",
                "crop_mark": _crop_mark(crop, width, height),
                "whole_url": query.without("crop").url() if crop is not None else "",
            }
    context["chips"] = chips(query, (), tree)
    if not text and content is None:
        return context, status  # nothing to search for: the page offers both ways

    try:
        filters = from_fields(data)
    except UnknownFilterValue as error:
        context["errors"] = [str(error)]
        context["clean_url"] = query.without(error.field).url()
        return context, 400

    offset = (page - 1) * PAGE_SIZE
    started = time.perf_counter()
    identity = request_identity(request)
    try:
        ranked = ranked_search(
            SearchRequest(text=text, image=content, crop=crop, filters=filters, limit=PAGE_SIZE, offset=offset),
            visitor_id=identity.visitor_id if identity else None,
        )
    except ImageRejected as error:  # a crop box that leaves too little of the photo
        context["photo_errors"] = [photo_rejected_message(error)]
        context["clean_url"] = query.without("crop").url()
        return context, 400
    except InvalidSearch as error:
        context["errors"] = [f"{str(error)[:1].upper()}{str(error)[1:]}."]
        return context, 400
    except PhotoSearchUnavailable:
        context["photo_errors"] = [PHOTO_UNAVAILABLE]
        return context, 503

    found = ranked.results
    search_id = tracking_services.search_recorded(
        identity,
        search_kind=found.mode,
        words=text,
        filters=_filter_values(query),
        page=page,
        result_count=found.total,
        latency_ms=(time.perf_counter() - started) * 1000,
        ranker=ranked.ranker,
    )
    ranking_services.shown_results_log(search_id, identity.visitor_id if identity else None, ranked)
    in_stock = bool(query.get("in_stock"))
    shown = cards(hydrate(found.hits), offset, mode=found.mode, ceiling=found.score_ceiling, search_id=search_id)
    context.update(
        {
            "search_id": search_id,
            "in_stock": in_stock,
            "in_stock_url": (query.without("in_stock") if in_stock else query.adding("in_stock", "1")).url(),
            "clear_filters_url": query.without(*FILTER_PARAMS).url(),
            "searched": True,
            "mode": found.mode,
            "total": found.total,
            "page_number": page,
            "cards": shown,
            "chips": chips(query, found.applied_filters, tree),
            "facet_groups": facet_groups(query, found.facets, tree),
            "pagination": pagination(query, Paginator(range(min(found.total, PAGE_SIZE * MAX_PAGE)), PAGE_SIZE), page),
            # Nothing found: not a dead end (one more query, on these pages only).
            "categories_to_browse": catalog_selectors.categories_to_browse(tree) if not found.total else [],
            "colour_words_read": found.colour_words_read,
            "corrections": found.corrections,
            "did_you_mean": _did_you_mean(query, text, filters) if found.mode == "text" and not found.total else None,
            # Nothing looks much like the photo: say so, and offer its nearest categories.
            "no_close_match": found.no_close_match,
            "nearest_categories": nearest_categories(shown) if found.no_close_match else [],
        }
    )
    return context, status
