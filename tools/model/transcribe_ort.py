#!/usr/bin/env python3
"""Greedy Whisper transcription with onnxruntime on the graphs of convert_ct2.py.

    transcribe_ort.py MODEL_DIR AUDIO.wav [--threads N] [--timings]

The check that a conversion is right, and the peer benchmark for the Rust/tract runtime.
The log-mel front end and the decoding rules are ports of openai/whisper (audio.py,
decoding.py) to numpy; no torch or librosa.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import wave
from functools import lru_cache
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 400
HOP_LENGTH = 160
N_MELS = 80
CHUNK_SECONDS = 30
N_SAMPLES = CHUNK_SECONDS * SAMPLE_RATE  # 480000
N_FRAMES = N_SAMPLES // HOP_LENGTH       # 3000


# ----------------------------------------------------------------------------------------
# Audio


def read_wav(path: str | Path) -> np.ndarray:
    """16 kHz mono 16-bit PCM WAV -> float32 in [-1, 1)."""
    with wave.open(str(path), "rb") as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (SAMPLE_RATE, 1, 2):
            raise ValueError(f"{path}: need 16 kHz mono 16-bit PCM")
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def _hz_to_mel(f):
    """Slaney mel scale (librosa.hz_to_mel with htk=False): linear below 1 kHz, log above."""
    f = np.asarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    mel = f / f_sp
    return np.where(f >= min_log_hz,
                    min_log_mel + np.log(np.maximum(f, min_log_hz) / min_log_hz) / logstep, mel)


def _mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


@lru_cache(maxsize=None)
def mel_filters(n_mels: int = N_MELS, sr: int = SAMPLE_RATE, n_fft: int = N_FFT) -> np.ndarray:
    """librosa.filters.mel(sr, n_fft, n_mels) with its defaults (fmin 0, fmax sr/2, Slaney
    scale and Slaney area normalisation), which is what Whisper's mel_filters.npz holds."""
    fft_freqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]  # Slaney: constant area per band
    return weights.astype(np.float32)


