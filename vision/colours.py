"""Dominant colour names of a product picture, e.g. {"red": 0.83, "white": 0.17}.

Steps (numpy only, deterministic):

1. Down-sample to at most SAMPLE_SIDE px on the long side (box filter): colour
   names need a few thousand pixels, not 80,000.
2. Convert to OKLab (perceptually uniform: equal distances look equally different,
   and chroma/hue separate cleanly from lightness, unlike RGB or HSV).
3. Drop the backdrop. The two-pixel border ring is clustered; a ring colour covering
   at least BACKDROP_MIN_BORDER_SHARE of the ring *and* more common in the ring than
   in the middle of the picture is backdrop (a white studio sweep, a grey wall, a
   bed sheet), and every pixel within BACKDROP_DISTANCE of it is dropped. A garment
   that touches the edges (a sweater photographed close up) is more common in the
   middle, so it stays. When dropping would leave under MIN_FOREGROUND_SHARE of the
   picture (a white shirt on white, a plain swatch) nothing is dropped: the product
   *is* that colour.
4. k-means (k = CLUSTERS, k-means++ with a fixed seed) on what is left.
5. Each cluster centre gets a name (`colour_name`), equal names merge, and names
   with at least MIN_SHARE of the remaining pixels are returned, largest first.

Names (15): black, white, grey, beige, brown, red, pink, orange, yellow, olive,
green, teal, blue, navy, purple. Naming is chroma-aware: a centre whose OKLab chroma
is under ACHROMATIC_CHROMA is black, grey or white by lightness alone, so warm and
cool greys, silver and charcoal never become "beige" or "blue"; only coloured
centres go to the nearest of the named prototypes below.

Measured on the pipeline's working copy (short side 256): 1.2 ms median per drawn
catalogue picture, 2.0 ms per real photo of ../shared/datasets/clothing-small (one
core). On the 185 single-colour drawn test-catalogue pictures (fixtures.drawn_catalogue, whose colour
names the prototypes were tuned with, so this is not an unbiased score) the first
name is right for 180; the 5 misses are white bags whose grey flap outweighs them.
Casual photos (clothing-small: garments on floors and beds, indoor light) are
harder: a wooden floor or a patterned rug is no uniform backdrop and stays in, and
pale colours photographed indoors lose their chroma (a beige jacket reads grey).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

SAMPLE_SIDE = 64
CLUSTERS = 5
KMEANS_ITERATIONS = 12
SEED = 0
# OKLab distance (L runs 0..1, the a/b chroma axes about -0.3..0.3): 0.06 is the step from
# white (250) to a light grey (230), wide enough for a backdrop's shading and JPEG noise.
BACKDROP_DISTANCE = 0.06
BACKDROP_CLUSTERS = 3
BACKDROP_MIN_BORDER_SHARE = 0.2
# A trainer on a studio backdrop covers 4-6% of the picture.
MIN_FOREGROUND_SHARE = 0.03
MIN_SHARE = 0.1
# Below this OKLab chroma a colour is seen as a grey: a warm grey (150,140,130) has
# 0.019, off-white 0.012, charcoal 0.009; the least saturated named colours sit above
# it: beige (225,205,170) 0.052, a greyish navy (25,35,55) 0.041, dark brown 0.045.
ACHROMATIC_CHROMA = 0.035
BLACK_BELOW_L = 0.38  # (60,60,60) and darker read as black on a garment
# Off-white (240,236,228) has 0.944, a white shirt photographed indoors about 0.85;
# silver (192,192,196) has 0.809 and stays grey.
WHITE_ABOVE_L = 0.84

# Prototypes of the coloured names in sRGB, several per name where one name spans a
# range people still call by that name (maroon and burgundy are red, khaki and tan are
# beige, turquoise is teal, lavender and plum are purple).
PROTOTYPES: dict[str, list[tuple[int, int, int]]] = {
    "red": [(220, 20, 30), (180, 20, 30), (128, 0, 0), (110, 30, 40)],
    "pink": [(255, 150, 180), (230, 80, 150), (250, 200, 210), (200, 100, 130), (170, 95, 115)],
    "orange": [(250, 130, 20), (230, 100, 40), (250, 170, 100)],
    "yellow": [(250, 220, 30), (240, 230, 140), (220, 190, 40), (210, 160, 45)],
    "brown": [(120, 70, 30), (90, 55, 35), (150, 90, 50), (70, 45, 30), (160, 110, 70), (185, 135, 85)],
    "beige": [(225, 205, 170), (200, 180, 140), (235, 220, 195), (195, 176, 145), (210, 180, 140)],
    "olive": [(110, 110, 40), (85, 95, 45), (130, 130, 70)],
    "green": [(40, 160, 60), (20, 80, 40), (140, 210, 120), (60, 110, 70), (160, 230, 195), (150, 174, 140)],
    "teal": [(0, 128, 128), (60, 170, 170), (20, 90, 90), (40, 190, 210)],
    "blue": [(40, 90, 220), (100, 160, 230), (140, 190, 230), (70, 100, 140), (30, 60, 150)],
    "navy": [(20, 30, 80), (30, 40, 100), (25, 35, 55), (15, 25, 60)],
    "purple": [(120, 50, 160), (180, 160, 210), (100, 30, 80), (150, 80, 170)],
}
NAMES = ("black", "white", "grey", *PROTOTYPES)

# sRGB byte -> linear light, looked up instead of computed per pixel.
_LINEAR = np.where(
    (np.arange(256) / 255.0) <= 0.04045,
    np.arange(256) / 255.0 / 12.92,
    ((np.arange(256) / 255.0 + 0.055) / 1.055) ** 2.4,
).astype(np.float32)
_RGB_TO_LMS = np.array(
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ],
    dtype=np.float32,
)
_LMS_TO_OKLAB = np.array(
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ],
    dtype=np.float32,
)


def srgb_to_oklab(rgb: np.ndarray) -> np.ndarray:
    """uint8 sRGB (..., 3) -> float32 OKLab (..., 3) (Björn Ottosson's matrices)."""
    linear = _LINEAR[np.asarray(rgb, dtype=np.uint8)]
    return np.cbrt(linear @ _RGB_TO_LMS.T) @ _LMS_TO_OKLAB.T


_PROTOTYPE_NAMES = [name for name, colours in PROTOTYPES.items() for _ in colours]
_PROTOTYPE_LAB = srgb_to_oklab(np.array([c for colours in PROTOTYPES.values() for c in colours]))


def colour_name(lab: np.ndarray) -> str:
    """The name of one OKLab colour."""
    lightness, chroma = float(lab[0]), float(np.hypot(lab[1], lab[2]))
    if chroma < ACHROMATIC_CHROMA:
        if lightness < BLACK_BELOW_L:
            return "black"
        return "white" if lightness > WHITE_ABOVE_L else "grey"
    distances = np.linalg.norm(_PROTOTYPE_LAB - lab, axis=1)
    return _PROTOTYPE_NAMES[int(np.argmin(distances))]


def dominant_colours(picture: Image.Image) -> dict[str, float]:
    """Dominant colour names of an RGB picture with their share of the product's pixels
    (backdrop excluded), largest first; shares under MIN_SHARE are left out."""
    pixels = _sample(picture)
    if pixels.size == 0:
        return {}
    lab = srgb_to_oklab(pixels)
    foreground = lab[_foreground_mask(lab)].reshape(-1, 3)
    centres, counts = _kmeans(foreground, CLUSTERS)
    shares: dict[str, float] = {}
    total = counts.sum()
    for centre, count in zip(centres, counts):
        if count:
            name = colour_name(centre)
            shares[name] = shares.get(name, 0.0) + count / total
    kept = sorted(((share, name) for name, share in shares.items() if share >= MIN_SHARE), reverse=True)
    return {name: round(float(share), 3) for share, name in kept}


def _sample(picture: Image.Image) -> np.ndarray:
    """uint8 (h, w, 3), long side at most SAMPLE_SIDE."""
    if picture.mode != "RGB":
        picture = picture.convert("RGB")
    width, height = picture.size
    scale = SAMPLE_SIDE / max(width, height)
    if scale < 1:
        picture = picture.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.BOX)
    return np.asarray(picture)


