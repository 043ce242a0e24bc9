"""The demo catalogue's photos: each product's silhouette drawn in its colour and pattern,
as a deterministic JPEG (render_demo_image). Needs neither Django nor a database."""

from __future__ import annotations

import io
import math
import random
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from catalog.demo.products import SEED, DemoProduct, luminance

CANVAS = (480, 600)
JPEG_QUALITY = 86

# A silhouette is a list of operations in coordinates normalised to the item's box
# (0..1 both ways; the box is 360x480 px at scale 1). Mask operations are filled with
# the product's colour and pattern; detail operations are drawn on top in a named ink.


def _tee(variant: str):
    neck = (
        [(0.37, 0.06), (0.50, 0.22), (0.63, 0.06)]
        if variant == "vneck"
        else [(0.37, 0.06), (0.43, 0.11), (0.50, 0.13), (0.57, 0.11), (0.63, 0.06)]
    )
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
    body = [
        (0.38, 0.02),
        (0.42, 0.02),
        (0.50, 0.12),
        (0.58, 0.02),
        (0.62, 0.02),
        (0.66, 0.24),
        (0.61, 0.40),
        (1 - hem_x, hem_y),
        (0.5, hem_y + 0.015),
        (hem_x, hem_y),
        (0.39, 0.40),
        (0.34, 0.24),
    ]
    details = [("line", [(0.39, 0.40), (0.61, 0.40)], 0.016, "dark")]
    return [("poly", body)], details


def _trousers(variant: str):
    outer, inner = {"wide": (0.86, 0.535), "tapered": (0.71, 0.54)}.get(variant, (0.78, 0.545))
    body = [
        (0.27, 0.02),
        (0.73, 0.02),
        (outer, 0.98),
        (inner, 0.98),
        (0.50, 0.32),
        (1 - inner, 0.98),
        (1 - outer, 0.98),
    ]
    details = [
        ("line", [(0.27, 0.065), (0.73, 0.065)], 0.010, "dark"),
        ("line", [(0.50, 0.065), (0.50, 0.24)], 0.008, "dark"),
        ("line", [(0.31, 0.07), (0.38, 0.15)], 0.006, "dark"),
        ("line", [(0.69, 0.07), (0.62, 0.15)], 0.006, "dark"),
    ]
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
    body = [
        (0.38, 0.02),
        (0.50, 0.12),
        (0.62, 0.02),
        (0.80, 0.08),
        (0.97, 0.80),
        (0.86, 0.82),
        (0.79, 0.34),
        (0.80, 0.99),
        (0.20, 0.99),
        (0.21, 0.34),
        (0.14, 0.82),
        (0.03, 0.80),
        (0.20, 0.08),
    ]
    details = [
        ("line", [(0.50, 0.12), (0.50, 0.99)], 0.008, "dark"),
        ("line", [(0.39, 0.03), (0.46, 0.30)], 0.010, "dark"),
        ("line", [(0.61, 0.03), (0.54, 0.30)], 0.010, "dark"),
    ]
    for y in (0.40, 0.54, 0.68):
        details.append(("dot", (0.46, y), 0.018, "dark"))
    details.append(("line", [(0.27, 0.66), (0.37, 0.66)], 0.008, "dark"))
    details.append(("line", [(0.63, 0.66), (0.73, 0.66)], 0.008, "dark"))
    if variant == "trench":
        details.append(("line", [(0.21, 0.48), (0.79, 0.48)], 0.02, "dark"))
    return [("poly", body)], details


