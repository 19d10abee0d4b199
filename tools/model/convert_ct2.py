#!/usr/bin/env python3
"""Converts a CTranslate2 Whisper model (WhisperSpec) into two ONNX graphs for tract 0.23.

    convert_ct2.py --model-dir DIR --out OUT     # DIR holds model.bin, config.json, ...
    convert_ct2.py --random --model-dir DIR --out OUT
                                                 # tiny random-weights model, same graphs,
                                                 # DIR's vocabulary/tokenizer/config

Graphs (opset 18, batch 1, weight-only int8), see README.md for the interface:
  encoder.onnx: mel[1,n_mels,2*T] -> cross_k_i[H,Dh,T], cross_v_i[H,T,Dh] for each layer i
  decoder.onnx: tokens[1,N], past_k/past_v[L,H,P,Dh], cross_k_i, cross_v_i
                -> logits[1,V], present_k/present_v[L,H,P+N,Dh], alignment[A,N,T]

The model follows openai/whisper's model.py (AudioEncoder, TextDecoder, MultiHeadAttention);
CTranslate2 stores the same weights under its own names (self-attention Q/K/V fused into
`linear_0`, cross-attention K/V fused into `linear_1`). Every dimension is read from the
weights, so tiny, base and small convert alike.

Output is deterministic: same input, byte-identical files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import ct2  # noqa: E402
from onnx_builder import (F32, I64, INT64_MAX, GraphBuilder, quantize_rows,  # noqa: E402
                          value_info)

COPIED_FILES = ("config.json", "vocabulary.txt", "tokenizer.json")
RANDOM_SEED = 20240611

# CTranslate2 ActivationType values.
ACT_GELU_TANH, ACT_GELU = 1, 3


@dataclass
class Dims:
    n_mels: int
    n_audio_ctx: int  # T: encoder frames after the stride-2 conv (1500)
    n_text_ctx: int   # decoder positions (448)
    d_model: int
    n_vocab: int
    enc_layers: int
    dec_layers: int
    enc_heads: int
    dec_heads: int

    @property
    def d_head(self) -> int:
        return self.d_model // self.dec_heads


def count_layers(model: ct2.Ct2Model, prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"/layer_(\d+)/")
    found = {int(m.group(1)) for name in model.variables if (m := pattern.match(name))}
    if found != set(range(len(found))):
        raise ValueError(f"{prefix}: layer indices are not contiguous: {sorted(found)}")
    return len(found)


def read_dims(m: ct2.Ct2Model) -> Dims:
    if m.spec != "WhisperSpec":
        raise ValueError(f"not a Whisper model: spec {m.spec!r}")
    # Refuse variants the graph below does not implement rather than convert them wrongly.
    for flag, want in (("decoder/pre_norm", 1), ("decoder/scale_embeddings", 0),
                       ("decoder/alibi", 0)):
        if flag in m and m.scalar(flag) != want:
            raise ValueError(f"unsupported: {flag} = {m.scalar(flag)}")
    emb = m.raw("decoder/embeddings/weight")
    dims = Dims(
        n_mels=m.raw("encoder/conv1/weight").shape[1],
        n_audio_ctx=m.raw("encoder/position_encodings/encodings").shape[0],
        n_text_ctx=m.raw("decoder/position_encodings/encodings").shape[0],
        d_model=emb.shape[1],
        n_vocab=emb.shape[0],
        enc_layers=count_layers(m, "encoder"),
        dec_layers=count_layers(m, "decoder"),
        enc_heads=m.scalar("encoder/num_heads"),
        dec_heads=m.scalar("decoder/num_heads"),
    )
    for heads in (dims.enc_heads, dims.dec_heads):
        if dims.d_model % heads:
            raise ValueError(f"d_model {dims.d_model} not divisible by {heads} heads")
    return dims


def gelu_is_tanh(m: ct2.Ct2Model) -> bool:
    act = m.scalar("decoder/activation") if "decoder/activation" in m else ACT_GELU
    if act not in (ACT_GELU, ACT_GELU_TANH):
        raise ValueError(f"unsupported activation {act}")
    return act == ACT_GELU_TANH


def alignment_heads(config: dict, dims: Dims) -> list[tuple[int, int]]:
    heads = [tuple(int(v) for v in h) for h in config.get("alignment_heads") or []]
    if not heads:
        # Whisper's default when a model has no tuned list: every head of the second half
        # of the decoder layers (model.py, Whisper.__init__).
        heads = [(l, h) for l in range(dims.dec_layers // 2, dims.dec_layers)
                 for h in range(dims.dec_heads)]
    for layer, head in heads:
        if not (0 <= layer < dims.dec_layers and 0 <= head < dims.dec_heads):
            raise ValueError(f"alignment head {(layer, head)} does not exist in this model")
    return heads


def split_rows(w: np.ndarray, parts: int) -> list[np.ndarray]:
    """Un-fuses CTranslate2's stacked projections ([q; k; v] or [k; v]) along the outputs."""
    return np.split(w, parts, axis=0)


