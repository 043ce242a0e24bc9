"""The search pages: results for words, a photo or both (GET /search/) and the photo upload
(POST /search/photo/), which stores the photo under a token and redirects to the results.

The searching is search.product_search.search_products; filters from slugs and the hits'
products come from search.selectors (product_filters, hydrate), as for the API. Bad input renders the normal page with a message beside the control it concerns.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods
from PIL import Image

from catalog import selectors as catalog_selectors
from storefront.context_processors import category_tree_for
from catalog.models import ProductImage
from catalog.preprocessing import DERIVATIVE_SIZES, ImageRejected
from search.colours import NAMES as COLOUR_NAMES
from search.selectors import UnknownFilterValue, hydrate, product_filters
from storefront.forms import (
    MAX_PAGE,
    SEARCH_PAGE_SIZE,
    PRICE_BUCKETS,
    PhotoUploadForm,
    SearchForm,
    price_range,
    size_text,
    upload_too_large_message,
)
from storefront.rate_limits import results_scope, search_rate_limit, upload_scope
from search.photo_search import PhotoSearchUnavailable
from search.product_search import InvalidSearch, SearchRequest, search_products
from search.query_photos import QueryPhotoNotFound, query_photo_content, query_photo_store
from storefront.query_photo_access import query_photo_remember

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


# --- links --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """The current search as (name, value) pairs in PARAM_ORDER; builds the page's links."""

    pairs: tuple[tuple[str, str], ...]

    @classmethod
    def from_cleaned(cls, data: dict) -> "Query":
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
        return cls(tuple(pairs))

    def get(self, name: str) -> str:
        return next((value for key, value in self.pairs if key == name), "")

    def without(self, *names: str, value: str | None = None) -> "Query":
        """Without these parameters (or only the pair with this value); a crop goes with its photo."""
        if "photo" in names:
            names = (*names, "crop")
        return Query(tuple((k, v) for k, v in self.pairs if not (k in names and (value is None or v == value))))

    def replacing(self, name: str, value: str) -> "Query":
        pairs = [(k, v) for k, v in self.without(name).pairs]
        pairs.append((name, value))
        return Query(tuple(sorted(pairs, key=lambda pair: PARAM_ORDER.index(pair[0]))))

    def adding(self, name: str, value: str) -> "Query":
        if (name, value) in self.pairs:
            return self
        return Query(tuple(sorted((*self.pairs, (name, value)), key=lambda pair: PARAM_ORDER.index(pair[0]))))

    def url(self, page: int = 1) -> str:
        pairs = list(self.pairs) + ([("page", str(page))] if page > 1 else [])
        base = reverse("storefront:search")
        return f"{base}?{urlencode(pairs)}" if pairs else base


# --- page parts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    product: object
    image: ProductImage | None
    src: str
    srcset: str
    width: int
    height: int
    similarity: int | None  # percent
    matched_words: tuple[str, ...]
    position: int  # 1-based rank over all pages


@dataclass(frozen=True)
class Chip:
    label: str
    remove_url: str
    name: str  # the parameter it removes
    value: str


@dataclass
class FacetGroup:
    name: str  # the parameter
    title: str
    options: list[dict] = field(default_factory=list)  # label, count, url, selected


def card_image(image: ProductImage | None) -> tuple[str, str, int, int]:
    """src, srcset (catalog.selectors.image_srcset: the stored derivatives), width and height
    (the grid thumbnail's, so the box has the picture's shape) of a result's picture. No query."""
    if image is None:
        return "", "", 0, 0
    width, height = image.width or 480, image.height or 600
    scale = min(1.0, DERIVATIVE_SIZES["thumbnail"] / max(width, height)) if image.thumbnail else 1.0
    return (image.card_url, catalog_selectors.image_srcset(image),
            max(1, round(width * scale)), max(1, round(height * scale)))


