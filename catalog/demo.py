"""The demo catalogue: a few hundred believable products with drawn photos, built offline.

Everything here is deterministic: the same seed gives the same SKUs, titles, prices,
attributes and byte-identical JPEG files on every run, so loading twice changes
nothing and tests can compare bytes. The pure parts (`demo_products`,
`render_demo_image`) touch neither the database nor the network; `load_demo_catalog`
writes through catalog.services like any other import.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

SEED = "visualshop-demo-v1"
SKU_PREFIX = "DEMO-"
PRODUCTS_PER_KIND = 14
CANVAS = (480, 600)
JPEG_QUALITY = 86

# ---------------------------------------------------------------------------
# What the shop sells
# ---------------------------------------------------------------------------

COLOURS: dict[str, tuple[int, int, int]] = {
    "navy": (30, 44, 86), "black": (32, 32, 35), "white": (246, 246, 242), "grey": (146, 148, 152),
    "charcoal": (64, 66, 72), "red": (190, 38, 46), "burgundy": (112, 30, 48), "pink": (234, 156, 176),
    "coral": (238, 114, 92), "mustard": (214, 160, 42), "olive": (110, 116, 58), "forest green": (36, 92, 62),
    "sage": (150, 174, 140), "teal": (22, 118, 126), "sky blue": (124, 176, 220), "cobalt": (40, 82, 182),
    "lavender": (176, 160, 214), "beige": (218, 198, 166), "camel": (182, 132, 80), "brown": (108, 70, 44),
    "cream": (240, 230, 204), "terracotta": (194, 96, 64), "denim blue": (72, 100, 142),
}
LIGHT_ACCENTS = ("white", "cream", "beige", "sky blue", "pink")
DARK_ACCENTS = ("navy", "black", "red", "forest green", "burgundy", "charcoal")

PATTERN_ADJECTIVE = {"solid": "", "striped": "Striped", "polka dot": "Polka-dot", "checked": "Checked",
                     "gradient": "Ombré"}

MATERIAL_NOTES = {
    "cotton": "Soft, breathable cotton that gets better with every wash.",
    "organic cotton": "Made from GOTS-certified organic cotton, grown without synthetic pesticides.",
    "linen": "Pure European linen: cool in summer and softer every time you wear it.",
    "cotton jersey": "A mid-weight cotton jersey with a little stretch for easy movement.",
    "Tencel": "Silky-smooth Tencel lyocell made from sustainably sourced wood pulp.",
    "viscose": "Fluid viscose that drapes beautifully and feels light on the skin.",
    "cotton poplin": "Crisp cotton poplin with a smooth, slightly glossy finish.",
    "silk": "Washed silk with a soft sheen and a gentle, fluid drape.",
    "crepe": "Textured crepe that resists creasing, so it packs well.",
    "cotton twill": "Sturdy cotton twill with a touch of elastane for comfort.",
    "wool blend": "A warm wool blend that keeps its shape all day.",
    "corduroy": "Fine-wale corduroy with a soft, velvety hand.",
    "denim": "Rigid 12 oz denim that moulds to you over time.",
    "wool": "Brushed wool from responsibly farmed sheep, naturally warm and breathable.",
    "satin": "Lustrous satin with a smooth, cool touch.",
    "waxed cotton": "Waxed cotton that shrugs off wind and showers.",
    "recycled polyester": "Made from recycled polyester, water-repellent and quick to dry.",
    "cotton gabardine": "Tightly woven cotton gabardine, a classic for changeable weather.",
    "canvas": "Heavy cotton canvas that is built to last.",
    "leather": "Full-grain leather that develops a rich patina with age.",
    "suede": "Soft suede with a protective water-resistant treatment.",
    "recycled mesh": "Breathable mesh knitted from recycled plastic bottles.",
    "nubuck": "Buffed nubuck leather with a velvety, matte finish.",
    "cashmere blend": "A cosy cashmere blend that is soft enough to wear against the skin.",
    "merino wool": "Fine merino wool that regulates temperature and resists odours.",
    "wool felt": "Dense wool felt that holds a crisp shape.",
    "straw": "Hand-woven paper straw, light and naturally ventilated.",
    "nylon": "Lightweight ripstop nylon with a water-repellent finish.",
    "recycled nylon": "Recycled nylon that is tough, light and easy to wipe clean.",
    "stoneware": "Glazed stoneware, thrown and finished by hand.",
    "porcelain": "Fine white porcelain with a smooth, glossy glaze.",
    "enamel": "Enamelled steel: light, tough and made for the outdoors.",
    "earthenware": "Earthenware with a soft satin glaze and a pleasingly chunky feel.",
    "velvet": "Plush cotton velvet with a rich, light-catching pile.",
    "bouclé": "Looped bouclé yarn with a cosy, textured surface.",
    "lambswool": "Soft lambswool woven in a small family mill.",
}


@dataclass(frozen=True)
class Style:
    noun: str
    variant: str  # which silhouette to draw
    materials: tuple[str, ...] = ()  # overrides the kind's materials


@dataclass(frozen=True)
class Kind:
    key: str
    path: tuple[str, ...]
    styles: tuple[Style, ...]
    materials: tuple[str, ...]
    patterns: dict[str, int]
    brands: tuple[str, ...]
    price: tuple[int, int]
    features: tuple[str, ...]
    care: tuple[str, ...]
    colours: tuple[str, ...] = ()  # empty: any colour


CLOTHING_BRANDS = ("Northwind Atelier", "Lumen & Loom", "Maison Verte", "Fjordline", "Kestrel Studio")
SHOE_BRANDS = ("Stride & Co.", "Fjordline", "Kestrel Studio")
ACCESSORY_BRANDS = ("Oakridge Goods", "Lumen & Loom", "Salt & Cedar")
HOME_BRANDS = ("Salt & Cedar", "Pebble Home", "Maison Verte")
SHOE_COLOURS = ("black", "white", "navy", "grey", "brown", "camel", "burgundy", "olive", "red", "cream",
                "sky blue", "forest green")
BOOT_COLOURS = ("black", "brown", "camel", "burgundy", "olive", "charcoal", "beige", "grey")

KINDS: tuple[Kind, ...] = (
    Kind("tshirt", ("Clothing", "T-shirts"),
         (Style("T-shirt", "crew"), Style("V-neck T-shirt", "vneck"), Style("long-sleeve T-shirt", "long"),
          Style("pocket T-shirt", "pocket")),
         ("cotton", "organic cotton", "linen", "cotton jersey", "Tencel"),
         {"solid": 5, "striped": 4, "polka dot": 1, "gradient": 1}, CLOTHING_BRANDS, (14, 39),
         ("Ribbed neckline and double-stitched hems.", "A wardrobe staple that layers easily under jackets.",
          "Dropped shoulders give it an easy, modern shape.", "Pre-washed, so it will not shrink."),
         ("Machine wash at 30 °C.", "Machine wash at 40 °C, tumble dry low.")),
    Kind("dress", ("Clothing", "Dresses"),
         (Style("midi dress", "midi"), Style("maxi dress", "maxi"), Style("mini dress", "mini"),
          Style("slip dress", "midi"), Style("sundress", "mini")),
         ("linen", "viscose", "cotton poplin", "silk", "crepe"),
         {"solid": 4, "polka dot": 3, "striped": 2, "checked": 1, "gradient": 1}, CLOTHING_BRANDS, (39, 139),
         ("Adjustable straps and a softly gathered waist.", "Cut on the bias so it moves with you.",
          "Side pockets, because every dress should have them.", "Fully lined to the hem."),
         ("Hand wash cold.", "Dry clean only.", "Machine wash at 30 °C on a delicate cycle.")),
    Kind("trousers", ("Clothing", "Trousers"),
         (Style("straight-leg trousers", "straight"), Style("wide-leg trousers", "wide"),
          Style("chinos", "straight", ("cotton twill",)), Style("tapered trousers", "tapered"),
          Style("jeans", "straight", ("denim",))),
         ("cotton twill", "linen", "wool blend", "corduroy"),
         {"solid": 7, "checked": 2, "striped": 1}, CLOTHING_BRANDS, (39, 109),
         ("Belt loops, a zip fly and a button waist.", "Pressed creases keep them sharp.",
          "Deep front pockets and neat welt pockets at the back.", "An easy fit through the hip and thigh."),
         ("Machine wash at 30 °C.", "Machine wash at 40 °C inside out.")),
    Kind("skirt", ("Clothing", "Skirts"),
         (Style("A-line skirt", "aline"), Style("pencil skirt", "pencil"), Style("pleated skirt", "pleated"),
          Style("midi skirt", "aline")),
         ("denim", "linen", "wool", "cotton", "satin"),
         {"solid": 4, "checked": 2, "polka dot": 2, "striped": 1}, CLOTHING_BRANDS, (29, 89),
         ("A high waist with a concealed side zip.", "Falls to a flattering length just below the knee.",
          "An elasticated back waistband for comfort.", "Pairs with everything from trainers to heels."),
         ("Machine wash at 30 °C.", "Hand wash cold, dry flat.")),
    Kind("coat", ("Clothing", "Outerwear"),
         (Style("coat", "coat"), Style("trench coat", "trench", ("cotton gabardine", "waxed cotton")),
          Style("parka", "coat", ("recycled polyester", "waxed cotton")), Style("overcoat", "coat"),
          Style("rain jacket", "coat", ("recycled polyester",))),
         ("wool", "wool blend", "cotton gabardine", "recycled polyester"),
         {"solid": 6, "checked": 2}, CLOTHING_BRANDS, (89, 259),
         ("Notch lapels, a two-button front and flap pockets.", "Long enough to cover a blazer.",
          "A storm flap and adjustable cuffs keep the weather out.", "An inside pocket sized for a phone."),
         ("Dry clean only.", "Sponge clean.", "Machine wash at 30 °C, re-proof yearly.")),
    Kind("sneakers", ("Shoes", "Sneakers"),
         (Style("low-top sneakers", "low"), Style("high-top sneakers", "high"), Style("running shoes", "low"),
          Style("slip-on sneakers", "slipon")),
         ("canvas", "leather", "suede", "recycled mesh"),
         {"solid": 8, "striped": 1, "gradient": 1}, SHOE_BRANDS, (59, 149),
         ("A cushioned footbed for all-day comfort.", "Vulcanised rubber soles with plenty of grip.",
          "A padded collar and tongue.", "Removable insoles, so you can use your own."),
         ("Wipe clean with a damp cloth.", "Spot clean only."), SHOE_COLOURS),
    Kind("boots", ("Shoes", "Boots"),
         (Style("Chelsea boots", "chelsea"), Style("ankle boots", "chelsea"), Style("lace-up boots", "laceup"),
          Style("hiking boots", "laceup", ("nubuck", "leather"))),
         ("leather", "suede", "nubuck"),
         {"solid": 1}, SHOE_BRANDS, (89, 229),
         ("Goodyear-welted so they can be resoled for years.", "Elastic side panels and a pull tab at the heel.",
          "A lug sole that grips on wet pavements.", "Lined with soft leather."),
         ("Treat with a leather conditioner.", "Brush off dirt and re-proof every season."), BOOT_COLOURS),
    Kind("hat", ("Accessories", "Hats"),
         (Style("bucket hat", "bucket", ("cotton", "corduroy", "nylon")),
          Style("beanie", "beanie", ("merino wool", "cashmere blend", "wool")),
          Style("fedora", "fedora", ("wool felt", "straw")), Style("sun hat", "fedora", ("straw", "cotton"))),
         ("wool", "cotton"),
         {"solid": 5, "striped": 2, "checked": 2}, ACCESSORY_BRANDS, (15, 59),
         ("A snug fit that stays put on windy days.", "Packs flat and springs back into shape.",
          "A grosgrain band finishes the crown.", "Made in a small workshop in Portugal."),
         ("Hand wash cold, dry flat.", "Spot clean only.")),
    Kind("bag", ("Accessories", "Bags"),
         (Style("tote bag", "tote"), Style("shoulder bag", "shoulder"), Style("backpack", "backpack"),
          Style("crossbody bag", "shoulder")),
         ("leather", "canvas", "recycled nylon", "suede"),
         {"solid": 6, "striped": 2, "checked": 1}, ACCESSORY_BRANDS, (29, 179),
         ("A padded sleeve fits a 14-inch laptop.", "Brass-finish hardware and a magnetic closure.",
          "An inside zip pocket keeps keys and cards in place.", "Wide straps that do not dig in."),
         ("Wipe clean with a damp cloth.", "Spot clean only.")),
    Kind("scarf", ("Accessories", "Scarves"),
         (Style("scarf", "scarf"), Style("blanket scarf", "scarf"), Style("skinny scarf", "skinny")),
         ("wool", "cashmere blend", "lambswool", "cotton", "silk"),
         {"checked": 4, "striped": 3, "solid": 2, "gradient": 2}, ACCESSORY_BRANDS, (19, 89),
         ("Finished with hand-knotted fringes.", "Generously sized to wrap twice.",
          "Woven on traditional looms in Scotland.", "Light enough for spring evenings."),
         ("Hand wash cold, dry flat.", "Dry clean only.")),
    Kind("mug", ("Homeware", "Mugs"),
         (Style("mug", "mug"), Style("espresso cup", "small"), Style("latte mug", "tall")),
         ("stoneware", "porcelain", "enamel", "earthenware"),
         {"solid": 4, "striped": 2, "polka dot": 2, "gradient": 2}, HOME_BRANDS, (8, 26),
         ("A generous handle that fits four fingers.", "Every piece is slightly different.",
          "Stacks neatly in the cupboard.", "Sold individually."),
         ("Dishwasher and microwave safe.", "Hand wash recommended.")),
    Kind("cushion", ("Homeware", "Cushions"),
         (Style("cushion", "square"), Style("cushion cover", "square"), Style("lumbar cushion", "lumbar"),
          Style("floor cushion", "square")),
         ("cotton", "velvet", "linen", "wool", "bouclé"),
         {"solid": 3, "striped": 2, "checked": 2, "polka dot": 1, "gradient": 1}, HOME_BRANDS, (19, 69),
         ("A concealed zip makes the cover easy to remove.", "Plump feather filling that holds its shape.",
          "Piped edges for a tailored finish.", "Mix and match with the rest of the range."),
         ("Cover machine washable at 30 °C.", "Dry clean the cover.")),
)

PLURAL_NOUNS = ("trousers", "chinos", "jeans", "sneakers", "shoes", "boots")
FITS = ("slim", "regular", "relaxed", "oversized")


@dataclass(frozen=True)
class DemoProduct:
    """One product of the demo catalogue, as plain data (no database)."""

    sku: str
    title: str
    description: str
    category_path: tuple[str, ...]
    brand: str
    price: Decimal
    stock: int
    attributes: dict = field(hash=False, compare=True)
    kind: str = ""
    variant: str = ""
    colour: tuple[int, int, int] = (0, 0, 0)
    accent: tuple[int, int, int] = (255, 255, 255)
    pattern: str = "solid"
    pattern_size: float = 30.0
    pattern_vertical: bool = False
    image_count: int = 1


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    names = sorted(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def _luminance(rgb) -> float:
    r, g, b = rgb
    return 0.299 * r + 0.587 * g + 0.114 * b


def _kind_attributes(kind: Kind, style: Style, rng: random.Random) -> dict[str, str]:
    key = kind.key
    if key == "tshirt":
        neck = {"vneck": "V-neck"}.get(style.variant, "crew neck")
        return {"sizes": "XS, S, M, L, XL", "fit": rng.choice(FITS), "neckline": neck,
                "sleeve": "long" if style.variant == "long" else "short"}
    if key == "dress":
        length = {"maxi": "maxi", "mini": "mini"}.get(style.variant, "midi")
        return {"sizes": "XS, S, M, L", "fit": rng.choice(("fitted", "regular", "relaxed")), "length": length,
                "neckline": rng.choice(("V-neck", "square neck", "scoop neck"))}
    if key == "trousers":
        leg = {"wide": "wide", "tapered": "tapered"}.get(style.variant, "straight")
        return {"sizes": "28, 30, 32, 34, 36", "fit": rng.choice(("slim", "regular", "relaxed")), "leg": leg,
                "rise": rng.choice(("mid", "high"))}
    if key == "skirt":
        return {"sizes": "XS, S, M, L", "length": "knee" if style.variant == "pencil" else rng.choice(("knee", "midi")),
                "waist": rng.choice(("concealed zip", "elasticated"))}
    if key == "coat":
        return {"sizes": "XS, S, M, L, XL", "fit": rng.choice(("regular", "relaxed", "oversized")),
                "closure": rng.choice(("buttons", "zip", "toggles")), "lining": rng.choice(("fully lined", "unlined"))}
    if key in ("sneakers", "boots"):
        closure = {"slipon": "slip-on", "chelsea": "elastic sides"}.get(style.variant, "laces")
        return {"sizes": "EU 36–46", "closure": closure, "sole": rng.choice(("rubber", "crepe rubber", "EVA foam"))}
    if key == "hat":
        sizes = "one size" if style.variant == "beanie" else "S/M, L/XL"
        return {"sizes": sizes}
    if key == "bag":
        litres = rng.choice((8, 12, 14, 18, 22))
        return {"capacity": f"{litres} L", "closure": rng.choice(("zip", "magnetic snap", "open top")),
                "strap": "adjustable" if style.variant != "tote" else "fixed handles"}
    if key == "scarf":
        length = rng.choice((160, 180, 200))
        return {"dimensions": f"{30 if style.variant == 'skinny' else 60} × {length} cm"}
    if key == "mug":
        capacity = {"small": 90, "tall": 450}.get(style.variant, rng.choice((300, 350, 400)))
        return {"capacity": f"{capacity} ml", "dishwasher_safe": rng.choice(("yes", "yes", "no"))}
    if key == "cushion":
        size = "30 × 50 cm" if style.variant == "lumbar" else rng.choice(("45 × 45 cm", "50 × 50 cm", "60 × 60 cm"))
        return {"dimensions": size, "filling": rng.choice(("feather", "recycled polyester", "kapok"))}
    return {}


def _colour_phrase(colour: str, accent: str, pattern: str) -> str:
    return {
        "striped": f"{colour} with {accent} stripes",
        "polka dot": f"{colour} with {accent} polka dots",
        "checked": f"{'an' if colour[0] in 'aeiou' else 'a'} {colour} and {accent} check",
        "gradient": f"{colour} fading to {accent}",
    }.get(pattern, colour)


def _make_product(n: int, kind: Kind, rng: random.Random, used_titles: set[str]) -> DemoProduct:
    for _attempt in range(20):
        style = rng.choice(kind.styles)
        material = rng.choice(style.materials or kind.materials)
        colour = rng.choice(kind.colours or tuple(COLOURS))
        pattern = _weighted(rng, kind.patterns)
        adjective = PATTERN_ADJECTIVE[pattern]
        title = " ".join(w for w in (adjective, material, style.noun) if w) + f" in {colour}"
        title = title[0].upper() + title[1:]
        if title not in used_titles:
            break
    used_titles.add(title)
    if pattern == "gradient":
        accent = rng.choice([c for c in COLOURS if c != colour])
    else:
        accents = DARK_ACCENTS if _luminance(COLOURS[colour]) > 165 else LIGHT_ACCENTS
        accent = rng.choice([c for c in accents if c != colour])
    attributes = {"colour": colour, "pattern": pattern, "material": material}
    if pattern != "solid":
        attributes["accent_colour"] = accent
    attributes.update(_kind_attributes(kind, style, rng))

    plural = style.noun.endswith(PLURAL_NOUNS)
    if "fit" in attributes:
        opener = f"{attributes['fit']}-fit"
    else:
        opener = rng.choice(("classic", "everyday", "timeless", "handsome", "easy-going"))
    article = "" if plural else ("An " if opener[0] in "aeiou" else "A ")
    first = f"{article}{opener} {style.noun} in {_colour_phrase(colour, accent, pattern)}."
    first = first[0].upper() + first[1:]
    description = " ".join((first, rng.choice(kind.features), MATERIAL_NOTES[material], rng.choice(kind.care)))

    low, high = kind.price
    price = Decimal(f"{rng.randint(low, high)}.{rng.choice(('00', '50', '90', '95', '99'))}")
    stock = 0 if rng.random() < 0.12 else rng.choice((rng.randint(1, 5), rng.randint(6, 80)))
    return DemoProduct(
        sku=f"{SKU_PREFIX}{n:04d}", title=title, description=description, category_path=kind.path,
        brand=rng.choice(kind.brands), price=price, stock=stock, attributes=attributes, kind=kind.key,
        variant=style.variant, colour=COLOURS[colour], accent=COLOURS[accent], pattern=pattern,
        pattern_size=rng.uniform(22, 40), pattern_vertical=kind.key in ("trousers", "scarf") or rng.random() < 0.2,
        image_count=rng.choices((1, 2, 3), weights=(25, 45, 30))[0],
    )


def demo_products(limit: int | None = None) -> list[DemoProduct]:
    """The demo catalogue in SKU order; the first `limit` products are the same whatever the limit.

    Kinds take turns, so any slice of a dozen or more spans every category.
    """
    total = PRODUCTS_PER_KIND * len(KINDS)
    count = total if limit is None else max(0, min(limit, total))
    rng = random.Random(SEED)
    used_titles: set[str] = set()
    return [_make_product(n + 1, KINDS[n % len(KINDS)], rng, used_titles) for n in range(count)]


def demo_category_paths() -> list[tuple[str, ...]]:
    return [kind.path for kind in KINDS]


# ---------------------------------------------------------------------------
# Drawing the photos
# ---------------------------------------------------------------------------

# A silhouette is a list of operations in coordinates normalised to the item's box
# (0..1 both ways; the box is 360x480 px at scale 1). Mask operations are filled with
# the product's colour and pattern; detail operations are drawn on top in a named ink.


def _tee(variant: str):
    neck = [(0.37, 0.06), (0.50, 0.22), (0.63, 0.06)] if variant == "vneck" else \
        [(0.37, 0.06), (0.43, 0.11), (0.50, 0.13), (0.57, 0.11), (0.63, 0.06)]
    if variant == "long":
        right = [(0.82, 0.12), (0.99, 0.78), (0.88, 0.80), (0.80, 0.36)]
    else:
        right = [(0.82, 0.12), (1.0, 0.33), (0.88, 0.42), (0.80, 0.34)]
    left = [(1 - x, y) for x, y in reversed(right)]
    body = neck + right + [(0.80, 0.96), (0.20, 0.96)] + left
    details = [("line", neck, 0.022, "dark")]
    if variant == "pocket":
        details.append(("rect", (0.58, 0.30, 0.70, 0.42), 0.006, "dark"))
    return [("poly", body)], details


def _dress(variant: str):
    hem_y, hem_x = {"mini": (0.72, 0.25), "maxi": (1.0, 0.12)}.get(variant, (0.88, 0.17))
    body = [(0.38, 0.02), (0.42, 0.02), (0.50, 0.12), (0.58, 0.02), (0.62, 0.02), (0.66, 0.24), (0.61, 0.40),
            (1 - hem_x, hem_y), (0.5, hem_y + 0.015), (hem_x, hem_y), (0.39, 0.40), (0.34, 0.24)]
    details = [("line", [(0.39, 0.40), (0.61, 0.40)], 0.016, "dark")]
    return [("poly", body)], details


def _trousers(variant: str):
    outer, inner = {"wide": (0.86, 0.535), "tapered": (0.71, 0.54)}.get(variant, (0.78, 0.545))
    body = [(0.27, 0.02), (0.73, 0.02), (outer, 0.98), (inner, 0.98), (0.50, 0.32), (1 - inner, 0.98),
            (1 - outer, 0.98)]
    details = [("line", [(0.27, 0.065), (0.73, 0.065)], 0.010, "dark"),
               ("line", [(0.50, 0.065), (0.50, 0.24)], 0.008, "dark"),
               ("line", [(0.31, 0.07), (0.38, 0.15)], 0.006, "dark"),
               ("line", [(0.69, 0.07), (0.62, 0.15)], 0.006, "dark")]
    return [("poly", body)], details


def _skirt(variant: str):
    if variant == "pencil":
        body = [(0.31, 0.12), (0.69, 0.12), (0.73, 0.74), (0.27, 0.74)]
    else:
        body = [(0.30, 0.12), (0.70, 0.12), (0.88, 0.78), (0.5, 0.80), (0.12, 0.78)]
    details = [("rect", (0.30, 0.12, 0.70, 0.17), 0.0, "dark")]
    if variant == "pleated":
        for x0, x1 in ((0.40, 0.33), (0.47, 0.45), (0.53, 0.55), (0.60, 0.67)):
            details.append(("line", [(x0, 0.18), (x1, 0.78)], 0.005, "dark"))
    return [("poly", body)], details


def _coat(variant: str):
    body = [(0.38, 0.02), (0.50, 0.12), (0.62, 0.02), (0.80, 0.08), (0.97, 0.80), (0.86, 0.82), (0.79, 0.34),
            (0.80, 0.99), (0.20, 0.99), (0.21, 0.34), (0.14, 0.82), (0.03, 0.80), (0.20, 0.08)]
    details = [("line", [(0.50, 0.12), (0.50, 0.99)], 0.008, "dark"),
               ("line", [(0.39, 0.03), (0.46, 0.30)], 0.010, "dark"),
               ("line", [(0.61, 0.03), (0.54, 0.30)], 0.010, "dark")]
    for y in (0.40, 0.54, 0.68):
        details.append(("dot", (0.46, y), 0.018, "dark"))
    details.append(("line", [(0.27, 0.66), (0.37, 0.66)], 0.008, "dark"))
    details.append(("line", [(0.63, 0.66), (0.73, 0.66)], 0.008, "dark"))
    if variant == "trench":
        details.append(("line", [(0.21, 0.48), (0.79, 0.48)], 0.02, "dark"))
    return [("poly", body)], details


def _shoe(variant: str):
    if variant in ("chelsea", "laceup"):
        upper = [(0.08, 0.66), (0.10, 0.57), (0.26, 0.52), (0.44, 0.48), (0.49, 0.20), (0.80, 0.20),
                 (0.82, 0.42), (0.91, 0.52), (0.92, 0.66)]
        details = [("rrect", (0.06, 0.64, 0.94, 0.71), 0.02, "sole_dark"),
                   ("rrect", (0.74, 0.68, 0.93, 0.75), 0.01, "sole_dark")]
        if variant == "chelsea":
            details.append(("poly", [(0.58, 0.24), (0.70, 0.24), (0.67, 0.50), (0.61, 0.50)], "dark"))
            details.append(("line", [(0.79, 0.14), (0.79, 0.26)], 0.02, "dark"))
        else:
            for i in range(6):
                y = 0.26 + i * 0.045
                details.append(("line", [(0.48 - i * 0.004, y), (0.58, y + 0.02)], 0.008, "light"))
        return [("poly", upper)], details
    collar = 0.24 if variant == "high" else 0.36
    upper = [(0.06, 0.64), (0.08, 0.56), (0.20, 0.51), (0.40, 0.47), (0.52, collar + 0.02), (0.62, collar),
             (0.80, collar + 0.01), (0.89, 0.44), (0.93, 0.64)]
    details = [("rrect", (0.04, 0.62, 0.95, 0.70), 0.03, "sole"),
               ("line", [(0.05, 0.655), (0.94, 0.655)], 0.006, "sole_line")]
    if variant != "slipon":
        for i in range(4):
            x, y = 0.41 + i * 0.045, 0.475 - i * 0.03 - (0.02 if variant == "high" else 0)
            details.append(("line", [(x, y), (x + 0.05, y + 0.035)], 0.010, "light"))
    details.append(("line", [(0.30, 0.60), (0.52, 0.52), (0.70, 0.58)], 0.012, "accent"))
    return [("poly", upper)], details


def _hat(variant: str):
    if variant == "beanie":
        mask = [("ellipse", (0.22, 0.24, 0.78, 0.78)), ("rrect", (0.20, 0.54, 0.80, 0.70), 0.03),
                ("ellipse", (0.43, 0.14, 0.57, 0.28))]
        details = [("line", [(0.20 + i * 0.05, 0.56), (0.20 + i * 0.05, 0.68)], 0.005, "dark") for i in range(1, 12)]
        return mask, details
    if variant == "bucket":
        mask = [("poly", [(0.30, 0.30), (0.70, 0.30), (0.76, 0.56), (0.24, 0.56)]),
                ("ellipse", (0.28, 0.26, 0.72, 0.36)),
                ("poly", [(0.24, 0.52), (0.76, 0.52), (0.92, 0.66), (0.08, 0.66)])]
        return mask, [("line", [(0.25, 0.52), (0.75, 0.52)], 0.008, "dark")]
    mask = [("rrect", (0.30, 0.28, 0.70, 0.58), 0.10), ("ellipse", (0.06, 0.50, 0.94, 0.66))]
    return mask, [("rect", (0.30, 0.48, 0.70, 0.54), 0.0, "dark"),
                  ("line", [(0.42, 0.30), (0.50, 0.36), (0.58, 0.30)], 0.008, "dark")]


def _bag(variant: str):
    if variant == "backpack":
        mask = [("rrect", (0.24, 0.18, 0.76, 0.90), 0.12)]
        details = [("rrect", (0.32, 0.56, 0.68, 0.84), 0.05, "dark_outline"),
                   ("line", [(0.30, 0.32), (0.70, 0.32)], 0.008, "dark"),
                   ("arc", (0.40, 0.08, 0.60, 0.26), 180, 360, 0.018, "dark")]
        return mask, details
    if variant == "shoulder":
        mask = [("rrect", (0.20, 0.44, 0.80, 0.80), 0.06)]
        details = [("arc", (0.22, 0.06, 0.78, 0.84), 180, 360, 0.016, "dark"),
                   ("poly", [(0.20, 0.46), (0.80, 0.46), (0.80, 0.62), (0.50, 0.66), (0.20, 0.62)], "dark"),
                   ("dot", (0.50, 0.64), 0.02, "metal")]
        return mask, details
    mask = [("poly", [(0.22, 0.38), (0.78, 0.38), (0.85, 0.88), (0.15, 0.88)])]
    details = [("arc", (0.30, 0.18, 0.46, 0.58), 180, 360, 0.020, "dark"),
               ("arc", (0.54, 0.18, 0.70, 0.58), 180, 360, 0.020, "dark"),
               ("line", [(0.22, 0.42), (0.78, 0.42)], 0.006, "dark")]
    return mask, details


def _scarf(variant: str):
    half = 0.12 if variant == "skinny" else 0.20
    points_l, points_r = [], []
    for i in range(13):
        y = 0.06 + i * 0.07
        x = 0.5 + 0.06 * math.sin(i * 0.7)
        points_l.append((x - half, y))
        points_r.append((x + half, y))
    mask = [("poly", points_l + list(reversed(points_r)))]
    details = []
    for end in (0, 12):
        x, y = points_l[end][0], points_l[end][1]
        direction = -1 if end == 0 else 1
        for i in range(12):
            fx = x + 0.01 + i * (2 * half - 0.02) / 11
            details.append(("line", [(fx, y), (fx, y + direction * 0.04)], 0.006, "fringe"))
    return mask, details


def _mug(variant: str):
    if variant == "small":
        mask = [("rrect", (0.28, 0.46, 0.62, 0.76), 0.05), ("ring", (0.54, 0.50, 0.76, 0.68), 0.040)]
        return mask, [("ellipse_line", (0.28, 0.44, 0.62, 0.49), 0.008, "rim"),
                      ("ellipse", (0.16, 0.73, 0.76, 0.81), "sole")]
    top = 0.22 if variant == "tall" else 0.32
    mask = [("rrect", (0.18, top, 0.68, 0.80), 0.04), ("ring", (0.58, top + 0.10, 0.90, top + 0.38), 0.050)]
    return mask, [("ellipse_line", (0.18, top - 0.02, 0.68, top + 0.03), 0.008, "rim")]


def _cushion(variant: str):
    x0, y0, x1, y1 = (0.06, 0.36, 0.94, 0.78) if variant == "lumbar" else (0.10, 0.24, 0.90, 0.84)
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    points = []
    for (ax, ay), (bx, by) in zip(corners, corners[1:] + corners[:1]):
        nx, ny = by - ay, ax - bx  # outward normal (clockwise in image coordinates)
        length = math.hypot(nx, ny)
        for i in range(16):
            t = i / 16
            bulge = 0.035 * math.sin(math.pi * t)
            points.append((ax + (bx - ax) * t + nx / length * bulge * 0.75,
                           ay + (by - ay) * t + ny / length * bulge))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return [("poly", points)], [("dot", (cx, cy), 0.022, "dark"),
                                ("line", [(cx - 0.12, cy - 0.09), (cx, cy)], 0.004, "dark"),
                                ("line", [(cx + 0.12, cy + 0.09), (cx, cy)], 0.004, "dark")]


SILHOUETTES = {
    "tshirt": _tee, "dress": _dress, "trousers": _trousers, "skirt": _skirt, "coat": _coat, "sneakers": _shoe,
    "boots": _shoe, "hat": _hat, "bag": _bag, "scarf": _scarf, "mug": _mug, "cushion": _cushion,
}


def _mix(a, b, t: float) -> tuple[int, int, int]:
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))


def _inks(product: DemoProduct) -> dict[str, tuple[int, int, int]]:
    colour = product.colour
    dark_item = _luminance(colour) < 70
    dark = _mix(colour, (255, 255, 255), 0.30) if dark_item else _mix(colour, (0, 0, 0), 0.35)
    return {
        "dark": dark, "dark_outline": dark,
        "light": (245, 243, 236) if _luminance(colour) < 170 else (70, 70, 74),
        "accent": product.accent if product.pattern == "solid" else dark,
        "sole": (244, 242, 234), "sole_line": (190, 186, 176), "sole_dark": (44, 38, 34),
        "metal": (200, 166, 92), "rim": _mix(colour, (255, 255, 255), 0.45), "fringe": colour,
        "outline": _mix(colour, (255, 255, 255), 0.22) if dark_item else _mix(colour, (0, 0, 0), 0.30),
    }


@lru_cache(maxsize=1)
def _grid() -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:CANVAS[1], 0:CANVAS[0]].astype(np.float32)
    return xs, ys


def _fill(product: DemoProduct, cx: float, cy: float, scale: float, box: tuple[int, int, int, int]) -> Image.Image:
    """The product's fabric: colour and pattern over `box` of the canvas, in the item's frame."""
    xs, ys = _grid()
    left, top, right, bottom = box
    u = (xs[top:bottom, left:right] - cx) / scale
    v = (ys[top:bottom, left:right] - cy) / scale
    size = product.pattern_size
    if product.pattern == "striped":
        coord = u if product.pattern_vertical else v
        t = ((coord / size) % 1.0 < 0.42).astype(np.float32)
    elif product.pattern == "polka dot":
        period = size * 1.2
        row = np.floor(v / period)
        du = ((u + (row % 2) * period / 2) % period) - period / 2
        dv = (v % period) - period / 2
        radius = period * 0.22
        t = np.clip(radius - np.sqrt(du * du + dv * dv) + 0.5, 0.0, 1.0)
    elif product.pattern == "checked":
        a = ((u / size) % 1.0 < 0.5).astype(np.float32)
        b = ((v / size) % 1.0 < 0.5).astype(np.float32)
        t = 1.0 - (a + b) / 2.0
    elif product.pattern == "gradient":
        t = np.clip(v / 480.0 + 0.5, 0.0, 1.0)
    else:
        t = np.zeros_like(u)
    primary = np.array(product.colour, dtype=np.float32)
    accent = np.array(product.accent, dtype=np.float32)
    rgb = primary + (accent - primary) * t[..., None]
    # Soft light from the upper left gives the flat shape a little volume.
    shade = 1.0 - 0.12 * np.clip(u / 360.0 + v / 960.0 + 0.5, 0.0, 1.0)
    rgb = rgb * shade[..., None]
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def _draw_ops(draw: ImageDraw.ImageDraw, ops, to_px, unit: float, ink) -> None:
    for op in ops:
        kind = op[0]
        if kind == "poly":
            draw.polygon([to_px(x, y) for x, y in op[1]], fill=ink(op[-1]) if len(op) > 2 else ink(None))
        elif kind == "ellipse":
            (x0, y0, x1, y1) = op[1]
            draw.ellipse([*to_px(x0, y0), *to_px(x1, y1)], fill=ink(op[2] if len(op) > 2 else None))
        elif kind == "rrect":
            (x0, y0, x1, y1), radius = op[1], op[2]
            colour = ink(op[3] if len(op) > 3 else None)
            if len(op) > 3 and op[3] == "dark_outline":
                draw.rounded_rectangle([*to_px(x0, y0), *to_px(x1, y1)], radius=radius * unit, outline=colour,
                                       width=max(1, round(0.008 * unit)))
            else:
                draw.rounded_rectangle([*to_px(x0, y0), *to_px(x1, y1)], radius=radius * unit, fill=colour)
        elif kind == "rect":
            (x0, y0, x1, y1), width = op[1], op[2]
            box = [*to_px(x0, y0), *to_px(x1, y1)]
            if width:
                draw.rectangle(box, outline=ink(op[3]), width=max(1, round(width * unit)))
            else:
                draw.rectangle(box, fill=ink(op[3]))
        elif kind == "line":
            draw.line([to_px(x, y) for x, y in op[1]], fill=ink(op[3]), width=max(1, round(op[2] * unit)),
                      joint="curve")
        elif kind == "dot":
            (x, y), radius = op[1], op[2] * unit
            px, py = to_px(x, y)
            draw.ellipse([px - radius, py - radius, px + radius, py + radius], fill=ink(op[3]))
        elif kind == "ring":
            (x0, y0, x1, y1), width = op[1], op[2]
            draw.ellipse([*to_px(x0, y0), *to_px(x1, y1)], outline=ink(None), width=max(1, round(width * unit)))
        elif kind == "ellipse_line":
            (x0, y0, x1, y1), width = op[1], op[2]
            draw.ellipse([*to_px(x0, y0), *to_px(x1, y1)], outline=ink(op[3]), width=max(1, round(width * unit)))
        elif kind == "arc":
            (x0, y0, x1, y1), start, end, width = op[1], op[2], op[3], op[4]
            draw.arc([*to_px(x0, y0), *to_px(x1, y1)], start, end, fill=ink(op[5]), width=max(1, round(width * unit)))
        else:  # pragma: no cover - a typo in a silhouette
            raise ValueError(f"unknown drawing operation {kind}")


BACKGROUNDS = ((243, 241, 237), (236, 240, 244), (244, 238, 233), (237, 242, 236), (240, 240, 241),
               (245, 241, 230))


def render_demo_image(product: DemoProduct, index: int = 0) -> bytes:
    """A JPEG "photo" of the product (480x600): its silhouette in its colour and pattern.

    Image 0 is the centred packshot; later images are other shots of the same item
    (another distance, angle, side and background tint). Pure and deterministic.
    """
    rng = random.Random(f"{SEED}:{product.sku}:image:{index}")
    width, height = CANVAS
    if index == 0:
        scale, dx, dy, angle, mirror = 0.95, 0, 0, 0.0, False
        background = BACKGROUNDS[0]
    else:
        scale = rng.uniform(0.74, 0.84) if index % 2 else rng.uniform(1.0, 1.08)
        dx, dy = rng.randint(-28, 28), rng.randint(-22, 22)
        angle, mirror = rng.uniform(-7.0, 7.0), index % 2 == 1
        base = BACKGROUNDS[1 + (index + rng.randrange(len(BACKGROUNDS) - 1)) % (len(BACKGROUNDS) - 1)]
        background = tuple(min(255, c + rng.randint(-3, 3)) for c in base)
    cx, cy = width / 2 + dx, height / 2 + dy
    box_w, box_h = 360 * scale, 480 * scale
    mask_ops, detail_ops = SILHOUETTES[product.kind](product.variant)
    inks = _inks(product)

    supersample = 2
    mask_big = Image.new("L", (width * supersample, height * supersample), 0)

    def to_big(x, y):
        return ((cx + (x - 0.5) * box_w) * supersample, (cy + (y - 0.5) * box_h) * supersample)

    _draw_ops(ImageDraw.Draw(mask_big), mask_ops, to_big, box_w * supersample, lambda _name: 255)
    mask = mask_big.reduce(supersample)

    box = mask.getbbox() or (0, 0, width, height)
    item = Image.new("RGBA", CANVAS, (0, 0, 0, 0))
    # A thin darker edge, so pale items stand out from pale backgrounds.
    item.paste(inks["outline"], mask=mask.filter(ImageFilter.GaussianBlur(1.0)).point(lambda a: min(255, a * 3)))
    item.paste(_fill(product, cx, cy, scale, box), box[:2], mask=mask.crop(box))

    details_big = Image.new("RGBA", (width * supersample, height * supersample), (0, 0, 0, 0))
    _draw_ops(ImageDraw.Draw(details_big), detail_ops, to_big, box_w * supersample,
              lambda name: inks[name or "dark"])
    detail_box = details_big.getbbox()
    if detail_box:
        left, top = (detail_box[0] // supersample) * supersample, (detail_box[1] // supersample) * supersample
        right, bottom = -(-detail_box[2] // supersample) * supersample, -(-detail_box[3] // supersample) * supersample
        item.alpha_composite(details_big.crop((left, top, right, bottom)).reduce(supersample),
                             (left // supersample, top // supersample))

    if mirror:
        item = ImageOps.mirror(item)
    if angle:
        item = item.rotate(angle, resample=Image.Resampling.BILINEAR, center=(width - cx if mirror else cx, cy))

    canvas = Image.new("RGB", CANVAS, background)
    # A soft drop shadow, as if the item lay on a table under a window.
    shadow = item.getchannel("A").reduce(4).filter(ImageFilter.GaussianBlur(3))
    shadow = shadow.resize(CANVAS, Image.Resampling.BILINEAR).point(lambda a: a * 0.28)
    canvas.paste(_mix(background, (60, 56, 50), 0.6), (7, 11), mask=shadow.crop((0, 0, width - 7, height - 11)))
    canvas.paste(item, mask=item.getchannel("A"))

    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False)
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLoadResult:
    products: int
    categories: int
    brands: int
    images: int


def load_demo_catalog(limit: int | None = None) -> DemoLoadResult:
    """Create or refresh the demo products (SKUs DEMO-0001...); returns what was created.

    Idempotent: products are matched by SKU and images by their bytes, so a second
    run creates nothing. One transaction: all of it or none of it.
    """
    # Imported here so the pure generation above needs neither Django nor a database.
    from django.db import transaction

    from catalog import services
    from catalog.models import Brand, Category
    from catalog.services import ProductData
    from visualshop.broker import sending

    items = demo_products(limit)
    created_products = created_images = 0
    with sending.messages_batched(), transaction.atomic():
        categories_before, brands_before = Category.objects.count(), Brand.objects.count()
        categories: dict[tuple[str, ...], Category | None] = {}
        brands: dict[str, Brand | None] = {}
        for item in items:
            if item.category_path not in categories:
                categories[item.category_path] = services.category_get_or_create_path(item.category_path)
            if item.brand not in brands:
                brands[item.brand] = services.brand_get_or_create(item.brand)
            product, created = services.product_upsert(ProductData(
                sku=item.sku, title=item.title, price=item.price, currency="EUR", description=item.description,
                category=categories[item.category_path], brand=brands[item.brand], stock=item.stock,
                is_active=True, attributes=item.attributes,
            ))
            created_products += created
            for index in range(item.image_count):
                _image, image_created = services.product_image_add(
                    product=product, content=render_demo_image(item, index),
                    source=f"demo catalogue: {item.sku} photo {index + 1}", position=index,
                )
                created_images += image_created
        return DemoLoadResult(
            products=created_products,
            categories=Category.objects.count() - categories_before,
            brands=Brand.objects.count() - brands_before,
            images=created_images,
        )