# ----------------------------------------------------------------------------------------
# Pieces shared by both graphs


def heads_first(g: GraphBuilder, x: str, heads: int, d_head: int, perm) -> str:
    """[S, D] -> [S, H, Dh] -> transposed by `perm` (e.g. [H, S, Dh] or [H, Dh, S])."""
    x = g.op("Reshape", [x, g.i64([0, heads, d_head])])
    return g.op("Transpose", [x], perm=perm)


def merge_heads(g: GraphBuilder, x: str, d_model: int) -> str:
    """[H, S, Dh] -> [S, H*Dh]."""
    x = g.op("Transpose", [x], perm=[1, 0, 2])
    return g.op("Reshape", [x, g.i64([0, d_model])])


def qkv_weights(m: ct2.Ct2Model, prefix: str, d_head: int):
    """Q, K, V weights of a fused self-attention, with the attention scale folded into Q.

    Whisper (MultiHeadAttention.qkv_attention) scales q and k each by d_head**-0.25 before
    q @ k^T; scaling q alone by d_head**-0.5 gives the same product. Per-row int8 quantization
    is invariant to this scaling, so folding it into W_q and b_q costs no accuracy.
    """
    wq, wk, wv = split_rows(m.f32(prefix + "/linear_0/weight"), 3)
    bq, bk, bv = split_rows(m.f32(prefix + "/linear_0/bias"), 3)
    s = np.float32(d_head ** -0.5)
    return (wq * s, bq * s), (wk, bk), (wv, bv)


def ffn(g: GraphBuilder, m: ct2.Ct2Model, x: str, prefix: str, tanh: bool) -> str:
    """x + Linear(GELU(Linear(LN(x)))) (ResidualAttentionBlock.mlp)."""
    h = g.layer_norm(x, m.f32(prefix + "/layer_norm/gamma"), m.f32(prefix + "/layer_norm/beta"),
                     prefix + "/ln")
    h = g.linear(h, m.f32(prefix + "/linear_0/weight"), m.f32(prefix + "/linear_0/bias"),
                 prefix + "/fc1")
    h = g.gelu(h, tanh)
    h = g.linear(h, m.f32(prefix + "/linear_1/weight"), m.f32(prefix + "/linear_1/bias"),
                 prefix + "/fc2")
    return g.op("Add", [x, h], name=prefix + "/residual")


def conv1d(g: GraphBuilder, x: str, w: np.ndarray, b: np.ndarray, stride: int, base: str,
           quantize: bool) -> str:
    """Conv1d(kernel 3, padding 1) as in AudioEncoder; int8 weights per output channel."""
    wn = g.int8_weight(base + ".w", w, axis=0) if quantize else g.init(base + ".w",
                                                                       w.astype(np.float32))
    bn = g.init(base + ".b", b.astype(np.float32))
    return g.op("Conv", [x, wn, bn], name=base, kernel_shape=[3], pads=[1, 1], strides=[stride])