def cards(hydrated, offset: int) -> list[Card]:
    result = []
    for position, item in enumerate(hydrated, start=offset + 1):
        image = next((i for i in item.product.visible_images if i.pk == item.image_id), None)
        src, srcset, width, height = card_image(image)
        cosine = item.hit.visual_similarity
        similarity = None if cosine is None else max(0, min(100, round(cosine * 100)))
        result.append(Card(item.product, image, src, srcset, width, height, similarity,
                           tuple(item.hit.matched_words), position))
    return result


def chips(query: Query, applied: tuple[str, ...], tree) -> list[Chip]:
    """One removable chip per filter; each removes that filter only (and goes to page 1)."""
    named = {label.split(" ", 1)[0]: label.split(" ", 1)[1] for label in applied if " " in label}
    found = []
    for name, value in query.pairs:
        if name == "category":
            node = tree.get(value)
            label = f"Category: {node.name if node else value}"
        elif name == "brand":
            label = f"Brand: {named.get('brand', value)}"
        elif name == "colour":
            label = f"Colour: {value}"
        elif name == "price":
            label = f"Price: {PRICE_BUCKETS.get(value, value)}"
        elif name == "in_stock":
            label = "In stock only"
        else:
            continue
        found.append(Chip(label, query.without(name, value=value if name == "colour" else None).url(), name, value))
    return found


def facet_groups(query: Query, facets, tree) -> list[FacetGroup]:
    """Links that narrow the results. Words (text and hybrid): the facet counts over every
    match. A photo alone has no counts: every category and colour is offered."""
    selected_colours = {v for k, v in query.pairs if k == "colour"}
    groups = []
    if facets is not None:
        specs = [("category", "Category", facets.category), ("brand", "Brand", facets.brand),
                 ("colour", "Colour", facets.colour), ("price", "Price", facets.price)]
        for name, title, values in specs:
            group = FacetGroup(name, title)
            for value in values:
                group.options.append(_facet_option(query, name, value.value, value.label, value.count,
                                                   selected_colours))
            if group.options:
                groups.append(group)
        return groups
    group = FacetGroup("category", "Category")
    for root in tree.roots:
        group.options.append(_facet_option(query, "category", root.slug, root.name, None, selected_colours))
        for child in root.subcategories:
            option = _facet_option(query, "category", child.slug, child.name, None, selected_colours)
            option["nested"] = True
            group.options.append(option)
    if group.options:
        groups.append(group)
    colours = FacetGroup("colour", "Colour")
    for name in COLOUR_NAMES:
        colours.options.append(_facet_option(query, "colour", name, name, None, selected_colours))
    groups.append(colours)
    return groups


def _facet_option(query: Query, name: str, value: str, label: str, count: int | None, selected_colours) -> dict:
    if name == "colour":
        selected = value in selected_colours
        target = query.without("colour", value=value) if selected else query.adding("colour", value)
    else:
        selected = query.get(name) == value
        target = query.without(name) if selected else query.replacing(name, value)
    return {"value": value, "label": label, "count": count, "url": target.url(), "selected": selected}


def pagination(query: Query, total: int, number: int) -> dict | None:
    paginator = Paginator(range(min(total, PAGE_SIZE * MAX_PAGE)), PAGE_SIZE)
    if paginator.num_pages <= 1 and number == 1:
        return None
    links = []
    for page in paginator.get_elided_page_range(min(number, paginator.num_pages), on_each_side=1, on_ends=1):
        if page == paginator.ELLIPSIS:
            links.append({"number": None})
        else:
            links.append({"number": page, "url": query.url(page), "current": page == number})
    return {
        "number": number, "num_pages": paginator.num_pages, "links": links,
        "previous_url": query.url(number - 1) if number > 1 else "",
        "next_url": query.url(number + 1) if number < paginator.num_pages else "",
    }


def _photo_size(content: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(content)) as picture:  # reads the header only
        return picture.size