def _foreground_mask(lab: np.ndarray) -> np.ndarray:
    """Boolean (h, w): True where the pixel is not backdrop."""
    height, width = lab.shape[:2]
    keep_all = np.ones((height, width), dtype=bool)
    if height < 8 or width < 8:
        return keep_all
    ring = np.concatenate(
        [lab[0], lab[-1], lab[1:-1, 0], lab[1:-1, -1], lab[1], lab[-2], lab[2:-2, 1], lab[2:-2, -2]]
    )  # two pixels deep
    middle = lab[height // 4 : height - height // 4, width // 4 : width - width // 4].reshape(-1, 3)
    centres, counts = _kmeans(ring, BACKDROP_CLUSTERS)
    backdrop = []
    for centre, count in zip(centres, counts):
        border_share = count / len(ring)
        if border_share < BACKDROP_MIN_BORDER_SHARE:
            continue
        # A backdrop is more common around the edge than in the middle; a garment that
        # touches the edge (a sweater photographed close up) is the other way round.
        middle_share = np.mean(np.linalg.norm(middle - centre, axis=1) < BACKDROP_DISTANCE)
        if middle_share < border_share:
            backdrop.append(centre)
    if not backdrop:
        return keep_all  # a busy border (a scene, a pattern to the edge): nothing to drop
    flat = lab.reshape(-1, 3)
    nearest = np.min(np.linalg.norm(flat[:, None, :] - np.array(backdrop)[None, :, :], axis=2), axis=1)
    mask = (nearest >= BACKDROP_DISTANCE).reshape(height, width)
    if mask.mean() < MIN_FOREGROUND_SHARE:
        return keep_all
    return mask


def _kmeans(points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Centres and member counts, k-means++ initialised with a fixed seed (same input,
    same answer). Fewer distinct points than k gives duplicate centres with count 0."""
    points = np.asarray(points, dtype=np.float32)
    rng = np.random.default_rng(SEED)
    centres = np.empty((k, 3), dtype=np.float32)
    centres[0] = points[rng.integers(len(points))]
    closest = np.sum((points - centres[0]) ** 2, axis=1, dtype=np.float64)
    for i in range(1, k):
        total = closest.sum()
        if total <= 1e-12:  # every point already sits on a centre
            centres[i:] = centres[0]
            break
        centres[i] = points[rng.choice(len(points), p=closest / total)]
        closest = np.minimum(closest, np.sum((points - centres[i]) ** 2, axis=1, dtype=np.float64))
    labels = np.zeros(len(points), dtype=np.intp)
    for iteration in range(KMEANS_ITERATIONS):
        # |x - c|^2 = |x|^2 - 2 x.c + |c|^2, and |x|^2 does not change the argmin.
        new_labels = ((centres * centres).sum(axis=1) - 2 * points @ centres.T).argmin(axis=1)
        if iteration and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        counts = np.bincount(labels, minlength=k)
        filled = counts > 0
        for axis in range(3):
            sums = np.bincount(labels, weights=points[:, axis], minlength=k)
            centres[filled, axis] = sums[filled] / counts[filled]
    counts = np.bincount(labels, minlength=k)
    # Duplicate centres (fewer distinct colours than k) split nothing: argmin gives all
    # their points to the first, the rest have count 0 and are ignored.
    return centres, counts
