"""How a simulated shopper looks at results and acts on them: the click model of the shopper
simulator (simulation.shoppers), kept apart so it is read, documented and changed in one place.

Position-based model (PBM; Craswell et al. 2008, Chuklin et al. "Click Models for Web Search"
2015): a result at position k is examined with probability EXAMINATION(k) = 1 / k ** 0.8,
whatever it is, and clicked if examined and attractive to this shopper. Attractiveness comes
from the shopper's hidden tastes only (simulation.tastes.affinity): category, colour, brand,
price band; never from the search's own score, so a ranker that learns from the clicks learns
the shoppers' tastes and position bias, not the current ranker's opinion of itself.

What a shopper sees (impressions): the first FIRST_SCREEN results of a page, then rows of
ROW results while scrolling on with probability SCROLL_ON per row; examination applies
within what was seen.

After a click: an add to cart with probability CART(affinity) when the product is in stock
(in one of its sizes that are, chosen at random); at the end of a session with a cart, the
checkout page with probability CHECKOUT and the purchase with PURCHASE of those; a line is
taken out of the cart with probability REMOVE.

These numbers are set by hand to give a steep position bias and a small share of searches
ending in a purchase; they are not fitted to any real shop's logs. The rates they give on the
demo catalogue are in bench/events.py's JSON ("simulation": searches, clicks, adds to cart,
purchases).
"""

from __future__ import annotations

import math

FIRST_SCREEN = 8
ROW = 4
SCROLL_ON = 0.55
EXAMINATION_DECAY = 0.8
CHECKOUT = 0.5
PURCHASE = 0.6
REMOVE = 0.1


def examination(position: int) -> float:
    """P(a shopper examines the result at this 1-based position | it was on screen)."""
    return 1.0 / position**EXAMINATION_DECAY


def attractiveness(affinity: float) -> float:
    """P(click | examined): a logistic curve of the shopper's affinity for the product (0 for
    no match with any taste, about 4.5 for a match on everything)."""
    return 1.0 / (1.0 + math.exp(-(affinity - 2.5) * 1.6))


def cart(affinity: float) -> float:
    """P(add to cart | clicked, in stock)."""
    return 0.05 + 0.25 * attractiveness(affinity)


def results_seen(rng, shown: int) -> int:
    """How many results of a page of `shown` a shopper scrolls past (impressions)."""
    seen = min(shown, FIRST_SCREEN)
    while seen < shown and rng.random() < SCROLL_ON:
        seen = min(shown, seen + ROW)
    return seen