def _crop_mark(crop, width: int, height: int) -> dict | None:
    """The crop box as percentages of the photo, to draw it over the picture."""
    if crop is None:
        return None
    left, top = min(crop.left, width), min(crop.top, height)
    right, bottom = min(max(crop.right, left), width), min(max(crop.bottom, top), height)
    return {name: f"{100 * value / whole:.2f}" for name, value, whole in (
        ("left", left, width), ("top", top, height), ("width", right - left, width), ("height", bottom - top, height))}


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
            form.add_error("photo", photo_rejected_message(error))
        else:
            query_photo_remember(request.session, stored.token)
            crop = data["crop_box"]
            query = Query.from_cleaned({
                "q": data["q"], "photo": stored.token,
                "crop": stored.crop_in_stored_pixels(crop) if crop is not None else None,
            })
            if wants_json(request):
                return JsonResponse({"url": query.url()})
            return HttpResponseRedirect(query.url(), status=303)
    return _upload_failed(request, form)


def _upload_failed(request, form: PhotoUploadForm, message: str = ""):
    errors = [message] if message else [str(error) for errors in form.errors.values() for error in errors]
    if wants_json(request):
        return JsonResponse({"errors": errors}, status=400)
    q = form.data.get("q", "") if form.is_bound else ""
    query = Query.from_cleaned({"q": q.strip()[:200]})
    context = _base_context(request, query, SearchForm())
    context.update({"upload_errors": errors, "upload_q": q})
    return render(request, "storefront/search_results.html", context, status=400)


def _base_context(request, query: Query, form: SearchForm) -> dict:
    return {
        "form": form, "query": query, "header_q": query.get("q"), "q": query.get("q"),
        "mode": "", "cards": [], "total": 0, "chips": [], "facet_groups": [], "pagination": None,
        "errors": [], "upload_errors": [], "photo_errors": [], "photo": None, "searched": False,
        "page_number": 1, "clean_url": "", "clear_filters_url": query.without(*FILTER_PARAMS).url(),
        "upload_limit": size_text(settings.API_MAX_UPLOAD_BYTES), "upload_limit_bytes": settings.API_MAX_UPLOAD_BYTES,
    }


def _results_context(request, form: SearchForm) -> tuple[dict, int]:
    valid = form.is_valid()
    data = form.cleaned_data
    query = Query.from_cleaned(data)
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
            context["photo"] = {"token": token, "url": reverse("storefront:query-photo", args=[token]),
                                "width": width, "height": height,
                                "crop": query.get("crop"), "remove_url": query.without("photo").url() if text else "",
                                "words_remove_url": query.without("q").url() if text else "",
                                "crop_mark": _crop_mark(crop, width, height),
                                "whole_url": query.without("crop").url() if crop is not None else ""}
    context["chips"] = chips(query, (), tree)
    if not text and content is None:
        return context, status  # nothing to search for: the page offers both ways

    try:
        filters = product_filters(
            category=data["category"], brand=data["brand"], in_stock=data["in_stock"], colours=data["colour"],
            **dict(zip(("price_min", "price_max"), price_range(data["price"]) if data["price"] else (None, None))),
        )
    except UnknownFilterValue as error:
        context["errors"] = [str(error)]
        context["clean_url"] = query.without(error.field).url()
        return context, 400

    offset = (page - 1) * PAGE_SIZE
    try:
        found = search_products(SearchRequest(text=text, image=content, crop=crop, filters=filters,
                                              limit=PAGE_SIZE, offset=offset))
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

    in_stock = bool(query.get("in_stock"))
    context.update({
        "in_stock": in_stock,
        "in_stock_url": (query.without("in_stock") if in_stock else query.adding("in_stock", "1")).url(),
        "clear_filters_url": query.without(*FILTER_PARAMS).url(),
        "searched": True, "mode": found.mode, "total": found.total, "page_number": page,
        "cards": cards(hydrate(found.hits), offset),
        "chips": chips(query, found.applied_filters, tree),
        "facet_groups": facet_groups(query, found.facets, tree),
        "pagination": pagination(query, found.total, page),
    })
    return context, status
