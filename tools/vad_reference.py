"""Silero VAD's speech probabilities for a 16 kHz mono WAV, computed with onnxruntime the way
the silero-vad package's `SileroVADSequence.audio_forward` does (sequence_vad.py, 6.2.3): frames
of 512 samples, each preceded by the previous frame's last 64 (zeros before the first), the
last frame zero-padded, up to 512 frames per call with the LSTM state carried between calls.
The reference for the speech crate's VAD test (tract runs 128 frames per call).

usage: vad_reference.py VAD.onnx IN.wav OUT.f32   (little-endian f32, one per frame)
"""
import sys
import wave

import numpy as np
import onnxruntime as ort

FRAME, CONTEXT, MAX_FRAMES = 512, 64, 512


def main(model_path, wav_path, out_path):
    with wave.open(wav_path, "rb") as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    frames_total = (audio.size + FRAME - 1) // FRAME
    h = np.zeros((1, 1, 128), np.float32)
    c = np.zeros((1, 1, 128), np.float32)
    previous = np.zeros(CONTEXT, np.float32)
    probs = []
    for first in range(0, frames_total, MAX_FRAMES):
        n = min(MAX_FRAMES, frames_total - first)
        chunk = audio[first * FRAME:(first + n) * FRAME]
        frames = np.zeros((n, FRAME), np.float32)
        frames.reshape(-1)[:chunk.size] = chunk
        contexts = np.empty((n, CONTEXT), np.float32)
        contexts[0] = previous
        contexts[1:] = frames[:-1, -CONTEXT:]
        previous = frames[-1, -CONTEXT:].copy()
        p, h, c = session.run(["speech_probs", "hn", "cn"],
                              {"input": np.concatenate([contexts, frames], 1), "h": h, "c": c})
        probs.append(p.reshape(-1))
    np.concatenate(probs).astype("<f4").tofile(out_path)


if __name__ == "__main__":
    main(*sys.argv[1:4])
