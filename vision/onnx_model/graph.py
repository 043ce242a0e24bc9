"""Build the EfficientNet-Lite0 ONNX graph from a state dict, with numpy and onnx only.

Architecture (EfficientNet-Lite0, no squeeze-excite):

    stem conv 3x3 stride 2 -> BN -> ReLU6
    16 MBConv blocks: [expand 1x1 -> BN -> ReLU6] -> depthwise kxk -> BN -> ReLU6
                      -> project 1x1 -> BN [-> + input when shapes match]
    head conv 1x1 -> BN -> ReLU6 -> GlobalAveragePool -> ``embedding`` [N, 1280]
    ``_fc`` (Gemm) -> ``logits`` [N, 1000]

Kernel sizes, channel counts and whether a block expands are read from the weight
shapes; only the block strides (not recoverable from weights) are a constant.
Every BatchNorm (eps 1e-3) is folded into the preceding convolution's weights and
bias. Padding is TensorFlow "SAME" (``auto_pad=SAME_UPPER``): the weights were
trained in TensorFlow, where stride-2 convolutions pad the extra row/column at the
bottom/right. ``padding="symmetric"`` builds the (wrong) PyTorch-style
``k // 2`` padding, kept only so a test can prove the difference is detected.
"""

from __future__ import annotations

import re

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

BN_EPS = 1e-3
STRIDE_2_BLOCKS = frozenset({1, 3, 5, 11})
OPSET = 17
IR_VERSION = 8  # the IR version that goes with opset 17; accepted by every onnxruntime >= 1.11
INPUT_NAME = "image"
EMBEDDING_NAME = "embedding"
LOGITS_NAME = "logits"
IMAGE_SIZE = 224
EMBEDDING_DIM = 1280  # channels of the head conv, pooled
PADDINGS = ("same_upper", "symmetric")


