"""The demo catalogue's products as plain data: one product per curated photograph (600)
(photographs/manifest.json, made by tools/curate_demo_photos.py), with a seeded title, brand,
price, stock, sizes and description for its kind. Needs neither Django nor a database.

The photographs are real: casual CC0 photos of garments on floors, beds and hangers (the
clothing-small dataset). What the data does not say, the shop makes up believably and never
contradicts the photo: titles are a style name and the kind ("Marta dress"), never a colour,
material or cut the picture might not show (the shop measures colours from the photos, as for
any catalogue). The dataset has one photo of each garment, so each product has one photo.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path

SEED = "visualshop-demo-v2"
SKU_PREFIX = "DEMO-"
PHOTO_DIR = Path(__file__).resolve().parent / "photographs"
OUT_OF_STOCK_SHARE = 0.12

# Style names: short, pronounceable, not anybody's trademark.
STYLE_NAMES = (
    "Alba", "Arden", "Astrid", "Bergen", "Birch", "Bryn", "Calla", "Cleo", "Dalia", "Dune",
    "Edda", "Elm", "Esme", "Fenna", "Fern", "Freya", "Greta", "Hale", "Hedda", "Ilse",
    "Iris", "Juno", "Kaia", "Kirsi", "Lark", "Linnea", "Lotta", "Luna", "Maren", "Marta",
    "Mila", "Nell", "Nora", "Oaken", "Olla", "Orla", "Pia", "Quill", "Rhea", "Rowan",
    "Runa", "Saga", "Selma", "Signe", "Skye", "Solveig", "Sorrel", "Tove", "Ula", "Vale",
    "Vera", "Wren", "Yara", "Ylva", "Zinnia", "Aspen", "Briar", "Tilde", "Delta", "Ember",
    "Agnes", "Alma", "Arlo", "Beck", "Bodil", "Carys", "Dagny", "Elin", "Elsa", "Emil",
    "Finn", "Frida", "Gry", "Hanne", "Hugo", "Idun", "Inez", "Jonna", "Karin", "Leif",
    "Liv", "Magda", "Nils", "Odette", "Otto", "Petra", "Ronja", "Stina", "Thea", "Vilde",
)  # fmt: skip


@dataclass(frozen=True)
class Kind:
    noun: str  # what the title calls it
    path: tuple[str, ...]  # category path
    brands: tuple[str, ...]
    price: tuple[int, int]  # whole euros, inclusive
    sizes: tuple[str, ...]  # the sizes the product comes in, smallest first
    sentences: tuple[str, ...]  # the description draws two of these
    care: str


CLOTHING_BRANDS = ("Northwind Atelier", "Lumen & Loom", "Maison Verte", "Fjordline", "Kestrel Studio")
LETTER_SIZES = ("XS", "S", "M", "L", "XL")
KINDS: dict[str, Kind] = {
    "dress": Kind(
        "dress",
        ("Clothing", "Dresses"),
        CLOTHING_BRANDS,
        (39, 129),
        LETTER_SIZES,
        (
            "Easy to wear from morning to evening.",
            "Cut to move with you, with room where it counts.",
            "Pairs with trainers by day and sandals by night.",
            "A dress you will reach for all season.",
        ),
        "Machine wash at 30 °C, hang to dry.",
    ),
    "t-shirt": Kind(
        "T-shirt",
        ("Clothing", "Tops", "T-shirts"),
        CLOTHING_BRANDS,
        (15, 39),
        LETTER_SIZES,
        (
            "Soft against the skin and made to be worn every day.",
            "Keeps its shape wash after wash.",
            "Works on its own or under a shirt.",
            "An everyday favourite.",
        ),
        "Machine wash at 40 °C, do not tumble dry.",
    ),
    "shirt": Kind(
        "shirt",
        ("Clothing", "Tops", "Shirts"),
        CLOTHING_BRANDS,
        (29, 79),
        LETTER_SIZES,
        (
            "Smart enough for the office, relaxed enough for the weekend.",
            "Wear it buttoned up or open over a tee.",
            "A shirt that irons easily and travels well.",
        ),
        "Machine wash at 40 °C, iron on a medium setting.",
    ),
    "longsleeve": Kind(
        "long-sleeve top",
        ("Clothing", "Tops", "Long-sleeve tops"),
        CLOTHING_BRANDS,
        (22, 49),
        LETTER_SIZES,
        (
            "The layer you reach for when the evenings turn cool.",
            "Soft, easy and warm enough on its own.",
            "Made for layering under a jacket.",
        ),
        "Machine wash at 30 °C, dry flat.",
    ),
    "outwear": Kind(
        "jacket",
        ("Clothing", "Jackets & coats"),
        ("Fjordline", "Northwind Atelier", "Kestrel Studio"),
        (79, 229),
        LETTER_SIZES,
        (
            "Keeps out the wind on the way to work.",
            "Room for a jumper underneath.",
            "Deep pockets for keys, phone and cold hands.",
            "A jacket for changeable weather.",
        ),
        "Professional clean recommended.",
    ),
    "pants": Kind(
        "trousers",
        ("Clothing", "Trousers"),
        CLOTHING_BRANDS,
        (39, 99),
        ("28", "30", "32", "34", "36"),
        (
            "Comfortable enough to wear all day.",
            "Pockets that hold a phone without spoiling the line.",
            "Dress them up or down.",
        ),
        "Machine wash at 30 °C inside out.",
    ),
    "shorts": Kind(
        "shorts",
        ("Clothing", "Shorts"),
        CLOTHING_BRANDS,
        (25, 55),
        LETTER_SIZES,
        (
            "Made for long summer days.",
            "Light and easy to pack.",
            "Comfortable from the park to the beach.",
        ),
        "Machine wash at 30 °C.",
    ),
    "skirt": Kind(
        "skirt",
        ("Clothing", "Skirts"),
        CLOTHING_BRANDS,
        (29, 79),
        ("XS", "S", "M", "L"),
        (
            "Moves beautifully when you walk.",
            "Wear it with a tee or a knit.",
            "A skirt for every season.",
        ),
        "Machine wash at 30 °C, hang to dry.",
    ),
    "shoes": Kind(
        "shoes",
        ("Shoes",),
        ("Stride & Co.", "Fjordline", "Kestrel Studio"),
        (49, 149),
        ("36", "37", "38", "39", "40", "41", "42", "43", "44", "45"),
        (
            "A cushioned insole for long days on your feet.",
            "A grippy sole for wet pavements.",
            "Comfortable from the first wear.",
        ),
        "Wipe clean with a damp cloth.",
    ),
    "hat": Kind(
        "hat",
        ("Accessories", "Hats & caps"),
        ("Oakridge Goods", "Lumen & Loom", "Salt & Cedar"),
        (15, 45),
        ("S/M", "L/XL"),
        (
            "Keeps the sun or the cold off.",
            "Packs into a bag without losing its shape.",
            "The finishing touch for any outfit.",
        ),
        "Spot clean only.",
    ),
}


@dataclass(frozen=True)
class DemoProduct:
    """One product of the demo catalogue, as plain data (no database)."""

    sku: str
    title: str
    description: str
    category_path: tuple[str, ...]
    brand: str
    price: Decimal
    stock: int  # the sum of the sizes' stock
    kind: str
    photos: tuple[str, ...]  # file names in PHOTO_DIR, the first is the main photo
    attributes: dict = field(hash=False, compare=True)
    # (size, stock) smallest first; each size is a variant with SKU "<sku>-<size>".
    sizes: tuple[tuple[str, int], ...] = ()

    @property
    def image_count(self) -> int:
        return len(self.photos)


@cache
def manifest() -> dict:
    return json.loads((PHOTO_DIR / "manifest.json").read_text())


def demo_photo(product: DemoProduct, index: int) -> bytes:
    """The bytes of the product's index-th photo."""
    return (PHOTO_DIR / product.photos[index]).read_bytes()


