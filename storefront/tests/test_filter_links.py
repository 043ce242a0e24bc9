"""storefront.filter_links: plain Python, no database."""

import pytest
from django.core.paginator import Paginator
from django.test import RequestFactory

from storefront.filter_links import (
    Chip,
    FacetOption,
    PageLink,
    Query,
    facet_options,
    filter_chips,
    pagination,
    same_value,
)

ORDER = ("q", "photo", "crop", "category", "brand", "colour", "price", "in_stock")


def search(*pairs) -> Query:
    return Query("/search/", tuple(pairs), ORDER)


def listing(url: str) -> Query:
    return Query.from_request(RequestFactory().get(url))


# --- Query ----------------------------------------------------------------------------------


def test_a_request_query_keeps_its_parameters_in_their_order_with_their_values_grouped():
    query = listing("/c/mugs/?sort=price&colour=Red&page=2&colour=%20BLUE%20&utm=x")
    assert query.pairs == (("sort", "price"), ("colour", "Red"), ("colour", " BLUE "), ("page", "2"), ("utm", "x"))
    assert query.url() == "/c/mugs/?sort=price&colour=Red&colour=+BLUE+&page=2&utm=x"
    assert query.get("colour") == "Red"
    assert query.values("colour") == ["Red", " BLUE "]
    assert query.get("brand") == "" and query.values("brand") == []


def test_a_query_without_parameters_is_the_path_alone():
    assert listing("/c/mugs/").url() == "/c/mugs/"
    assert search(("q", "mug")).without("q").url() == "/search/"


def test_values_are_encoded_as_a_query_string():
    assert search(("q", "red & blue dress?")).url() == "/search/?q=red+%26+blue+dress%3F"


def test_without_drops_every_value_of_a_parameter_or_only_one_value_as_cleaned():
    query = listing("/c/x/?colour=Forest%20%20Green&colour=red&brand=acme&colour=RED")
    assert query.without("colour").url() == "/c/x/?brand=acme"
    assert query.without("colour", value="red").url() == "/c/x/?colour=Forest++Green&brand=acme"
    assert query.without("colour", value="forest green").url() == "/c/x/?colour=red&colour=RED&brand=acme"
    assert query.without("brand", "colour").url() == "/c/x/"


def test_same_value_compares_as_the_forms_clean():
    assert same_value("  Forest \t Green ", "forest green")
    assert not same_value("forestgreen", "forest green")


def test_a_crop_goes_with_its_photo():
    query = search(("q", "linen"), ("photo", "abc"), ("crop", "1,2,3,4"), ("brand", "acme"))
    assert query.without("photo").pairs == (("q", "linen"), ("brand", "acme"))
    assert query.without("crop").pairs == (("q", "linen"), ("photo", "abc"), ("brand", "acme"))


def test_replacing_and_adding_write_parameters_in_the_links_order():
    query = search(("q", "mug"), ("colour", "red"), ("in_stock", "1"))
    assert query.replacing("category", "home").pairs == (
        ("q", "mug"),
        ("category", "home"),
        ("colour", "red"),
        ("in_stock", "1"),
    )
    assert query.replacing("colour", "blue").pairs == (("q", "mug"), ("colour", "blue"), ("in_stock", "1"))
    assert query.adding("colour", "blue").pairs == (
        ("q", "mug"),
        ("colour", "red"),
        ("colour", "blue"),
        ("in_stock", "1"),
    )
    assert query.adding("colour", "red") is query


def test_parameters_outside_the_order_go_last():
    query = Query("/c/x/", (("sort", "price"), ("brand", "acme")), ("brand", "colour"))
    assert query.adding("colour", "red").pairs == (("brand", "acme"), ("colour", "red"), ("sort", "price"))


def test_page_one_has_no_page_parameter():
    assert listing("/c/x/?page=3&sort=price").on_page(1).url() == "/c/x/?sort=price"
    assert listing("/c/x/?page=3").on_page(1).url() == "/c/x/"


def test_another_page_sets_page_where_the_query_has_it_or_last():
    assert listing("/c/x/?page=3&sort=price").on_page(4).url() == "/c/x/?page=4&sort=price"
    assert listing("/c/x/?page=3&sort=price&page=9").on_page(2).url() == "/c/x/?page=2&sort=price"
    assert listing("/c/x/?sort=price").on_page(2).url() == "/c/x/?sort=price&page=2"
    assert search(("q", "mug")).on_page(2).url() == "/search/?q=mug&page=2"


# --- chips ----------------------------------------------------------------------------------