def _shoe(variant: str):
    if variant in ("chelsea", "laceup"):
        upper = [
            (0.08, 0.66),
            (0.10, 0.57),
            (0.26, 0.52),
            (0.44, 0.48),
            (0.49, 0.20),
            (0.80, 0.20),
            (0.82, 0.42),
            (0.91, 0.52),
            (0.92, 0.66),
        ]
        details = [
            ("rrect", (0.06, 0.64, 0.94, 0.71), 0.02, "sole_dark"),
            ("rrect", (0.74, 0.68, 0.93, 0.75), 0.01, "sole_dark"),
        ]
        if variant == "chelsea":
            details.append(("poly", [(0.58, 0.24), (0.70, 0.24), (0.67, 0.50), (0.61, 0.50)], "dark"))
            details.append(("line", [(0.79, 0.14), (0.79, 0.26)], 0.02, "dark"))
        else:
            for i in range(6):
                y = 0.26 + i * 0.045
                details.append(("line", [(0.48 - i * 0.004, y), (0.58, y + 0.02)], 0.008, "light"))
        return [("poly", upper)], details
    collar = 0.24 if variant == "high" else 0.36
    upper = [
        (0.06, 0.64),
        (0.08, 0.56),
        (0.20, 0.51),
        (0.40, 0.47),
        (0.52, collar + 0.02),
        (0.62, collar),
        (0.80, collar + 0.01),
        (0.89, 0.44),
        (0.93, 0.64),
    ]
    details = [
        ("rrect", (0.04, 0.62, 0.95, 0.70), 0.03, "sole"),
        ("line", [(0.05, 0.655), (0.94, 0.655)], 0.006, "sole_line"),
    ]
    if variant != "slipon":
        for i in range(4):
            x, y = 0.41 + i * 0.045, 0.475 - i * 0.03 - (0.02 if variant == "high" else 0)
            details.append(("line", [(x, y), (x + 0.05, y + 0.035)], 0.010, "light"))
    details.append(("line", [(0.30, 0.60), (0.52, 0.52), (0.70, 0.58)], 0.012, "accent"))
    return [("poly", upper)], details


def _hat(variant: str):
    if variant == "beanie":
        mask = [
            ("ellipse", (0.22, 0.24, 0.78, 0.78)),
            ("rrect", (0.20, 0.54, 0.80, 0.70), 0.03),
            ("ellipse", (0.43, 0.14, 0.57, 0.28)),
        ]
        details = [("line", [(0.20 + i * 0.05, 0.56), (0.20 + i * 0.05, 0.68)], 0.005, "dark") for i in range(1, 12)]
        return mask, details
    if variant == "bucket":
        mask = [
            ("poly", [(0.30, 0.30), (0.70, 0.30), (0.76, 0.56), (0.24, 0.56)]),
            ("ellipse", (0.28, 0.26, 0.72, 0.36)),
            ("poly", [(0.24, 0.52), (0.76, 0.52), (0.92, 0.66), (0.08, 0.66)]),
        ]
        return mask, [("line", [(0.25, 0.52), (0.75, 0.52)], 0.008, "dark")]
    mask = [("rrect", (0.30, 0.28, 0.70, 0.58), 0.10), ("ellipse", (0.06, 0.50, 0.94, 0.66))]
    return mask, [
        ("rect", (0.30, 0.48, 0.70, 0.54), 0.0, "dark"),
        ("line", [(0.42, 0.30), (0.50, 0.36), (0.58, 0.30)], 0.008, "dark"),
    ]


