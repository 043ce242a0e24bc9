"""The links of the shop's listings, category pages (storefront.views.browse) and search results
(storefront.views.search_results) alike: the current query string as a Query, and the removable
filter chips, facet options and pagination links made from it. Plain Python (a request is read
once, by Query.from_request), no database.

A filter is a query-string parameter (category, brand, colour, price, in_stock). Colour is the
one a listing may have several values of at once; the others have one value each.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.core.paginator import Paginator

# Filters a listing may have several values of at once: their chips and facet options add or
# remove one value; any other filter's replace or remove the whole parameter.
MULTI_VALUED = frozenset({"colour"})
# A chip's label: "<title>: <value's label>".
FILTER_TITLES = {"category": "Category", "brand": "Brand", "colour": "Colour", "price": "Price"}
# Parameters that go when another goes: a crop is a box on its photo.
GOES_WITH = {"photo": ("crop",)}


def same_value(raw: str, value: str) -> bool:
    """Whether a value as the query string has it is this cleaned one (the forms lower-case
    values and collapse their spaces: "  Forest  Green" is "forest green")."""
    return " ".join(raw.split()).lower() == value


@dataclass(frozen=True)
class Query:
    """A page's query string as (name, value) pairs, in the order its links write them, and
    the links to it with a parameter added, replaced or removed, or on another page.

    `order` is the parameter order of links that add or replace a parameter (pairs are kept
    sorted by it); a parameter not in it goes last."""

    path: str
    pairs: tuple[tuple[str, str], ...] = ()
    order: tuple[str, ...] = ()

    @classmethod
    def from_request(cls, request) -> Query:
        """The request's own query string, as it came (Django groups a parameter's values)."""
        return cls(request.path, tuple((name, value) for name, values in request.GET.lists() for value in values))

    def get(self, name: str) -> str:
        return next((value for key, value in self.pairs if key == name), "")

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]

    def without(self, *names: str, value: str | None = None) -> Query:
        """Without these parameters (or only their values that are `value`); a parameter
        takes those that go with it (GOES_WITH)."""
        names = (*names, *(other for name in names for other in GOES_WITH.get(name, ())))
        kept = tuple((k, v) for k, v in self.pairs if not (k in names and (value is None or same_value(v, value))))
        return Query(self.path, kept, self.order)

    def replacing(self, name: str, value: str) -> Query:
        return self._sorted((*self.without(name).pairs, (name, value)))

    def adding(self, name: str, value: str) -> Query:
        if (name, value) in self.pairs:
            return self
        return self._sorted((*self.pairs, (name, value)))

    def on_page(self, number: int) -> Query:
        """On page `number`: `page` set where the query string has it (else last); page 1 has none."""
        if number <= 1:
            return self.without("page")
        page = ("page", str(number))
        if not any(name == "page" for name, _ in self.pairs):
            return Query(self.path, (*self.pairs, page), self.order)
        first = next(n for n, (name, _) in enumerate(self.pairs) if name == "page")
        rest = tuple(pair for pair in self.pairs[first + 1 :] if pair[0] != "page")
        return Query(self.path, (*self.pairs[:first], page, *rest), self.order)

    def url(self) -> str:
        return f"{self.path}?{urlencode(self.pairs)}" if self.pairs else self.path

    def _sorted(self, pairs) -> Query:
        rank = {name: n for n, name in enumerate(self.order)}
        return Query(self.path, tuple(sorted(pairs, key=lambda pair: rank.get(pair[0], len(rank)))), self.order)


# --- chips --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chip:
    label: str
    remove_url: str
    name: str  # the parameter it removes
    value: str


def filter_chips(
    query: Query, chosen: Iterable[tuple[str, str]], value_labels: Mapping[str, Mapping[str, str]], in_stock_label: str
) -> list[Chip]:
    """One removable chip per chosen filter (name, cleaned value), in the order given, labelled
    "Brand: <label>" with the value's label from value_labels (else the value itself). Each
    links to the listing without that filter (a colour: without that colour) on page 1."""
    chips = []
    for name, value in chosen:
        if name == "in_stock":
            label = in_stock_label
        else:
            label = f"{FILTER_TITLES[name]}: {value_labels.get(name, {}).get(value, value)}"
        remove = query.without("page").without(name, value=value if name in MULTI_VALUED else None)
        chips.append(Chip(label, remove.url(), name, value))
    return chips


# --- facets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FacetOption:
    value: str
    label: str
    count: int | None  # None: not counted (a photo search offers every value)
    selected: bool
    url: str = ""  # the listing with it chosen, or without it when selected; "" for a form's option
    nested: bool = False  # a subcategory under the category before it


@dataclass
class FacetGroup:
    name: str  # the parameter
    title: str
    options: list[FacetOption] = field(default_factory=list)


def facet_options(
    name: str,
    values: Iterable[tuple[str, str, int | None]],
    chosen: Collection[str],
    query: Query | None = None,
    *,
    keep_chosen: bool = False,
    nested: bool = False,
) -> list[FacetOption]:
    """A filter's options (value, label, count), those in `chosen` (cleaned values) selected.
    With a query each option links to the listing with it chosen (a colour alongside the
    others; any other filter instead of its value) or, when selected, without it; without
    one the options are a form's. keep_chosen: a chosen value nothing matches any more is
    listed too (count 0), so it can be unticked."""
    options = []
    for value, label, count in values:
        selected = value in chosen
        url = _facet_url(query, name, value, selected).url() if query is not None else ""
        options.append(FacetOption(value, label, count, selected, url, nested))
    if keep_chosen:
        shown = {option.value for option in options}
        options += [FacetOption(value, value, 0, True) for value in chosen if value not in shown]
    return options


def _facet_url(query: Query, name: str, value: str, selected: bool) -> Query:
    if name in MULTI_VALUED:
        return query.without(name, value=value) if selected else query.adding(name, value)
    return query.without(name) if selected else query.replacing(name, value)


# --- pagination ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PageLink:
    number: int | None  # None: the ellipsis of pages left out
    url: str = ""
    current: bool = False


@dataclass(frozen=True)
class Pagination:
    number: int
    num_pages: int
    links: list[PageLink]
    previous_url: str
    next_url: str


def pagination(query: Query, paginator: Paginator, number: int) -> Pagination | None:
    """Links to the pages around `number` (one each side, and the first and last), previous
    and next; None when there is only page 1. A page past the last (a search whose results
    shrank) still links back to the pages there are."""
    if paginator.num_pages <= 1 and number == 1:
        return None
    links = [
        PageLink(None) if page == paginator.ELLIPSIS else PageLink(page, query.on_page(page).url(), page == number)
        for page in paginator.get_elided_page_range(min(number, paginator.num_pages), on_each_side=1, on_ends=1)
    ]
    return Pagination(
        number=number,
        num_pages=paginator.num_pages,
        links=links,
        previous_url=query.on_page(number - 1).url() if number > 1 else "",
        next_url=query.on_page(number + 1).url() if number < paginator.num_pages else "",
    )
