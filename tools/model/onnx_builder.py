"""A small helper over onnx.helper: names nodes and initializers deterministically and holds
the weight-only int8 building blocks the engine keeps 8-bit in memory (speech/src/int8.rs).
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

# Slice "to the end" uses INT64_MAX: tract's shape inference breaks on 2**62 when the sliced
# length is symbolic.
INT64_MAX = np.iinfo(np.int64).max


def quantize_rows(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row int8: w[r] ~= q[r] * scale[r], q in [-127, 127]."""
    w = np.asarray(w, dtype=np.float32)
    flat = w.reshape(w.shape[0], -1)
    amax = np.abs(flat).max(axis=1)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(flat / scale[:, None]), -127, 127).astype(np.int8).reshape(w.shape)
    return q, scale


class GraphBuilder:
    def __init__(self, quantize: bool = True):
        self.quantize = quantize  # False: plain f32 weights (for accuracy comparisons)
        self.nodes: list = []
        self.initializers: list = []
        self._names: dict[str, int] = {}
        self._consts: dict[tuple, str] = {}

    def name(self, base: str) -> str:
        n = self._names.get(base, 0)
        self._names[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    def init(self, base: str, array: np.ndarray) -> str:
        """Adds an initializer under a fresh name."""
        name = self.name(base)
        array = np.asarray(array)
        if not array.flags.c_contiguous:  # (np.ascontiguousarray would turn a scalar 1-D)
            array = array.copy(order="C")
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def const(self, value, dtype) -> str:
        """A small shared constant (shapes, axes, scalars), deduplicated by value."""
        array = np.asarray(value, dtype=dtype)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self._consts:
            self._consts[key] = self.init("const", array)
        return self._consts[key]

    def i64(self, value) -> str:
        return self.const(value, np.int64)

    def f32(self, value) -> str:
        return self.const(value, np.float32)

    def op(self, op_type: str, inputs: list[str], name: str | None = None, outputs: int = 1,
           **attrs):
        base = self.name(name or op_type.lower())
        outs = [base] if outputs == 1 else [f"{base}:{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=base, **attrs))
        return outs[0] if outputs == 1 else outs

    # --- building blocks ---

    def int8_weight(self, base: str, w: np.ndarray, axis: int) -> str:
        """f32 weight from a per-channel symmetric int8 initializer + DequantizeLinear.

        `w` is laid out with its output channels on `axis` (0 or last).
        """
        if not self.quantize:
            return self.init(base, np.asarray(w, np.float32))
        moved = np.moveaxis(w, axis, 0)
        q, scale = quantize_rows(moved)
        q = np.moveaxis(q, 0, axis)
        qn = self.init(base + ".q", q)
        sn = self.init(base + ".scale", scale)
        zn = self.init(base + ".zero", np.zeros(scale.shape, np.int8))
        return self.op("DequantizeLinear", [qn, sn, zn], name=base, axis=axis)

    def linear(self, x: str, w: np.ndarray, b: np.ndarray | None, base: str) -> str:
        """y = x @ w.T + b for w [out, in] (PyTorch/CTranslate2 layout), weights int8.

        Stored as [in, out] so that the MatMul needs no transpose. The engine recognises
        MatMul(x, DequantizeLinear(int8, scales)) and multiplies with the int8 weights as they
        are (speech/src/int8.rs), so a weight is one initializer whatever its size.
        """
        wt = np.ascontiguousarray(w.T)
        weight = self.int8_weight(f"{base}.w", wt, axis=1)
        y = self.op("MatMul", [x, weight], name=f"{base}.matmul")
        if b is not None and np.any(b != 0):  # Whisper's key projections have no bias
            y = self.op("Add", [y, self.init(base + ".b", b.astype(np.float32))],
                        name=base + ".add")
        return y

    def layer_norm(self, x: str, gamma: np.ndarray, beta: np.ndarray, base: str,
                   eps: float = 1e-5) -> str:
        # PyTorch's LayerNorm default eps, which Whisper uses.
        return self.op("LayerNormalization",
                       [x, self.init(base + ".gamma", gamma.astype(np.float32)),
                        self.init(base + ".beta", beta.astype(np.float32))],
                       name=base, axis=-1, epsilon=eps)

    def gelu(self, x: str, tanh: bool = False) -> str:
        """GELU composed from opset-18 ops (Gelu itself is opset 20)."""
        if tanh:
            # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
            x3 = self.op("Mul", [self.op("Mul", [x, x]), x])
            inner = self.op("Add", [x, self.op("Mul", [x3, self.f32(0.044715)])])
            t = self.op("Tanh", [self.op("Mul", [inner, self.f32(np.sqrt(2 / np.pi))])])
        else:
            # exact GELU as torch.nn.GELU(): 0.5 x (1 + erf(x / sqrt(2)))
            t = self.op("Erf", [self.op("Mul", [x, self.f32(1 / np.sqrt(2))])])
        half_x = self.op("Mul", [x, self.f32(0.5)])
        return self.op("Mul", [half_x, self.op("Add", [t, self.f32(1.0)])], name="gelu")

    def model(self, inputs, outputs, graph_name: str, metadata: dict[str, str]):
        graph = helper.make_graph(self.nodes, graph_name, inputs, outputs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)],
                                  producer_name="reelsmith-convert-ct2", producer_version="1",
                                  ir_version=8)
        for key in sorted(metadata):
            entry = model.metadata_props.add()
            entry.key, entry.value = key, str(metadata[key])
        return model


def value_info(name: str, elem_type, shape):
    return helper.make_tensor_value_info(name, elem_type, shape)


F32 = TensorProto.FLOAT
I64 = TensorProto.INT64
