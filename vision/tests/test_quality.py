"""Blur, brightness and perceptual hash on constructed pictures (no database, no dataset)."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from vision.quality import hamming_distance, measure_quality

BLUR_THRESHOLD = 100.0


def checkerboard(size=(400, 300), square=8) -> Image.Image:
    rows, columns = np.indices((size[1], size[0]))
    pixels = ((rows // square + columns // square) % 2 * 255).astype(np.uint8)
    return Image.fromarray(pixels, "L").convert("RGB")


def noise(seed: int, size=(400, 300)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")


def product_photo(seed: int, size=(300, 400)) -> Image.Image:
    """Smooth colour background with two solid shapes: structure at several scales, like a photo."""
    rng = np.random.default_rng(seed)
    background = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    image = Image.fromarray(background, "RGB").resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.ellipse(
        (width * 0.2, height * 0.15, width * 0.7, height * 0.55), fill=tuple(map(int, rng.integers(0, 256, 3)))
    )
    draw.rectangle(
        (width * 0.4, height * 0.5, width * 0.9, height * 0.9), fill=tuple(map(int, rng.integers(0, 256, 3)))
    )
    return image


def corner_spot(size=200, spot=12) -> Image.Image:
    """A small white square in the corner of black: the DC coefficient falls below the
    median, so its bit is 0 (a positive hash) and leaving DC out of the median would change a bit."""
    image = Image.new("RGB", (size, size), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, spot, spot))
    return image


def reencoded_smaller(image: Image.Image) -> Image.Image:
    """What a re-upload often is: JPEG quality 70, then scaled to 80 %."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    jpeg = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return jpeg.resize((round(jpeg.width * 0.8), round(jpeg.height * 0.8)))


def dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II as a matrix: row k is the k-th cosine basis vector."""
    k, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    matrix = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    matrix[0] /= np.sqrt(2.0)
    return matrix


def reference_phash(image: Image.Image, downsized: tuple[int, int] | None = None) -> int:
    """The hash spelled out independently of the module: Pillow only shrinks, numpy does the rest."""
    grey = image.convert("L")
    if downsized:  # the short-side-256 copy measure_quality hashes
        grey = grey.resize(downsized, Image.Resampling.BICUBIC)
    pixels = np.asarray(grey.resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    dct = dct_matrix(32)
    block = (dct @ pixels @ dct.T)[:8, :8]
    bits = "".join("1" if value > np.median(block) else "0" for value in block.flatten())  # row by row, DC first
    unsigned = int(bits, 2)
    return unsigned - 2**64 if bits[0] == "1" else unsigned


@pytest.mark.parametrize("sharp", [checkerboard(), noise(1)], ids=["checkerboard", "noise"])
def test_blur_separates_sharp_from_gaussian_blurred(sharp):
    assert measure_quality(sharp).blur > 10 * BLUR_THRESHOLD
    assert measure_quality(sharp.filter(ImageFilter.GaussianBlur(6))).blur < BLUR_THRESHOLD


def test_large_picture_is_measured_at_short_side_256():
    large = noise(4, (768, 512))
    half = large.convert("L").resize((384, 256), Image.Resampling.BICUBIC).convert("RGB")  # grey round trip is exact
    assert measure_quality(large).blur == measure_quality(half).blur
    assert measure_quality(large).phash == measure_quality(half).phash


def test_blur_is_comparable_across_resolutions():
    # Measured at full size, the 3x copy would score about half; at short side 256 it stays close.
    sharp = checkerboard((400, 300), square=10)
    tripled = sharp.resize((1200, 900), Image.Resampling.NEAREST)
    assert 0.75 < measure_quality(tripled).blur / measure_quality(sharp).blur < 1.25


def test_uniform_picture_has_no_blur_signal():
    assert measure_quality(Image.new("RGB", (300, 200), (90, 140, 200))).blur == 0.0


@pytest.mark.parametrize(
    ("colour", "expected", "tolerance"),
    [
        ((0, 0, 0), 0.0, 0.0),
        ((255, 255, 255), 255.0, 0.0),
        ((128, 128, 128), 128.0, 0.01),
        ((255, 0, 0), 0.299 * 255, 0.5),
    ],
    ids=["black", "white", "mid-grey", "red"],
)
def test_brightness_is_mean_bt601_luma(colour, expected, tolerance):
    assert abs(measure_quality(Image.new("RGB", (320, 240), colour)).brightness - expected) <= tolerance


def test_brightness_averages_every_pixel():
    image = Image.new("RGB", (600, 800), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 300, 800))
    assert measure_quality(image).brightness == 127.5


def test_identical_pictures_have_identical_hashes():
    image = product_photo(0)
    assert hamming_distance(measure_quality(image).phash, measure_quality(image.copy()).phash) == 0


@pytest.mark.parametrize(
    "image", [product_photo(0), product_photo(5, (640, 480)), noise(3)], ids=["photo", "large-photo", "noise"]
)
def test_reencoded_and_resized_copy_hashes_close(image):
    assert hamming_distance(measure_quality(image).phash, measure_quality(reencoded_smaller(image)).phash) <= 6


@pytest.mark.parametrize(
    ("first", "second"), [(product_photo(0), product_photo(100)), (noise(1), noise(2))], ids=["photos", "noise"]
)
def test_unrelated_pictures_hash_far_apart(first, second):
    assert hamming_distance(measure_quality(first).phash, measure_quality(second).phash) >= 20


@pytest.mark.parametrize(
    ("image", "downsized"),
    [
        (product_photo(0, (200, 256)), None),
        (noise(7, (250, 180)), None),
        (product_photo(4, (256, 160)), None),
        (product_photo(2, (768, 512)), (384, 256)),  # exactly half size: no rounding to mirror
        (corner_spot(), None),
    ],
    ids=["photo", "noise", "landscape-photo", "large-photo", "corner-spot"],
)
def test_phash_matches_reference_implementation(image, downsized):
    # Not symmetric patterns such as a checkerboard: their many exactly-zero coefficients
    # make the median zero, and rounding noise then decides bits differently per DCT.
    phash = measure_quality(image).phash
    assert phash == reference_phash(image, downsized)
    assert -(2**63) <= phash < 2**63


def test_phash_sign_is_the_top_bit():
    # The top bit is the DC coefficient (mean brightness): above the median for most pictures.
    assert measure_quality(product_photo(0)).phash < 0
    assert measure_quality(corner_spot()).phash > 0


def test_hamming_distance_on_signed_hashes():
    assert hamming_distance(0, -1) == 64
    assert hamming_distance(5, 3) == 2
    assert hamming_distance(-(2**63), 2**63 - 1) == 64
    assert hamming_distance(-12345, -12345) == 0