def test_a_chip_per_chosen_filter_labelled_and_removing_only_itself_on_page_one():
    query = listing("/c/x/?sort=price&brand=acme&colour=Red&colour=blue&price=0-25&in_stock=1&page=3")
    chips = filter_chips(
        query,
        [("brand", "acme"), ("colour", "red"), ("colour", "blue"), ("price", "0-25"), ("in_stock", "1")],
        {"brand": {"acme": "Acme & Co"}, "price": {"0-25": "0–25"}},
        in_stock_label="In stock",
    )
    assert chips == [
        Chip("Brand: Acme & Co", "/c/x/?sort=price&colour=Red&colour=blue&price=0-25&in_stock=1", "brand", "acme"),
        Chip("Colour: red", "/c/x/?sort=price&brand=acme&colour=blue&price=0-25&in_stock=1", "colour", "red"),
        Chip("Colour: blue", "/c/x/?sort=price&brand=acme&colour=Red&price=0-25&in_stock=1", "colour", "blue"),
        Chip("Price: 0–25", "/c/x/?sort=price&brand=acme&colour=Red&colour=blue&in_stock=1", "price", "0-25"),
        Chip("In stock", "/c/x/?sort=price&brand=acme&colour=Red&colour=blue&price=0-25", "in_stock", "1"),
    ]


def test_a_chip_without_a_label_for_its_value_shows_the_value():
    chips = filter_chips(search(("q", "mug"), ("category", "gone")), [("category", "gone")], {}, "In stock only")
    assert chips == [Chip("Category: gone", "/search/?q=mug", "category", "gone")]


def test_no_chosen_filters_no_chips():
    assert filter_chips(search(("q", "mug")), [], {}, "In stock only") == []


# --- facets ---------------------------------------------------------------------------------


def test_facet_options_of_a_form_are_selected_by_the_chosen_values_and_have_no_links():
    options = facet_options("brand", [("acme", "Acme", 3), ("zeta", "Zeta", 1)], ["zeta"])
    assert options == [FacetOption("acme", "Acme", 3, False), FacetOption("zeta", "Zeta", 1, True)]


def test_a_chosen_value_nothing_matches_stays_listed_when_asked():
    values = [("red", "red", 2)]
    assert facet_options("colour", values, ["red", "teal"], keep_chosen=True) == [
        FacetOption("red", "red", 2, True),
        FacetOption("teal", "teal", 0, True),
    ]
    assert facet_options("colour", values, ["red", "teal"]) == [FacetOption("red", "red", 2, True)]


def test_a_single_valued_facet_links_replace_its_value_or_remove_it():
    query = search(("q", "mug"), ("brand", "acme"), ("in_stock", "1"))
    options = facet_options("brand", [("acme", "Acme", 3), ("zeta", "Zeta", None)], query.values("brand"), query)
    assert [(o.value, o.selected, o.url) for o in options] == [
        ("acme", True, "/search/?q=mug&in_stock=1"),
        ("zeta", False, "/search/?q=mug&brand=zeta&in_stock=1"),
    ]
    assert options[1].count is None


def test_a_colour_facet_links_add_or_remove_that_colour_only():
    query = search(("q", "mug"), ("colour", "red"))
    options = facet_options("colour", [("red", "red", 2), ("blue", "blue", 1)], query.values("colour"), query)
    assert [(o.value, o.selected, o.url) for o in options] == [
        ("red", True, "/search/?q=mug"),
        ("blue", False, "/search/?q=mug&colour=red&colour=blue"),
    ]


def test_nested_options_are_marked():
    options = facet_options("category", [("dresses", "Dresses", None)], [], search(), nested=True)
    assert options == [FacetOption("dresses", "Dresses", None, False, "/search/?category=dresses", nested=True)]


# --- pagination -----------------------------------------------------------------------------


def test_a_single_page_has_no_pagination():
    assert pagination(search(("q", "mug")), Paginator(range(24), 24), 1) is None
    assert pagination(search(("q", "mug")), Paginator(range(0), 24), 1) is None


def test_pagination_links_the_pages_around_the_current_one_and_the_ends():
    query = listing("/c/mugs/?sort=price&page=5")
    links = pagination(query, Paginator(range(240), 24), 5)
    assert links.number == 5 and links.num_pages == 10
    assert links.previous_url == "/c/mugs/?sort=price&page=4"
    assert links.next_url == "/c/mugs/?sort=price&page=6"
    assert links.links == [
        PageLink(1, "/c/mugs/?sort=price", False),
        PageLink(None),
        PageLink(4, "/c/mugs/?sort=price&page=4", False),
        PageLink(5, "/c/mugs/?sort=price&page=5", True),
        PageLink(6, "/c/mugs/?sort=price&page=6", False),
        PageLink(None),
        PageLink(10, "/c/mugs/?sort=price&page=10", False),
    ]


@pytest.mark.parametrize(
    "number, previous_url, next_url",
    [
        (1, "", "/search/?q=mug&page=2"),
        (2, "/search/?q=mug", ""),
    ],
)
def test_the_first_page_has_no_previous_and_the_last_no_next(number, previous_url, next_url):
    links = pagination(search(("q", "mug")), Paginator(range(30), 24), number)
    assert (links.previous_url, links.next_url) == (previous_url, next_url)


def test_a_page_past_the_last_links_back_to_the_pages_there_are():
    links = pagination(search(("q", "mug")), Paginator(range(30), 24), 5)
    assert [link.number for link in links.links] == [1, 2]
    assert not any(link.current for link in links.links)
    assert (links.previous_url, links.next_url) == ("/search/?q=mug&page=4", "")
