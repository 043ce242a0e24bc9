"""Small constructed images for tests (no dataset needed)."""

import io

from PIL import Image


def image_bytes(size=(300, 240), colour=(200, 30, 30), format="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format)
    return buffer.getvalue()
