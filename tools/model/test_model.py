#!/usr/bin/env python3
"""Checks of the converted Whisper graphs, run in the model venv:

    $REELSMITH_CACHE/venv-model/bin/python tools/model/test_model.py

Prints one line per check and a final `N passed, M failed`; exits non-zero on a failure.
Model directories default to those scripts/prepare-model.sh writes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import onnx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(HERE))
from transcribe_ort import Whisper, read_wav  # noqa: E402

CACHE = Path(os.environ.get("REELSMITH_CACHE") or Path.home() / ".cache" / "reelsmith")
FIXTURES = ROOT / "tests" / "fixtures"
MAX_WER = 0.10
LOGIT_TOL = 1e-3


# ----------------------------------------------------------------------------------------
# Word error rate


def words(text: str) -> list[str]:
    """Lower case, punctuation (hyphens too) as spaces, apostrophes kept."""
    return re.sub(r"[^a-z0-9']+", " ", text.lower()).split()


def word_errors(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance over words, with one extra edit: a reference word heard as two
    words ("Reelsmith" -> "real smith") counts as one error, not a substitution plus an
    insertion (and none when the two words join into it)."""
    inf = 1 << 30
    d = [[inf] * (len(hyp) + 1) for _ in range(len(ref) + 1)]
    for i in range(len(ref) + 1):
        for j in range(len(hyp) + 1):
            if i == 0 or j == 0:
                d[i][j] = i + j
                continue
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]))
            if j >= 2:
                d[i][j] = min(d[i][j], d[i - 1][j - 2] + (ref[i - 1] != hyp[j - 2] + hyp[j - 1]))
    return d[len(ref)][len(hyp)]


# ----------------------------------------------------------------------------------------
# Checks


class Context:
    def __init__(self, args):
        self.args = args
        self._models: dict[Path, Whisper] = {}
        self.speech_tokens: list[int] | None = None

    def model(self, path: Path) -> Whisper:
        if path not in self._models:
            self._models[path] = Whisper(path)
        return self._models[path]


def check_transcription(ctx: Context):
    """(1) tiny.en transcribes the speech fixture with WER <= 10 %."""
    wav = ctx.args.speech
    if not wav.exists() and wav == FIXTURES / "out" / "speech.wav":
        subprocess.run(["bash", str(FIXTURES / "make.sh")], check=True)
    reference = ctx.args.text.read_text() if ctx.args.text else \
        wav.with_name(wav.stem + ".txt").read_text()
    model = ctx.model(ctx.args.model)
    timings: dict = {}
    tokens = model.greedy(read_wav(wav), timings=timings)
    ctx.speech_tokens = tokens
    text = model.tokenizer.decode(tokens).strip()
    ref, hyp = words(reference), words(text)
    errors = word_errors(ref, hyp)
    wer = errors / len(ref)
    info = (f"{text!r}: {errors} word errors / {len(ref)} = WER {wer:.1%} "
            f"(encoder {timings['encoder']:.2f} s, {1000 * timings['per_token']:.1f} ms/token)")
    assert wer <= MAX_WER, info
    return info


def check_cache(ctx: Context):
    """(2) token-by-token decoding with the past cache = decoding the whole sequence."""
    model = ctx.model(ctx.args.model)
    audio = read_wav(ctx.args.speech)
    from transcribe_ort import log_mel_spectrogram
    cross = model.encode(log_mel_spectrogram(audio, model.n_mels))
    tokens = model.initial_tokens() + (ctx.speech_tokens or model.greedy(audio))[:20]
    empty = model.empty_cache()

    # Whole prefixes from scratch (P = 0): the reference for every position.
    full = {}
    for n in range(2, len(tokens) + 1):
        logits, pk, pv, align = model.decode_step(tokens[:n], empty, empty, cross)
        full[n] = (logits, pk, pv, align[:, -1])

    # Incremental: a 2-token prompt, a 5-token chunk (N > 1 with P > 0: the causal mask and
    # positions at an offset), then one token at a time.
    worst = 0.0
    past_k = past_v = empty
    n = 0
    sizes = [2, 5] + [1] * (len(tokens) - 7) if len(tokens) >= 7 else [2] + [1] * (len(tokens) - 2)
    for size in sizes:
        chunk = tokens[n:n + size]
        logits, past_k, past_v, align = model.decode_step(chunk, past_k, past_v, cross)
        n += size
        ref_logits, ref_k, ref_v, ref_align = full[n]
        assert past_k.shape == ref_k.shape, (past_k.shape, ref_k.shape)
        assert align.shape[1] == size, align.shape
        for got, want in ((logits, ref_logits), (past_k, ref_k), (past_v, ref_v),
                          (align[:, -1], ref_align)):
            worst = max(worst, float(np.abs(got - want).max()))
    assert worst <= LOGIT_TOL, f"max difference {worst:.2e} > {LOGIT_TOL}"
    return f"{len(tokens)} tokens, max |difference| {worst:.1e} (logits, cache, alignment)"