def _interleaved(photos: list[dict]) -> list[dict]:
    """The photos with the kinds taken in turn (each kind at its own pace), so that any prefix
    of the catalogue (`--limit`, the quick benchmarks) holds every kind."""
    by_kind: dict[str, list[dict]] = {}
    for photo in photos:
        by_kind.setdefault(photo["kind"], []).append(photo)
    placed = [
        ((index + 0.5) / len(group), kind_order, photo)
        for kind_order, group in enumerate(by_kind.values())
        for index, photo in enumerate(group)
    ]
    return [photo for _, _, photo in sorted(placed, key=lambda item: item[:2])]


def _price(rng: random.Random, low: int, high: int) -> Decimal:
    euros = rng.randint(low, high)
    return Decimal(f"{euros}.{rng.choice(('00', '95', '99'))}")


def _stock(rng: random.Random) -> int:
    if rng.random() < OUT_OF_STOCK_SHARE:
        return 0
    return rng.choice((rng.randint(1, 5), rng.randint(6, 60)))


# How a product's stock spreads over its sizes: the middle sizes sell most, so shops stock
# more of them (weights for 4 or 5 sizes, smallest first).
SIZE_WEIGHTS = {4: (1, 3, 3, 1), 5: (1, 2, 3, 2, 1)}


def _size_stock(sku: str, sizes: tuple[str, ...], total: int) -> tuple[tuple[str, int], ...]:
    """The product's stock dealt over its sizes, with a generator of its own (seeded by the
    SKU), so the sizes change nothing else the catalogue draws; small stocks leave some sizes
    sold out, as in a real shop."""
    rng = random.Random(f"{SEED}:{sku}")
    weights = SIZE_WEIGHTS.get(len(sizes), (1,) * len(sizes))
    counts = [0] * len(sizes)
    for index in rng.choices(range(len(sizes)), weights=weights, k=total):
        counts[index] += 1
    return tuple(zip(sizes, counts, strict=True))


def demo_products(limit: int | None = None) -> list[DemoProduct]:
    """The demo catalogue (every curated photo, one product each), or its first `limit`."""
    rng = random.Random(SEED)
    names_left: dict[str, list[str]] = {}
    products = []
    for n, photo in enumerate(_interleaved(manifest()["photos"]), start=1):
        kind = KINDS[photo["kind"]]
        names = names_left.setdefault(photo["kind"], rng.sample(STYLE_NAMES, len(STYLE_NAMES)))
        title = f"{names.pop()} {kind.noun}"
        description = " ".join([*rng.sample(kind.sentences, 2), kind.care])
        sku = f"{SKU_PREFIX}{n:04d}"
        # Drawn in this order (brand, price, stock) since the first catalogue: keep it.
        brand, price, stock = rng.choice(kind.brands), _price(rng, *kind.price), _stock(rng)
        products.append(
            DemoProduct(
                sku=sku,
                title=title,
                description=description,
                category_path=kind.path,
                brand=brand,
                price=price,
                stock=stock,
                kind=photo["kind"],
                photos=(photo["file"],),
                attributes={},
                sizes=_size_stock(sku, kind.sizes, stock),
            )
        )
    return products if limit is None else products[: max(0, limit)]