class _GraphBuilder:
    def __init__(self, state: dict[str, np.ndarray], padding: str):
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}, not {padding!r}")
        self.state = state
        self.padding = padding
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.used: set[str] = set()
        self.initializers.append(numpy_helper.from_array(np.array(0.0, np.float32), "relu6_min"))
        self.initializers.append(numpy_helper.from_array(np.array(6.0, np.float32), "relu6_max"))

    def weight(self, name: str) -> np.ndarray:
        self.used.add(name)
        return self.state[name]

    def folded_conv_bn(self, conv: str, bn: str) -> tuple[np.ndarray, np.ndarray]:
        w = self.weight(f"{conv}.weight").astype(np.float64)
        bias = self.state.get(f"{conv}.bias")
        if bias is not None:
            self.used.add(f"{conv}.bias")
        gamma = self.weight(f"{bn}.weight").astype(np.float64)
        beta = self.weight(f"{bn}.bias").astype(np.float64)
        mean = self.weight(f"{bn}.running_mean").astype(np.float64)
        var = self.weight(f"{bn}.running_var").astype(np.float64)
        if f"{bn}.num_batches_tracked" in self.state:
            self.used.add(f"{bn}.num_batches_tracked")
        scale = gamma / np.sqrt(var + BN_EPS)
        folded_w = w * scale[:, None, None, None]
        folded_b = beta + ((bias.astype(np.float64) if bias is not None else 0.0) - mean) * scale
        return folded_w.astype(np.float32), folded_b.astype(np.float32)

    def conv_bn(
        self, x: str, conv: str, bn: str, *, stride: int = 1, depthwise: bool = False, relu6: bool = True
    ) -> str:
        w, b = self.folded_conv_bn(conv, bn)
        out_channels, in_per_group, kh, kw = w.shape
        group = out_channels if depthwise else 1
        if depthwise and in_per_group != 1:
            raise ValueError(f"{conv} is not depthwise: weight shape {w.shape}")
        self.initializers.append(numpy_helper.from_array(w, f"{conv}.w"))
        self.initializers.append(numpy_helper.from_array(b, f"{conv}.b"))
        attrs = dict(kernel_shape=[kh, kw], strides=[stride, stride], group=group)
        if kh == kw == 1 and stride == 1:
            attrs["pads"] = [0, 0, 0, 0]
        elif self.padding == "same_upper":
            attrs["auto_pad"] = "SAME_UPPER"
        else:
            attrs["pads"] = [kh // 2, kw // 2, kh // 2, kw // 2]
        y = f"{conv}.out"
        self.nodes.append(helper.make_node("Conv", [x, f"{conv}.w", f"{conv}.b"], [y], name=conv, **attrs))
        if relu6:
            self.nodes.append(
                helper.make_node("Clip", [y, "relu6_min", "relu6_max"], [f"{conv}.relu6"], name=f"{conv}.relu6")
            )
            y = f"{conv}.relu6"
        return y

    def block(self, index: int, x: str, in_channels: int) -> tuple[str, int]:
        prefix = f"_blocks.{index}"
        stride = 2 if index in STRIDE_2_BLOCKS else 1
        y = x
        if f"{prefix}._expand_conv.weight" in self.state:
            expand_w = self.state[f"{prefix}._expand_conv.weight"]
            if expand_w.shape[1] != in_channels or expand_w.shape[2:] != (1, 1):
                raise ValueError(f"{prefix}: unexpected expand weight {expand_w.shape}")
            y = self.conv_bn(y, f"{prefix}._expand_conv", f"{prefix}._bn0")
        y = self.conv_bn(y, f"{prefix}._depthwise_conv", f"{prefix}._bn1", stride=stride, depthwise=True)
        y = self.conv_bn(y, f"{prefix}._project_conv", f"{prefix}._bn2", relu6=False)
        out_channels = self.state[f"{prefix}._project_conv.weight"].shape[0]
        if stride == 1 and out_channels == in_channels:
            self.nodes.append(helper.make_node("Add", [y, x], [f"{prefix}.out"], name=f"{prefix}.add"))
            y = f"{prefix}.out"
        return y, out_channels

    def build(self) -> onnx.ModelProto:
        block_ids = sorted({int(m.group(1)) for k in self.state if (m := re.match(r"_blocks\.(\d+)\.", k))})
        if block_ids != list(range(len(block_ids))) or not block_ids:
            raise ValueError(f"unexpected block numbering {block_ids}")
        x = self.conv_bn(INPUT_NAME, "_conv_stem", "_bn0", stride=2)
        channels = self.state["_conv_stem.weight"].shape[0]
        for index in block_ids:
            x, channels = self.block(index, x, channels)
        x = self.conv_bn(x, "_conv_head", "_bn1")
        self.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"], name="pool"))
        self.nodes.append(helper.make_node("Flatten", ["pooled"], [EMBEDDING_NAME], name="flatten", axis=1))
        fc_w = self.weight("_fc.weight")
        fc_b = self.weight("_fc.bias")
        self.initializers.append(numpy_helper.from_array(fc_w.astype(np.float32), "_fc.w"))
        self.initializers.append(numpy_helper.from_array(fc_b.astype(np.float32), "_fc.b"))
        self.nodes.append(
            helper.make_node("Gemm", [EMBEDDING_NAME, "_fc.w", "_fc.b"], [LOGITS_NAME], name="_fc", transB=1)
        )
        unused = sorted(set(self.state) - self.used)
        if unused:
            raise ValueError(f"checkpoint entries not used by the graph: {unused[:5]}")

        embedding_dim, num_classes = fc_w.shape[1], fc_w.shape[0]
        graph = helper.make_graph(
            self.nodes,
            "efficientnet_lite0",
            [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", 3, IMAGE_SIZE, IMAGE_SIZE])],
            [
                helper.make_tensor_value_info(EMBEDDING_NAME, TensorProto.FLOAT, ["N", embedding_dim]),
                helper.make_tensor_value_info(LOGITS_NAME, TensorProto.FLOAT, ["N", num_classes]),
            ],
            initializer=self.initializers,
        )
        # The producer name is part of the file's bytes, hence of every EmbeddingModel's
        # checksum: it keeps the package's name from before the move to vision/ (2026-12).
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="visualshop.search.model"
        )
        model.ir_version = IR_VERSION
        onnx.checker.check_model(model, full_check=True)
        return model


def build_graph(state: dict[str, np.ndarray], padding: str = "same_upper") -> onnx.ModelProto:
    """ONNX model with input ``image`` [N,3,224,224] and outputs ``embedding``, ``logits``."""
    return _GraphBuilder(state, padding).build()
