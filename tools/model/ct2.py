"""Reads a CTranslate2 `model.bin` with numpy only.

Layout of the binary (little-endian), as found by reading the file byte by byte and checked
against CTranslate2's documented data types:

    u32  binary version (6 for current converters)
    str  spec name, e.g. "WhisperSpec"
    u32  spec revision
    u32  number of variables, then for each variable:
        str   name, e.g. "encoder/layer_0/ffn/linear_0/weight"
        u8    rank, then rank x u32 dimensions
        u8    data type: 0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16
        u32   number of bytes, then the raw row-major bytes
    u32  number of aliases, then for each: str alias, str target variable name

where `str` is a u16 length (counting a trailing NUL), the UTF-8 bytes and the NUL.

Quantized variables (int8 per row, int16 global) come with a float `<name>_scale` companion;
CTranslate2 quantizes as q = round(w * scale), so w = q / scale.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

SUPPORTED_VERSIONS = (6,)

# CTranslate2 DataType enum order.
_DTYPES = {
    0: np.dtype("<f4"),
    1: np.dtype("i1"),
    2: np.dtype("<i2"),
    3: np.dtype("<i4"),
    4: np.dtype("<f2"),
    5: "bfloat16",  # no numpy dtype: widened to float32 by hand below
}


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def unpack(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values[0] if len(values) == 1 else values

    def string(self) -> str:
        n = self.unpack("H")
        raw = self.data[self.pos : self.pos + n]
        self.pos += n
        if n == 0 or raw[-1] != 0:
            raise ValueError(f"malformed string at byte {self.pos - n}")
        return raw[:-1].decode("utf-8")

    def raw(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError("truncated model.bin")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


def _decode_array(raw: bytes, dtype_id: int, shape: tuple[int, ...]) -> np.ndarray:
    if dtype_id not in _DTYPES:
        raise ValueError(f"unknown CTranslate2 data type {dtype_id}")
    if dtype_id == 5:
        # bfloat16 is the top half of a float32.
        halves = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return halves.view(np.float32).reshape(shape)
    return np.frombuffer(raw, dtype=_DTYPES[dtype_id]).reshape(shape).copy()


class Ct2Model:
    """Variables of a CTranslate2 model, by name (aliases resolved)."""

    def __init__(self, spec: str, revision: int, variables: dict[str, np.ndarray],
                 aliases: dict[str, str]):
        self.spec = spec
        self.revision = revision
        self.variables = variables
        self.aliases = aliases

    def __contains__(self, name: str) -> bool:
        return name in self.variables or name in self.aliases

    def raw(self, name: str) -> np.ndarray:
        """The stored array as it is (int8/float16/... ), aliases followed."""
        name = self.aliases.get(name, name)
        return self.variables[name]

    def scalar(self, name: str) -> int:
        return int(self.raw(name).reshape(()))

    def f32(self, name: str) -> np.ndarray:
        """The variable as float32, dequantized if it was stored as int8/int16."""
        value = self.raw(name)
        if value.dtype in (np.int8, np.int16):
            scale = self.raw(name + "_scale").astype(np.float32)
            if value.dtype == np.int8 and scale.ndim == 1:
                scale = scale.reshape((-1,) + (1,) * (value.ndim - 1))  # one scale per row
            return (value.astype(np.float32) / scale).astype(np.float32)
        return value.astype(np.float32)


def load(path: str | Path) -> Ct2Model:
    r = _Reader(Path(path).read_bytes())
    version = r.unpack("I")
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"CTranslate2 binary version {version} is not supported "
                         f"(supported: {SUPPORTED_VERSIONS})")
    spec = r.string()
    revision = r.unpack("I")
    variables: dict[str, np.ndarray] = {}
    for _ in range(r.unpack("I")):
        name = r.string()
        rank = r.unpack("B")
        shape = tuple(r.unpack("I") for _ in range(rank))
        dtype_id = r.unpack("B")
        nbytes = r.unpack("I")
        variables[name] = _decode_array(r.raw(nbytes), dtype_id, shape)
    aliases = {}
    for _ in range(r.unpack("I")):
        alias = r.string()
        aliases[alias] = r.string()
    if r.pos != len(r.data):
        raise ValueError(f"{len(r.data) - r.pos} unexpected trailing bytes in model.bin")
    return Ct2Model(spec, revision, variables, aliases)