# Queries per block of the encoder's self-attention: the scores of all 1500 queries at once
# are H x 1500 x 1500 floats (54 MB for tiny, 72 MB for base, and as much again after the
# softmax); a block of 150 holds a tenth of that while each product stays large.
ATTENTION_BLOCK = 150


def blocked_attention(g: GraphBuilder, q: str, k: str, v: str, T: int) -> str:
    """softmax(q k) v for q [H, T, Dh], k [H, Dh, T], v [H, T, Dh], a block of queries at a
    time; the same numbers as all at once (each query's row is its own softmax)."""
    outs = []
    for start in range(0, T, ATTENTION_BLOCK):
        stop = min(T, start + ATTENTION_BLOCK)
        qb = g.op("Slice", [q, g.i64([start]), g.i64([stop]), g.i64([1])])   # [H, B, Dh]
        w = g.op("Softmax", [g.op("MatMul", [qb, k])], axis=-1)              # [H, B, T]
        outs.append(g.op("MatMul", [w, v]))                                  # [H, B, Dh]
    return outs[0] if len(outs) == 1 else g.op("Concat", outs, axis=1)


# ----------------------------------------------------------------------------------------
# Encoder


def build_encoder(m: ct2.Ct2Model, dims: Dims, quantize: bool = True) -> onnx.ModelProto:
    g = GraphBuilder(quantize)
    tanh = gelu_is_tanh(m)
    d, T, H = dims.d_model, dims.n_audio_ctx, dims.enc_heads
    dh = d // H

    # AudioEncoder.forward: gelu(conv1(x)); gelu(conv2(x)) with stride 2; permute; + positions.
    x = conv1d(g, "mel", m.f32("encoder/conv1/weight"), m.f32("encoder/conv1/bias"), 1,
               "encoder/conv1", quantize=False)  # small; keeps the input filter exact
    x = g.gelu(x, tanh)
    x = conv1d(g, x, m.f32("encoder/conv2/weight"), m.f32("encoder/conv2/bias"), 2,
               "encoder/conv2", quantize=True)
    x = g.gelu(x, tanh)
    x = g.op("Reshape", [x, g.i64([d, T])])           # [1, D, T] -> [D, T] (batch 1)
    x = g.op("Transpose", [x], perm=[1, 0])             # [T, D]
    pos = g.init("encoder/positions", m.f32("encoder/position_encodings/encodings"))
    x = g.op("Add", [x, pos])

    for i in range(dims.enc_layers):
        p = f"encoder/layer_{i}"
        a = p + "/self_attention"
        h = g.layer_norm(x, m.f32(a + "/layer_norm/gamma"), m.f32(a + "/layer_norm/beta"),
                         a + "/ln")
        (wq, bq), (wk, bk), (wv, bv) = qkv_weights(m, a, dh)
        q = heads_first(g, g.linear(h, wq, bq, a + "/q"), H, dh, [1, 0, 2])   # [H, T, Dh]
        k = heads_first(g, g.linear(h, wk, bk, a + "/k"), H, dh, [1, 2, 0])   # [H, Dh, T]
        v = heads_first(g, g.linear(h, wv, bv, a + "/v"), H, dh, [1, 0, 2])   # [H, T, Dh]
        o = merge_heads(g, blocked_attention(g, q, k, v, T), d)
        o = g.linear(o, m.f32(a + "/linear_1/weight"), m.f32(a + "/linear_1/bias"), a + "/out")
        x = g.op("Add", [x, o], name=a + "/residual")
        x = ffn(g, m, x, p + "/ffn", tanh)

    x = g.layer_norm(x, m.f32("encoder/layer_norm/gamma"), m.f32("encoder/layer_norm/beta"),
                     "encoder/ln_post")

    # Cross-attention keys and values of every decoder layer depend on the audio only:
    # computing them here once per window saves the decoder 2 * L matmuls per token.
    ks, vs = [], []
    Hd, dhd = dims.dec_heads, dims.d_head
    for i in range(dims.dec_layers):
        a = f"decoder/layer_{i}/attention"
        wk, wv = split_rows(m.f32(a + "/linear_1/weight"), 2)
        bk, bv = split_rows(m.f32(a + "/linear_1/bias"), 2)
        k = heads_first(g, g.linear(x, wk, bk, a + "/k"), Hd, dhd, [1, 2, 0])  # [H, Dh, T]
        v = heads_first(g, g.linear(x, wv, bv, a + "/v"), Hd, dhd, [1, 0, 2])  # [H, T, Dh]
        g.op("Identity", [k], name=f"cross_k_{i}")
        g.op("Identity", [v], name=f"cross_v_{i}")

    return g.model(
        [value_info("mel", F32, [1, dims.n_mels, 2 * T])],
        cross_infos(dims.dec_layers, Hd, dhd, T),
        "whisper_encoder", metadata(dims, []))