def _bag(variant: str):
    if variant == "backpack":
        mask = [("rrect", (0.24, 0.18, 0.76, 0.90), 0.12)]
        details = [
            ("rrect", (0.32, 0.56, 0.68, 0.84), 0.05, "dark_outline"),
            ("line", [(0.30, 0.32), (0.70, 0.32)], 0.008, "dark"),
            ("arc", (0.40, 0.08, 0.60, 0.26), 180, 360, 0.018, "dark"),
        ]
        return mask, details
    if variant == "shoulder":
        mask = [("rrect", (0.20, 0.44, 0.80, 0.80), 0.06)]
        details = [
            ("arc", (0.22, 0.06, 0.78, 0.84), 180, 360, 0.016, "dark"),
            ("poly", [(0.20, 0.46), (0.80, 0.46), (0.80, 0.62), (0.50, 0.66), (0.20, 0.62)], "dark"),
            ("dot", (0.50, 0.64), 0.02, "metal"),
        ]
        return mask, details
    mask = [("poly", [(0.22, 0.38), (0.78, 0.38), (0.85, 0.88), (0.15, 0.88)])]
    details = [
        ("arc", (0.30, 0.18, 0.46, 0.58), 180, 360, 0.020, "dark"),
        ("arc", (0.54, 0.18, 0.70, 0.58), 180, 360, 0.020, "dark"),
        ("line", [(0.22, 0.42), (0.78, 0.42)], 0.006, "dark"),
    ]
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
        return mask, [
            ("ellipse_line", (0.28, 0.44, 0.62, 0.49), 0.008, "rim"),
            ("ellipse", (0.16, 0.73, 0.76, 0.81), "sole"),
        ]
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
            points.append((ax + (bx - ax) * t + nx / length * bulge * 0.75, ay + (by - ay) * t + ny / length * bulge))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return [("poly", points)], [
        ("dot", (cx, cy), 0.022, "dark"),
        ("line", [(cx - 0.12, cy - 0.09), (cx, cy)], 0.004, "dark"),
        ("line", [(cx + 0.12, cy + 0.09), (cx, cy)], 0.004, "dark"),
    ]


SILHOUETTES = {
    "tshirt": _tee,
    "dress": _dress,
    "trousers": _trousers,
    "skirt": _skirt,
    "coat": _coat,
    "sneakers": _shoe,
    "boots": _shoe,
    "hat": _hat,
    "bag": _bag,
    "scarf": _scarf,
    "mug": _mug,
    "cushion": _cushion,
}


def _mix(a, b, t: float) -> tuple[int, int, int]:
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))


def _inks(product: DemoProduct) -> dict[str, tuple[int, int, int]]:
    colour = product.colour
    dark_item = luminance(colour) < 70
    dark = _mix(colour, (255, 255, 255), 0.30) if dark_item else _mix(colour, (0, 0, 0), 0.35)
    return {
        "dark": dark,
        "dark_outline": dark,
        "light": (245, 243, 236) if luminance(colour) < 170 else (70, 70, 74),
        "accent": product.accent if product.pattern == "solid" else dark,
        "sole": (244, 242, 234),
        "sole_line": (190, 186, 176),
        "sole_dark": (44, 38, 34),
        "metal": (200, 166, 92),
        "rim": _mix(colour, (255, 255, 255), 0.45),
        "fringe": colour,
        "outline": _mix(colour, (255, 255, 255), 0.22) if dark_item else _mix(colour, (0, 0, 0), 0.30),
    }


@lru_cache(maxsize=1)
def _grid() -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0 : CANVAS[1], 0 : CANVAS[0]].astype(np.float32)
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
                draw.rounded_rectangle(
                    [*to_px(x0, y0), *to_px(x1, y1)],
                    radius=radius * unit,
                    outline=colour,
                    width=max(1, round(0.008 * unit)),
                )
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
            draw.line(
                [to_px(x, y) for x, y in op[1]], fill=ink(op[3]), width=max(1, round(op[2] * unit)), joint="curve"
            )
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


BACKGROUNDS = ((243, 241, 237), (236, 240, 244), (244, 238, 233), (237, 242, 236), (240, 240, 241), (245, 241, 230))


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
    _draw_ops(ImageDraw.Draw(details_big), detail_ops, to_big, box_w * supersample, lambda name: inks[name or "dark"])
    detail_box = details_big.getbbox()
    if detail_box:
        left, top = (detail_box[0] // supersample) * supersample, (detail_box[1] // supersample) * supersample
        right, bottom = -(-detail_box[2] // supersample) * supersample, -(-detail_box[3] // supersample) * supersample
        item.alpha_composite(
            details_big.crop((left, top, right, bottom)).reduce(supersample), (left // supersample, top // supersample)
        )

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
