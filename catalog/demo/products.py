"""The demo catalogue's products as plain data: what the shop sells (kinds, styles, colours,
brands) and the seeded generation of SKUs, titles, prices and attributes. Needs neither Django
nor a database."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

SEED = "visualshop-demo-v1"
SKU_PREFIX = "DEMO-"
PRODUCTS_PER_KIND = 14

COLOURS: dict[str, tuple[int, int, int]] = {
    "navy": (30, 44, 86),
    "black": (32, 32, 35),
    "white": (246, 246, 242),
    "grey": (146, 148, 152),
    "charcoal": (64, 66, 72),
    "red": (190, 38, 46),
    "burgundy": (112, 30, 48),
    "pink": (234, 156, 176),
    "coral": (238, 114, 92),
    "mustard": (214, 160, 42),
    "olive": (110, 116, 58),
    "forest green": (36, 92, 62),
    "sage": (150, 174, 140),
    "teal": (22, 118, 126),
    "sky blue": (124, 176, 220),
    "cobalt": (40, 82, 182),
    "lavender": (176, 160, 214),
    "beige": (218, 198, 166),
    "camel": (182, 132, 80),
    "brown": (108, 70, 44),
    "cream": (240, 230, 204),
    "terracotta": (194, 96, 64),
    "denim blue": (72, 100, 142),
}
LIGHT_ACCENTS = ("white", "cream", "beige", "sky blue", "pink")
DARK_ACCENTS = ("navy", "black", "red", "forest green", "burgundy", "charcoal")

PATTERN_ADJECTIVE = {
    "solid": "",
    "striped": "Striped",
    "polka dot": "Polka-dot",
    "checked": "Checked",
    "gradient": "Ombré",
}

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
SHOE_COLOURS = (
    "black",
    "white",
    "navy",
    "grey",
    "brown",
    "camel",
    "burgundy",
    "olive",
    "red",
    "cream",
    "sky blue",
    "forest green",
)
BOOT_COLOURS = ("black", "brown", "camel", "burgundy", "olive", "charcoal", "beige", "grey")

KINDS: tuple[Kind, ...] = (
    Kind(
        "tshirt",
        ("Clothing", "T-shirts"),
        (
            Style("T-shirt", "crew"),
            Style("V-neck T-shirt", "vneck"),
            Style("long-sleeve T-shirt", "long"),
            Style("pocket T-shirt", "pocket"),
        ),
        ("cotton", "organic cotton", "linen", "cotton jersey", "Tencel"),
        {"solid": 5, "striped": 4, "polka dot": 1, "gradient": 1},
        CLOTHING_BRANDS,
        (14, 39),
        (
            "Ribbed neckline and double-stitched hems.",
            "A wardrobe staple that layers easily under jackets.",
            "Dropped shoulders give it an easy, modern shape.",
            "Pre-washed, so it will not shrink.",
        ),
        ("Machine wash at 30 °C.", "Machine wash at 40 °C, tumble dry low."),
    ),
    Kind(
        "dress",
        ("Clothing", "Dresses"),
        (
            Style("midi dress", "midi"),
            Style("maxi dress", "maxi"),
            Style("mini dress", "mini"),
            Style("slip dress", "midi"),
            Style("sundress", "mini"),
        ),
        ("linen", "viscose", "cotton poplin", "silk", "crepe"),
        {"solid": 4, "polka dot": 3, "striped": 2, "checked": 1, "gradient": 1},
        CLOTHING_BRANDS,
        (39, 139),
        (
            "Adjustable straps and a softly gathered waist.",
            "Cut on the bias so it moves with you.",
            "Side pockets, because every dress should have them.",
            "Fully lined to the hem.",
        ),
        ("Hand wash cold.", "Dry clean only.", "Machine wash at 30 °C on a delicate cycle."),
    ),
    Kind(
        "trousers",
        ("Clothing", "Trousers"),
        (
            Style("straight-leg trousers", "straight"),
            Style("wide-leg trousers", "wide"),
            Style("chinos", "straight", ("cotton twill",)),
            Style("tapered trousers", "tapered"),
            Style("jeans", "straight", ("denim",)),
        ),
        ("cotton twill", "linen", "wool blend", "corduroy"),
        {"solid": 7, "checked": 2, "striped": 1},
        CLOTHING_BRANDS,
        (39, 109),
        (
            "Belt loops, a zip fly and a button waist.",
            "Pressed creases keep them sharp.",
            "Deep front pockets and neat welt pockets at the back.",
            "An easy fit through the hip and thigh.",
        ),
        ("Machine wash at 30 °C.", "Machine wash at 40 °C inside out."),
    ),
    Kind(
        "skirt",
        ("Clothing", "Skirts"),
        (
            Style("A-line skirt", "aline"),
            Style("pencil skirt", "pencil"),
            Style("pleated skirt", "pleated"),
            Style("midi skirt", "aline"),
        ),
        ("denim", "linen", "wool", "cotton", "satin"),
        {"solid": 4, "checked": 2, "polka dot": 2, "striped": 1},
        CLOTHING_BRANDS,
        (29, 89),
        (
            "A high waist with a concealed side zip.",
            "Falls to a flattering length just below the knee.",
            "An elasticated back waistband for comfort.",
            "Pairs with everything from trainers to heels.",
        ),
        ("Machine wash at 30 °C.", "Hand wash cold, dry flat."),
    ),
    Kind(
        "coat",
        ("Clothing", "Outerwear"),
        (
            Style("coat", "coat"),
            Style("trench coat", "trench", ("cotton gabardine", "waxed cotton")),
            Style("parka", "coat", ("recycled polyester", "waxed cotton")),
            Style("overcoat", "coat"),
            Style("rain jacket", "coat", ("recycled polyester",)),
        ),
        ("wool", "wool blend", "cotton gabardine", "recycled polyester"),
        {"solid": 6, "checked": 2},
        CLOTHING_BRANDS,
        (89, 259),
        (
            "Notch lapels, a two-button front and flap pockets.",
            "Long enough to cover a blazer.",
            "A storm flap and adjustable cuffs keep the weather out.",
            "An inside pocket sized for a phone.",
        ),
        ("Dry clean only.", "Sponge clean.", "Machine wash at 30 °C, re-proof yearly."),
    ),
    Kind(
        "sneakers",
        ("Shoes", "Sneakers"),
        (
            Style("low-top sneakers", "low"),
            Style("high-top sneakers", "high"),
            Style("running shoes", "low"),
            Style("slip-on sneakers", "slipon"),
        ),
        ("canvas", "leather", "suede", "recycled mesh"),
        {"solid": 8, "striped": 1, "gradient": 1},
        SHOE_BRANDS,
        (59, 149),
        (
            "A cushioned footbed for all-day comfort.",
            "Vulcanised rubber soles with plenty of grip.",
            "A padded collar and tongue.",
            "Removable insoles, so you can use your own.",
        ),
        ("Wipe clean with a damp cloth.", "Spot clean only."),
        SHOE_COLOURS,
    ),
    Kind(
        "boots",
        ("Shoes", "Boots"),
        (
            Style("Chelsea boots", "chelsea"),
            Style("ankle boots", "chelsea"),
            Style("lace-up boots", "laceup"),
            Style("hiking boots", "laceup", ("nubuck", "leather")),
        ),
        ("leather", "suede", "nubuck"),
        {"solid": 1},
        SHOE_BRANDS,
        (89, 229),
        (
            "Goodyear-welted so they can be resoled for years.",
            "Elastic side panels and a pull tab at the heel.",
            "A lug sole that grips on wet pavements.",
            "Lined with soft leather.",
        ),
        ("Treat with a leather conditioner.", "Brush off dirt and re-proof every season."),
        BOOT_COLOURS,
    ),
    Kind(
        "hat",
        ("Accessories", "Hats"),
        (
            Style("bucket hat", "bucket", ("cotton", "corduroy", "nylon")),
            Style("beanie", "beanie", ("merino wool", "cashmere blend", "wool")),
            Style("fedora", "fedora", ("wool felt", "straw")),
            Style("sun hat", "fedora", ("straw", "cotton")),
        ),
        ("wool", "cotton"),
        {"solid": 5, "striped": 2, "checked": 2},
        ACCESSORY_BRANDS,
        (15, 59),
        (
            "A snug fit that stays put on windy days.",
            "Packs flat and springs back into shape.",
            "A grosgrain band finishes the crown.",
            "Made in a small workshop in Portugal.",
        ),
        ("Hand wash cold, dry flat.", "Spot clean only."),
    ),
    Kind(
        "bag",
        ("Accessories", "Bags"),
        (
            Style("tote bag", "tote"),
            Style("shoulder bag", "shoulder"),
            Style("backpack", "backpack"),
            Style("crossbody bag", "shoulder"),
        ),
        ("leather", "canvas", "recycled nylon", "suede"),
        {"solid": 6, "striped": 2, "checked": 1},
        ACCESSORY_BRANDS,
        (29, 179),
        (
            "A padded sleeve fits a 14-inch laptop.",
            "Brass-finish hardware and a magnetic closure.",
            "An inside zip pocket keeps keys and cards in place.",
            "Wide straps that do not dig in.",
        ),
        ("Wipe clean with a damp cloth.", "Spot clean only."),
    ),
    Kind(
        "scarf",
        ("Accessories", "Scarves"),
        (Style("scarf", "scarf"), Style("blanket scarf", "scarf"), Style("skinny scarf", "skinny")),
        ("wool", "cashmere blend", "lambswool", "cotton", "silk"),
        {"checked": 4, "striped": 3, "solid": 2, "gradient": 2},
        ACCESSORY_BRANDS,
        (19, 89),
        (
            "Finished with hand-knotted fringes.",
            "Generously sized to wrap twice.",
            "Woven on traditional looms in Scotland.",
            "Light enough for spring evenings.",
        ),
        ("Hand wash cold, dry flat.", "Dry clean only."),
    ),
    Kind(
        "mug",
        ("Homeware", "Mugs"),
        (Style("mug", "mug"), Style("espresso cup", "small"), Style("latte mug", "tall")),
        ("stoneware", "porcelain", "enamel", "earthenware"),
        {"solid": 4, "striped": 2, "polka dot": 2, "gradient": 2},
        HOME_BRANDS,
        (8, 26),
        (
            "A generous handle that fits four fingers.",
            "Every piece is slightly different.",
            "Stacks neatly in the cupboard.",
            "Sold individually.",
        ),
        ("Dishwasher and microwave safe.", "Hand wash recommended."),
    ),
    Kind(
        "cushion",
        ("Homeware", "Cushions"),
        (
            Style("cushion", "square"),
            Style("cushion cover", "square"),
            Style("lumbar cushion", "lumbar"),
            Style("floor cushion", "square"),
        ),
        ("cotton", "velvet", "linen", "wool", "bouclé"),
        {"solid": 3, "striped": 2, "checked": 2, "polka dot": 1, "gradient": 1},
        HOME_BRANDS,
        (19, 69),
        (
            "A concealed zip makes the cover easy to remove.",
            "Plump feather filling that holds its shape.",
            "Piped edges for a tailored finish.",
            "Mix and match with the rest of the range.",
        ),
        ("Cover machine washable at 30 °C.", "Dry clean the cover."),
    ),
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


def luminance(rgb) -> float:
    r, g, b = rgb
    return 0.299 * r + 0.587 * g + 0.114 * b


def _kind_attributes(kind: Kind, style: Style, rng: random.Random) -> dict[str, str]:
    key = kind.key
    if key == "tshirt":
        neck = {"vneck": "V-neck"}.get(style.variant, "crew neck")
        return {
            "sizes": "XS, S, M, L, XL",
            "fit": rng.choice(FITS),
            "neckline": neck,
            "sleeve": "long" if style.variant == "long" else "short",
        }
    if key == "dress":
        length = {"maxi": "maxi", "mini": "mini"}.get(style.variant, "midi")
        return {
            "sizes": "XS, S, M, L",
            "fit": rng.choice(("fitted", "regular", "relaxed")),
            "length": length,
            "neckline": rng.choice(("V-neck", "square neck", "scoop neck")),
        }
    if key == "trousers":
        leg = {"wide": "wide", "tapered": "tapered"}.get(style.variant, "straight")
        return {
            "sizes": "28, 30, 32, 34, 36",
            "fit": rng.choice(("slim", "regular", "relaxed")),
            "leg": leg,
            "rise": rng.choice(("mid", "high")),
        }
    if key == "skirt":
        return {
            "sizes": "XS, S, M, L",
            "length": "knee" if style.variant == "pencil" else rng.choice(("knee", "midi")),
            "waist": rng.choice(("concealed zip", "elasticated")),
        }
    if key == "coat":
        return {
            "sizes": "XS, S, M, L, XL",
            "fit": rng.choice(("regular", "relaxed", "oversized")),
            "closure": rng.choice(("buttons", "zip", "toggles")),
            "lining": rng.choice(("fully lined", "unlined")),
        }
    if key in ("sneakers", "boots"):
        closure = {"slipon": "slip-on", "chelsea": "elastic sides"}.get(style.variant, "laces")
        return {"sizes": "EU 36–46", "closure": closure, "sole": rng.choice(("rubber", "crepe rubber", "EVA foam"))}
    if key == "hat":
        sizes = "one size" if style.variant == "beanie" else "S/M, L/XL"
        return {"sizes": sizes}
    if key == "bag":
        litres = rng.choice((8, 12, 14, 18, 22))
        return {
            "capacity": f"{litres} L",
            "closure": rng.choice(("zip", "magnetic snap", "open top")),
            "strap": "adjustable" if style.variant != "tote" else "fixed handles",
        }
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
        accents = DARK_ACCENTS if luminance(COLOURS[colour]) > 165 else LIGHT_ACCENTS
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
        sku=f"{SKU_PREFIX}{n:04d}",
        title=title,
        description=description,
        category_path=kind.path,
        brand=rng.choice(kind.brands),
        price=price,
        stock=stock,
        attributes=attributes,
        kind=kind.key,
        variant=style.variant,
        colour=COLOURS[colour],
        accent=COLOURS[accent],
        pattern=pattern,
        pattern_size=rng.uniform(22, 40),
        pattern_vertical=kind.key in ("trousers", "scarf") or rng.random() < 0.2,
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