def cross_infos(L: int, H: int, dh: int, T: int) -> list:
    """Each decoder layer's cross-attention keys [H, Dh, T] and values [H, T, Dh], a tensor of
    their own: the decoder reads them where they are, with no per-step copy out of a stack."""
    infos = []
    for i in range(L):
        infos += [value_info(f"cross_k_{i}", F32, [H, dh, T]),
                  value_info(f"cross_v_{i}", F32, [H, T, dh])]
    return infos


# ----------------------------------------------------------------------------------------
# Decoder


def build_decoder(m: ct2.Ct2Model, dims: Dims, heads: list[tuple[int, int]],
                  quantize: bool = True) -> onnx.ModelProto:
    g = GraphBuilder(quantize)
    tanh = gelu_is_tanh(m)
    d, H, dh, L, T = dims.d_model, dims.dec_heads, dims.d_head, dims.dec_layers, dims.n_audio_ctx
    emb = m.f32("decoder/embeddings/weight")                       # [V, D]

    # One int8 table [V, D] with a scale per token row serves both the token lookup (rows
    # gathered, widened, scaled) and the output projection (the same initializer, dequantized
    # and transposed: the engine multiplies by it without widening the whole table).
    tok = g.op("Reshape", ["tokens", g.i64([-1])])                  # [N]
    if quantize:
        q_emb, s_emb = quantize_rows(emb)
        q_name = g.init("decoder/embed.q", q_emb)
        s_name = g.init("decoder/embed.scale", s_emb)
        rows = g.op("Gather", [q_name, tok], axis=0)
        row_scale = g.op("Unsqueeze", [g.op("Gather", [s_name, tok], axis=0), g.i64([1])])
        x = g.op("Mul", [g.op("Cast", [rows], to=F32), row_scale], name="embed")  # [N, D]
        zero = g.init("decoder/embed.zero", np.zeros(s_emb.shape, np.int8))
        emb_t = g.op("Transpose", [g.op("DequantizeLinear", [q_name, s_name, zero],
                                        name="decoder/embed.dq", axis=0)],
                     name="decoder/embed.t", perm=[1, 0])           # [D, V]
    else:
        emb_name = g.init("decoder/embed", emb)
        x = g.op("Gather", [emb_name, tok], axis=0, name="embed")
        emb_t = g.op("Transpose", [emb_name], name="decoder/embed.t", perm=[1, 0])

    # Positions P .. P+N-1 (TextDecoder.forward: positional_embedding[offset:offset + N]).
    p_len = g.op("Gather", [g.op("Shape", ["past_k"]), g.i64([2])], axis=0, name="P")  # [1]
    n_len = g.op("Shape", [tok], name="N")                                            # [1]
    total = g.op("Add", [p_len, n_len], name="P_plus_N")
    pos_table = g.init("decoder/positions", m.f32("decoder/position_encodings/encodings"))
    pos = g.op("Slice", [pos_table, p_len, total, g.i64([0])])
    x = g.op("Add", [x, pos])

    # Causal mask over [new tokens, all keys]: new token i sits at position P+i and may see
    # keys 0..P+i. Whisper adds -inf above the diagonal; a large finite value gives the same
    # zero weights without inf arithmetic.
    scalar = g.i64([])  # shape [] for Reshape to a scalar
    q_pos = g.op("Range", [g.op("Reshape", [p_len, scalar]), g.op("Reshape", [total, scalar]),
                           g.i64(1)])                                   # [N]
    k_pos = g.op("Range", [g.i64(0), g.op("Reshape", [total, scalar]), g.i64(1)])  # [P+N]
    future = g.op("Greater", [g.op("Unsqueeze", [k_pos, g.i64([0])]),
                              g.op("Unsqueeze", [q_pos, g.i64([1])])])        # [N, P+N]
    mask = g.op("Where", [future, g.f32(-1e9), g.f32(0.0)], name="causal_mask")

    present_k, present_v, align = [], [], {}
    for i in range(L):
        p = f"decoder/layer_{i}"
        layer = g.i64(i)

        # Self-attention with the cache of earlier positions.
        a = p + "/self_attention"
        h = g.layer_norm(x, m.f32(a + "/layer_norm/gamma"), m.f32(a + "/layer_norm/beta"),
                         a + "/ln")
        (wq, bq), (wk, bk), (wv, bv) = qkv_weights(m, a, dh)
        q = heads_first(g, g.linear(h, wq, bq, a + "/q"), H, dh, [1, 0, 2])     # [H, N, Dh]
        k = heads_first(g, g.linear(h, wk, bk, a + "/k"), H, dh, [1, 0, 2])
        v = heads_first(g, g.linear(h, wv, bv, a + "/v"), H, dh, [1, 0, 2])
        k = g.op("Concat", [g.op("Gather", ["past_k", layer], axis=0), k], axis=1)  # [H,P+N,Dh]
        v = g.op("Concat", [g.op("Gather", ["past_v", layer], axis=0), v], axis=1)
        present_k.append(g.op("Unsqueeze", [k, g.i64([0])]))
        present_v.append(g.op("Unsqueeze", [v, g.i64([0])]))
        s = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 2, 1])])            # [H,N,P+N]
        w = g.op("Softmax", [g.op("Add", [s, mask])], axis=-1)
        o = merge_heads(g, g.op("MatMul", [w, v]), d)
        o = g.linear(o, m.f32(a + "/linear_1/weight"), m.f32(a + "/linear_1/bias"), a + "/out")
        x = g.op("Add", [x, o], name=a + "/residual")

        # Cross-attention on the encoder's pre-computed keys and values.
        a = p + "/attention"
        h = g.layer_norm(x, m.f32(a + "/layer_norm/gamma"), m.f32(a + "/layer_norm/beta"),
                         a + "/ln")
        s_q = np.float32(dh ** -0.5)  # see qkv_weights
        q = g.linear(h, m.f32(a + "/linear_0/weight") * s_q, m.f32(a + "/linear_0/bias") * s_q,
                     a + "/q")
        q = heads_first(g, q, H, dh, [1, 0, 2])                                       # [H,N,Dh]
        ck, cv = f"cross_k_{i}", f"cross_v_{i}"                                       # [H,Dh,T], [H,T,Dh]
        w = g.op("Softmax", [g.op("MatMul", [q, ck])], axis=-1, name=a + "/weights")  # [H,N,T]
        for head in sorted({hd for (l, hd) in heads if l == i}):
            align[(i, head)] = g.op("Gather", [w, g.i64([head])], axis=0)             # [1,N,T]
        o = merge_heads(g, g.op("MatMul", [w, cv]), d)
        o = g.linear(o, m.f32(a + "/linear_2/weight"), m.f32(a + "/linear_2/bias"), a + "/out")
        x = g.op("Add", [x, o], name=a + "/residual")

        x = ffn(g, m, x, p + "/ffn", tanh)

    g.op("Concat", present_k, name="present_k", axis=0)
    g.op("Concat", present_v, name="present_v", axis=0)
    g.op("Concat", [align[h] for h in heads], name="alignment", axis=0)

    # Final LayerNorm on the last position only, then logits = x @ embedding^T
    # (TextDecoder.forward), reading the lookup's own table (see above).
    x = g.op("Slice", [x, g.i64([-1]), g.i64([INT64_MAX]), g.i64([0])], name="last")  # [1, D]
    x = g.layer_norm(x, m.f32("decoder/layer_norm/gamma"), m.f32("decoder/layer_norm/beta"),
                     "decoder/ln")
    y = g.op("MatMul", [x, emb_t], name="decoder/projection.matmul")
    if "decoder/projection/bias" in m and np.any(m.f32("decoder/projection/bias") != 0):
        y = g.op("Add", [y, g.init("decoder/projection.b", m.f32("decoder/projection/bias"))])
    g.op("Identity", [y], name="logits")

    cache = lambda name, n: value_info(name, F32, [L, H, n, dh])  # noqa: E731
    return g.model(
        [value_info("tokens", I64, [1, "N"]), cache("past_k", "P"), cache("past_v", "P")]
        + cross_infos(L, H, dh, T),
        [value_info("logits", F32, [1, dims.n_vocab]), cache("present_k", "P+N"),
         cache("present_v", "P+N"), value_info("alignment", F32, [len(heads), "N", T])],
        "whisper_decoder", metadata(dims, heads))


