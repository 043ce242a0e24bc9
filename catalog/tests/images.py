"""Small constructed images for tests (no dataset needed)."""

import io

from PIL import Image


def image_bytes(size=(300, 240), colour=(200, 30, 30), format="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format)
    return buffer.getvalue()


def scene(seed: int, size=(320, 400)) -> Image.Image:
    """A sharp, mid-bright picture of random shapes; different seeds look different to the model
    (cosine < 0.8), unlike random noise, which the CNN sees as one texture."""
    import numpy as np
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    picture = Image.new("RGB", size, tuple(int(v) for v in rng.integers(60, 200, 3)))
    draw = ImageDraw.Draw(picture)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, size[0])), int(rng.integers(0, size[1]))
        box = (x0, y0, x0 + int(rng.integers(20, 150)), y0 + int(rng.integers(20, 150)))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.rectangle if rng.integers(0, 2) else draw.ellipse)(box, fill=colour)
    return picture


def scene_bytes(seed: int, size=(320, 400), format="JPEG", **save_options) -> bytes:
    buffer = io.BytesIO()
    scene(seed, size).save(buffer, format, **save_options)
    return buffer.getvalue()