def log_mel_spectrogram(audio: np.ndarray, n_mels: int = N_MELS) -> np.ndarray:
    """Whisper's audio.log_mel_spectrogram for the first 30 s window -> [n_mels, 3000].

    As whisper.transcribe does, 30 s of silence are appended before the STFT and the first
    3000 frames are kept, so shorter clips are padded the same way.
    """
    audio = np.concatenate([np.asarray(audio, np.float32)[:N_SAMPLES],
                            np.zeros(N_SAMPLES, np.float32)])
    # torch.stft(center=True, pad_mode="reflect", window=hann_window(400)) (periodic Hann)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)
    padded = np.pad(audio, N_FFT // 2, mode="reflect")
    n = 1 + (len(padded) - N_FFT) // HOP_LENGTH
    idx = np.arange(N_FFT)[None, :] + HOP_LENGTH * np.arange(n)[:, None]
    spectrum = np.fft.rfft(padded[idx] * window, axis=1)
    magnitudes = (np.abs(spectrum[:-1]) ** 2).T          # stft[..., :-1].abs() ** 2
    mel = mel_filters(n_mels) @ magnitudes
    log_spec = np.log10(np.maximum(mel, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    log_spec = (log_spec + 4.0) / 4.0
    return log_spec[:, :N_FRAMES].astype(np.float32)


# ----------------------------------------------------------------------------------------
# Tokens


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte <-> printable character table (openai/gpt-2 encoder.py)."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class Tokenizer:
    """Whisper's vocabulary (GPT-2 byte-level BPE): id <-> token, special ids, decoding."""

    def __init__(self, model_dir: Path):
        self.tokens = (model_dir / "vocabulary.txt").read_text(encoding="utf-8") \
            .rstrip("\n").split("\n")
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self._byte = {c: b for b, c in bytes_to_unicode().items()}
        self.eot = self.ids["<|endoftext|>"]
        self.sot = self.ids["<|startoftranscript|>"]
        self.no_timestamps = self.ids["<|notimestamps|>"]

    def decode(self, ids) -> str:
        """Text of the non-special tokens (ids below <|endoftext|>)."""
        raw = bytes(self._byte[c] for i in ids if i < self.eot for c in self.tokens[i])
        return raw.decode("utf-8", errors="replace")


# ----------------------------------------------------------------------------------------
# Model


class Whisper:
    def __init__(self, model_dir: str | Path, threads: int = 1, exact: bool = True):
        import onnxruntime as ort

        self.dir = Path(model_dir)
        opts = ort.SessionOptions()
        if exact:
            # onnxruntime's QDQ optimizations rewrite DequantizeLinear + MatMul into kernels
            # that also quantize the activations, which moves the encoder output by about 1%
            # (measured). Without them the weights are dequantized once at load and the graph's
            # own arithmetic runs: the arithmetic tract performs.
            opts.add_session_config_entry("session.disable_quant_qdq", "1")
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        t0 = time.perf_counter()
        self.encoder = ort.InferenceSession(str(self.dir / "encoder.onnx"), opts,
                                            providers=["CPUExecutionProvider"])
        self.decoder = ort.InferenceSession(str(self.dir / "decoder.onnx"), opts,
                                            providers=["CPUExecutionProvider"])
        self.load_seconds = time.perf_counter() - t0
        self.config = json.loads((self.dir / "config.json").read_text())
        self.tokenizer = Tokenizer(self.dir)
        shape = {i.name: i.shape for i in self.decoder.get_inputs()}["past_k"]
        self.layers, self.heads, _, self.d_head = shape
        self.n_mels = self.encoder.get_inputs()[0].shape[1]

    def empty_cache(self) -> np.ndarray:
        return np.zeros((self.layers, self.heads, 0, self.d_head), np.float32)

    def encode(self, mel: np.ndarray) -> dict:
        """-> each decoder layer's cross_k_i [H, Dh, T] and cross_v_i [H, T, Dh], by name."""
        names = [o.name for o in self.encoder.get_outputs()]
        return dict(zip(names, self.encoder.run(None, {"mel": mel[None]})))

    def decode_step(self, tokens, past_k, past_v, cross: dict):
        """-> logits [1, V], present_k, present_v, alignment [A, N, T]."""
        return self.decoder.run(None, {
            "tokens": np.asarray(tokens, np.int64).reshape(1, -1),
            "past_k": past_k, "past_v": past_v, **cross})

    def initial_tokens(self, language: str = "en", task: str = "transcribe") -> list[int]:
        """<|startoftranscript|> [language, task for multilingual models] <|notimestamps|>."""
        tok = self.tokenizer
        prompt = [tok.sot]
        if "<|en|>" in tok.ids and len(tok.tokens) >= 51865:  # multilingual vocabulary
            prompt += [tok.ids[f"<|{language}|>"], tok.ids[f"<|{task}|>"]]
        return prompt + [tok.no_timestamps]

    def greedy(self, audio: np.ndarray, max_tokens: int = 224, timings: dict | None = None,
               language: str = "en", task: str = "transcribe"):
        """Greedy decoding of the first 30 s (decoding.py, temperature 0, no timestamps).

        Logit filters as Whisper's: SuppressTokens (config suppress_ids) at every step and
        SuppressBlank (config suppress_ids_begin: " " and <|endoftext|>) at the first.
        """
        t0 = time.perf_counter()
        mel = log_mel_spectrogram(audio, self.n_mels)
        t1 = time.perf_counter()
        cross = self.encode(mel)
        t2 = time.perf_counter()
        suppress = np.array(self.config.get("suppress_ids", []), np.int64)
        suppress_begin = np.array(self.config.get("suppress_ids_begin", []), np.int64)
        tokens = self.initial_tokens(language, task)
        past_k = past_v = self.empty_cache()
        new, out = tokens, []
        for step in range(max_tokens):
            logits, past_k, past_v, _ = self.decode_step(new, past_k, past_v, cross)
            logits = logits[0].copy()
            logits[suppress] = -np.inf
            if step == 0:
                logits[suppress_begin] = -np.inf
            token = int(np.argmax(logits))
            if token == self.tokenizer.eot:
                break
            out.append(token)
            new = [token]
        t3 = time.perf_counter()
        if timings is not None:
            timings.update(mel=t1 - t0, encoder=t2 - t1, decoder=t3 - t2,
                           steps=step + 1, per_token=(t3 - t2) / (step + 1))
        return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="Greedy Whisper transcription with onnxruntime")
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("audio", type=Path, help="16 kHz mono 16-bit WAV (first 30 s are used)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--timings", action="store_true")
    ap.add_argument("--fused", action="store_true",
                    help="let onnxruntime fuse the int8 weights into its own quantized "
                         "kernels (all graph optimizations; not the graph's exact arithmetic)")
    ap.add_argument("--language", default="en", help="multilingual models: the language code")
    ap.add_argument("--task", default="transcribe", choices=["transcribe", "translate"])
    args = ap.parse_args(argv)
    model = Whisper(args.model_dir, args.threads, exact=not args.fused)
    timings: dict = {}
    tokens = model.greedy(read_wav(args.audio), timings=timings, language=args.language,
                          task=args.task)
    print(model.tokenizer.decode(tokens).strip())
    if args.timings:
        print(f"load {model.load_seconds:.2f} s, mel {timings['mel']:.3f} s, "
              f"encoder {timings['encoder']:.3f} s, decoder {timings['steps']} steps "
              f"{1000 * timings['per_token']:.1f} ms/step, tokens {tokens}", file=sys.stderr)


if __name__ == "__main__":
    main()
