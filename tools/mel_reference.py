#!/usr/bin/env python3
"""Whisper's log-mel spectrogram of a WAV file, in plain numpy: the reference the Rust
`reelsmith-speech` mel tests compare against.

It follows openai/whisper `whisper/audio.py` (`log_mel_spectrogram`) step by step, in float64
and written out slowly, with the mel filterbank of `librosa.filters.mel(sr=16000, n_fft=400,
n_mels=80)` (Slaney mel scale, Slaney area normalisation) ported here so that neither torch nor
librosa is needed.

Usage: mel_reference.py IN.wav OUT_PREFIX
Writes OUT_PREFIX.mel.f32 (little-endian float32, row-major [n_mels, n_frames]) and
OUT_PREFIX.mel.json ({"n_mels": 80, "n_frames": N}).
"""

import json
import sys
import wave

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 400
HOP_LENGTH = 160
N_MELS = 80


def read_wav_16k_mono(path):
    """16 kHz PCM WAV as float samples scaled like whisper's load_audio (int16 / 32768)."""
    with wave.open(path, "rb") as w:
        if w.getframerate() != SAMPLE_RATE:
            sys.exit(f"{path}: {w.getframerate()} Hz; the reference needs 16000 Hz audio")
        width = w.getsampwidth()
        channels = w.getnchannels()
        raw = w.readframes(w.getnframes())
    if width == 2:
        samples = np.frombuffer(raw, "<i2").astype(np.float64) / 32768.0
    elif width == 4:
        samples = np.frombuffer(raw, "<i4").astype(np.float64) / 2147483648.0
    else:
        sys.exit(f"{path}: {8 * width}-bit samples; the reference reads 16- or 32-bit PCM")
    return samples.reshape(-1, channels).mean(axis=1)


# librosa/core/convert.py: hz_to_mel and mel_to_hz with htk=False (the Slaney scale).
F_SP = 200.0 / 3
MIN_LOG_HZ = 1000.0
MIN_LOG_MEL = MIN_LOG_HZ / F_SP
LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(hz):
    if hz >= MIN_LOG_HZ:
        return MIN_LOG_MEL + np.log(hz / MIN_LOG_HZ) / LOGSTEP
    return hz / F_SP


def mel_to_hz(mel):
    if mel >= MIN_LOG_MEL:
        return MIN_LOG_HZ * np.exp(LOGSTEP * (mel - MIN_LOG_MEL))
    return F_SP * mel


def mel_filters(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS):
    """librosa/filters.py `mel` with fmin=0, fmax=sr/2, htk=False, norm="slaney", float32."""
    n_bins = 1 + n_fft // 2
    # np.fft.rfftfreq(n_fft, 1 / sr), spelled out: k * (1 / (n_fft * (1 / sr))).
    bin_hz = 1.0 / (n_fft * (1.0 / sr))
    fft_freqs = np.array([k * bin_hz for k in range(n_bins)])
    mels = np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2)
    mel_f = np.array([mel_to_hz(m) for m in mels])
    weights = np.zeros((n_mels, n_bins), dtype=np.float32)
    for i in range(n_mels):
        for k in range(n_bins):
            lower = (fft_freqs[k] - mel_f[i]) / (mel_f[i + 1] - mel_f[i])
            upper = (mel_f[i + 2] - fft_freqs[k]) / (mel_f[i + 2] - mel_f[i + 1])
            weights[i, k] = max(0.0, min(lower, upper))
    for i in range(n_mels):
        enorm = 2.0 / (mel_f[i + 2] - mel_f[i])
        # librosa scales the float32 weights in place: float64 product, stored as float32.
        weights[i] = (weights[i].astype(np.float64) * enorm).astype(np.float32)
    return weights


def log_mel_spectrogram(samples):
    # torch.hann_window(N_FFT) is periodic: 0.5 - 0.5 cos(2 pi n / N).
    n = np.arange(N_FFT)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / N_FFT)
    # torch.stft(center=True, pad_mode="reflect"): reflect n_fft/2 samples on both sides.
    padded = np.pad(samples, N_FFT // 2, mode="reflect")
    n_frames = 1 + (len(padded) - N_FFT) // HOP_LENGTH
    power = np.zeros((N_FFT // 2 + 1, n_frames))
    for t in range(n_frames):
        frame = padded[t * HOP_LENGTH : t * HOP_LENGTH + N_FFT] * window
        spectrum = np.fft.rfft(frame)
        power[:, t] = spectrum.real**2 + spectrum.imag**2
    power = power[:, :-1]  # whisper: stft[..., :-1]
    mel = mel_filters().astype(np.float64) @ power
    log_spec = np.log10(np.maximum(mel, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    wav_path, out_prefix = sys.argv[1], sys.argv[2]
    mel = log_mel_spectrogram(read_wav_16k_mono(wav_path))
    mel.astype("<f4").tofile(out_prefix + ".mel.f32")
    with open(out_prefix + ".mel.json", "w") as f:
        json.dump({"n_mels": int(mel.shape[0]), "n_frames": int(mel.shape[1])}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