def metadata(dims: Dims, heads) -> dict[str, str]:
    meta = {k: str(v) for k, v in vars(dims).items()}
    if heads:
        meta["alignment_heads"] = json.dumps([list(h) for h in heads])
    return meta


# ----------------------------------------------------------------------------------------
# Random-weights model for unit tests


def sinusoids(length: int, channels: int, max_timescale: float = 10000.0) -> np.ndarray:
    """Whisper's encoder positional embedding (model.py, sinusoids)."""
    inc = np.log(max_timescale) / (channels // 2 - 1)
    inv = np.exp(-inc * np.arange(channels // 2))
    t = np.arange(length)[:, None] * inv[None, :]
    return np.concatenate([np.sin(t), np.cos(t)], axis=1).astype(np.float32)


def random_model(n_vocab: int, d: int = 32, heads: int = 2, enc_layers: int = 1,
                 dec_layers: int = 1, n_mels: int = 80, n_audio_ctx: int = 1500,
                 n_text_ctx: int = 448, seed: int = RANDOM_SEED) -> ct2.Ct2Model:
    """A CTranslate2-shaped Whisper with random weights, built from a fixed seed."""
    rng = np.random.default_rng(seed)
    v: dict[str, np.ndarray] = {}

    def lin(name, out_dim, in_dim, bias=True):
        v[name + "/weight"] = (rng.standard_normal((out_dim, in_dim)) / np.sqrt(in_dim)
                               ).astype(np.float16)
        if bias:
            v[name + "/bias"] = (0.02 * rng.standard_normal(out_dim)).astype(np.float16)

    def ln(name):
        v[name + "/gamma"] = (1 + 0.1 * rng.standard_normal(d)).astype(np.float16)
        v[name + "/beta"] = (0.1 * rng.standard_normal(d)).astype(np.float16)

    def block(p, cross):
        ln(p + "/self_attention/layer_norm")
        lin(p + "/self_attention/linear_0", 3 * d, d)
        v[p + "/self_attention/linear_0/bias"][d:2 * d] = 0  # Whisper's key has no bias
        lin(p + "/self_attention/linear_1", d, d)
        if cross:
            ln(p + "/attention/layer_norm")
            lin(p + "/attention/linear_0", d, d)
            lin(p + "/attention/linear_1", 2 * d, d)
            v[p + "/attention/linear_1/bias"][:d] = 0
            lin(p + "/attention/linear_2", d, d)
        ln(p + "/ffn/layer_norm")
        lin(p + "/ffn/linear_0", 4 * d, d)
        lin(p + "/ffn/linear_1", d, 4 * d)

    scalars = {"decoder/activation": (ACT_GELU, np.int8), "decoder/alibi": (0, np.int8),
               "decoder/pre_norm": (1, np.int8), "decoder/scale_embeddings": (0, np.int8),
               "decoder/num_heads": (heads, np.int16), "encoder/num_heads": (heads, np.int16)}
    for name, (value, dtype) in scalars.items():
        v[name] = np.array(value, dtype=dtype)
    v["encoder/conv1/weight"] = (rng.standard_normal((d, n_mels, 3)) / np.sqrt(3 * n_mels)
                                 ).astype(np.float16)
    v["encoder/conv1/bias"] = np.zeros(d, np.float16)
    v["encoder/conv2/weight"] = (rng.standard_normal((d, d, 3)) / np.sqrt(3 * d)
                                 ).astype(np.float16)
    v["encoder/conv2/bias"] = np.zeros(d, np.float16)
    v["encoder/position_encodings/encodings"] = sinusoids(n_audio_ctx, d).astype(np.float16)
    for i in range(enc_layers):
        block(f"encoder/layer_{i}", cross=False)
    ln("encoder/layer_norm")
    v["decoder/embeddings/weight"] = (0.5 * rng.standard_normal((n_vocab, d))).astype(np.float16)
    v["decoder/position_encodings/encodings"] = (0.1 * rng.standard_normal((n_text_ctx, d))
                                                 ).astype(np.float16)
    for i in range(dec_layers):
        block(f"decoder/layer_{i}", cross=True)
    ln("decoder/layer_norm")
    return ct2.Ct2Model("WhisperSpec", 3, v, {"decoder/projection/weight":
                                              "decoder/embeddings/weight"})


# ----------------------------------------------------------------------------------------
# Output


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_outputs(out: Path, encoder, decoder, config: dict | None, model_dir: Path,
                  stamp: str | None = None):
    """Writes into a scratch directory beside `out`, then swaps it in, so a half-written
    model never looks finished."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".tmp-", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private
    try:
        for name, model in (("encoder.onnx", encoder), ("decoder.onnx", decoder)):
            onnx.checker.check_model(model)
            (tmp / name).write_bytes(model.SerializeToString(deterministic=True))
        for name in COPIED_FILES:
            shutil.copyfile(model_dir / name, tmp / name)
        if config is not None:  # a changed config (the random model's alignment heads)
            (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        files = ["encoder.onnx", "decoder.onnx", *COPIED_FILES]
        if stamp:  # lets prepare-model.sh tell outputs of an older converter apart
            (tmp / "converter.sha256").write_text(stamp + "\n")
            files.append("converter.sha256")
        (tmp / "SHA256SUMS").write_text("".join(f"{sha256(tmp / f)}  {f}\n" for f in files))
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-dir", type=Path, required=True,
                    help="CTranslate2 model directory (model.bin, config.json, "
                         "vocabulary.txt, tokenizer.json)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--f32", action="store_true",
                    help="keep float32 weights instead of int8 (about 4x larger; for "
                         "accuracy comparisons)")
    ap.add_argument("--stamp", help="converter fingerprint to record in converter.sha256")
    ap.add_argument("--random", action="store_true",
                    help="build the tiny random-weights test model instead (d=32, 1+1 layers, "
                         "2 heads, the real vocabulary)")
    args = ap.parse_args(argv)

    config = json.loads((args.model_dir / "config.json").read_text())
    n_vocab = len((args.model_dir / "vocabulary.txt").read_text(encoding="utf-8")
                  .rstrip("\n").split("\n"))
    if args.random:
        model = random_model(n_vocab)
        dims = read_dims(model)
        # The real alignment heads do not exist in a 1-layer, 2-head model: use both heads.
        config = dict(config, alignment_heads=[[0, h] for h in range(dims.dec_heads)])
    else:
        model = ct2.load(args.model_dir / "model.bin")
        dims = read_dims(model)
    if dims.n_vocab != n_vocab:
        raise ValueError(f"vocabulary.txt has {n_vocab} tokens, the model {dims.n_vocab}")
    heads = alignment_heads(config, dims)
    encoder = build_encoder(model, dims, quantize=not args.f32)
    decoder = build_decoder(model, dims, heads, quantize=not args.f32)
    write_outputs(args.out, encoder, decoder, config if args.random else None, args.model_dir,
                  args.stamp)
    print(f"wrote {args.out} ({dims})", file=sys.stderr)


if __name__ == "__main__":
    main()