def check_random_model(ctx: Context):
    """(3) the random-weights model runs end to end with the documented shapes."""
    path = ctx.args.random_model
    t0 = time.perf_counter()
    model = ctx.model(path)
    config = json.loads((path / "config.json").read_text())
    L, H, Dh = model.layers, model.heads, model.d_head
    A = len(config["alignment_heads"])
    assert (L, H, Dh) == (1, 2, 16), (L, H, Dh)
    rng = np.random.default_rng(0)
    mel = rng.standard_normal((80, 3000)).astype(np.float32)
    cross = model.encode(mel)
    assert sorted(cross) == [f"cross_{kv}_{i}" for i in range(L) for kv in "kv"], sorted(cross)
    ck, cv = cross["cross_k_0"], cross["cross_v_0"]
    assert ck.shape == (H, Dh, 1500) and cv.shape == (H, 1500, Dh), (ck.shape, cv.shape)
    vocab = len(model.tokenizer.tokens)
    assert vocab == 51864, vocab
    past_k = past_v = model.empty_cache()
    p = 0
    for tokens in ([model.tokenizer.sot, model.tokenizer.no_timestamps], [220], [50256]):
        n = len(tokens)
        logits, past_k, past_v, align = model.decode_step(tokens, past_k, past_v, cross)
        want = {"logits": (1, vocab), "present_k": (L, H, p + n, Dh),
                "present_v": (L, H, p + n, Dh), "alignment": (A, n, 1500)}
        got = {"logits": logits.shape, "present_k": past_k.shape, "present_v": past_v.shape,
               "alignment": align.shape}
        assert got == want, (got, want)
        assert all(np.isfinite(x).all() for x in (logits, past_k, past_v, align))
        ctx.random_alignment = align
        p += n
    tokens = model.greedy(rng.standard_normal(16000).astype(np.float32) * 0.1, max_tokens=8)
    return (f"L={L} H={H} Dh={Dh} A={A}, vocab {vocab}; greedy gave {len(tokens)} tokens; "
            f"{time.perf_counter() - t0:.2f} s")


def check_alignment(ctx: Context):
    """(4) alignment rows are softmax rows: non-negative, summing to 1 over the 1500 frames."""
    results = []
    for path in (ctx.args.model, ctx.args.random_model):
        model = ctx.model(path)
        rng = np.random.default_rng(1)
        mel = rng.standard_normal((model.n_mels, 3000)).astype(np.float32)
        cross = model.encode(mel)
        prompt = model.initial_tokens() + [383, 2068, 2835]
        _, pk, pv, a1 = model.decode_step(prompt, model.empty_cache(), model.empty_cache(),
                                          cross)
        _, _, _, a2 = model.decode_step([21831], pk, pv, cross)
        config = json.loads((path / "config.json").read_text())
        for a, n in ((a1, len(prompt)), (a2, 1)):
            assert a.shape == (len(config["alignment_heads"]), n, 1500), a.shape
            assert (a >= 0).all()
            err = float(np.abs(a.sum(-1) - 1).max())
            assert err < 1e-4, f"{path.name}: row sums off by {err}"
        results.append(f"{path.name} {a1.shape}+{a2.shape}")
    return ", ".join(results)


def check_graph_rules(ctx: Context):
    """(5) the graphs keep the rules the engine relies on (opset 18, no MatMulInteger, Slice
    ends at INT64_MAX, int8 weights, one token table for the lookup and the projection)."""
    notes = []
    for path in (ctx.args.model, ctx.args.random_model):
        for name in ("encoder.onnx", "decoder.onnx"):
            m = onnx.load(str(path / name))
            assert [(o.domain, o.version) for o in m.opset_import] == [("", 18)], m.opset_import
            inits = {i.name: i for i in m.graph.initializer}
            users: dict[str, list[str]] = {}
            for node in m.graph.node:
                for i in node.input:
                    users.setdefault(i, []).append(node.op_type)
            ops = {node.op_type for node in m.graph.node}
            assert not ops & {"MatMulInteger", "DynamicQuantizeLinear", "QLinearMatMul"}, ops
            for node in m.graph.node:
                if node.op_type == "Slice" and len(node.input) > 2 and node.input[2] in inits:
                    ends = onnx.numpy_helper.to_array(inits[node.input[2]])
                    assert not np.any(ends == 2 ** 62), f"{name}: Slice end 2**62"
                if node.op_type == "DequantizeLinear":
                    t = inits[node.input[0]]
                    assert t.data_type == onnx.TensorProto.INT8
            if name == "decoder.onnx":
                # One token table for the lookup and the projection.
                tables = [i for i in inits.values() if len(i.dims) == 2 and i.dims[0] > 50000]
                assert len(tables) == 1, [t.name for t in tables]
                assert sorted(users[tables[0].name]) == ["DequantizeLinear", "Gather"], \
                    users[tables[0].name]
            fp16 = [i.name for i in inits.values() if i.data_type == onnx.TensorProto.FLOAT16]
            assert not fp16, fp16
            notes.append(f"{path.name}/{name} {(path / name).stat().st_size / 1e6:.1f} MB")
    return ", ".join(notes)


CHECKS = [check_transcription, check_cache, check_random_model, check_alignment,
          check_graph_rules]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=CACHE / "models" / "whisper-tiny.en")
    ap.add_argument("--random-model", type=Path, default=CACHE / "models" / "whisper-random")
    ap.add_argument("--speech", type=Path, default=FIXTURES / "out" / "speech.wav",
                    help="16 kHz mono WAV for check 1 (its text: the .txt beside it)")
    ap.add_argument("--text", type=Path, help="reference text for --speech")
    args = ap.parse_args(argv)
    ctx = Context(args)
    passed = failed = 0
    for check in CHECKS:
        title = " ".join(check.__doc__.split())
        try:
            info = check(ctx)
            passed += 1
            print(f"PASS {title}\n     {info}")
        except Exception as e:  # report every check, then fail at the end
            failed += 1
            detail = str(e) if isinstance(e, AssertionError) else traceback.format_exc()
            print(f"FAIL {title}\n     {detail}")
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
