"""Complexity measures. Every score says which scale it is on.

Scales of the gzip score
- ``gzip-int32-ref``: the reference (arXiv 2603.10055): a *separate* rollout (10 burn-in steps, then 10
  frames), its delimiter-free patch ids serialised as int32 little-endian, gzip level 9 with header,
  compressed / original size. Tops out near 0.66 because half of the bytes are zero; the reference
  trains on the band (0.5, 1.0) and recommends (0.3, 0.4) for code.
- ``gzip-cells``: the canonical scale: the same trajectory's raw uint8 cells, gzip level 9,
  compressed / original. Ranks rules like the reference scale (int32 0.5 ≈ cells 0.34).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from .rules import RuleSpec
from .simulate import SimConfig, rollout
from .tokens import PatchTokenizer

SCALES = ("gzip-int32-ref", "gzip-cells")
SCORE_CONFIG = SimConfig(height=12, width=12, burn_in=10, frames=10)  # (ref) the separate scoring rollout


@dataclass(frozen=True)
class Band:
    """An open interval lower < score < upper on a named scale (strict, as the reference)."""

    lower: float
    upper: float
    scale: str = "gzip-int32-ref"

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"unknown complexity scale {self.scale!r}; choose one of {SCALES}")
        if not self.lower < self.upper:
            raise ValueError(f"complexity band needs lower < upper, got ({self.lower}, {self.upper})")

    def contains(self, score: float) -> bool:
        return self.lower < score < self.upper

    def label(self) -> str:
        return f"{self.scale}:({self.lower:g},{self.upper:g})"


def gzip_scores(frames: torch.Tensor | np.ndarray, scale: str = "gzip-int32-ref",
                tokenizer: PatchTokenizer | None = None, threads: int = 2) -> np.ndarray:
    """gzip score of each trajectory in ``frames`` (B, T, H, W) on ``scale``; float64 (B,)."""
    if scale not in SCALES:
        raise ValueError(f"unknown complexity scale {scale!r}; choose one of {SCALES}")
    frames = torch.as_tensor(frames)
    if scale == "gzip-int32-ref":
        tok = tokenizer or PatchTokenizer(10, 2, frames.shape[-2], frames.shape[-1])
        payload = tok.patch_ids(frames).to(torch.int32).cpu().numpy().astype("<i4")
    else:
        payload = frames.to(torch.uint8).cpu().numpy()
    rows = payload.reshape(payload.shape[0], -1)
    if threads <= 1 or len(rows) < 64:
        return _gzip_ratios(rows)
    chunks = np.array_split(rows, threads)  # one task per thread: per-blob tasks cost more than they save
    with ThreadPoolExecutor(max_workers=threads) as pool:  # zlib releases the GIL
        return np.concatenate(list(pool.map(_gzip_ratios, chunks)))


def _gzip_ratios(rows: np.ndarray) -> np.ndarray:
    return np.array([_gzip_ratio_fast(row.tobytes()) for row in rows], dtype=np.float64)


def _gzip_ratio_fast(data: bytes) -> float:
    # Same bytes as gzip.compress(level 9): 10-byte header + raw deflate + 8-byte trailer.
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    return (len(comp.compress(data)) + len(comp.flush()) + 18) / len(data)


def score_rules(specs: Sequence[RuleSpec], seeds: Sequence[int], scale: str = "gzip-int32-ref",
                device: str = "auto", n_states: int = 10) -> np.ndarray:
    """The reference rule score: a separate 10-burn-in, 10-frame rollout per rule, then :func:`gzip_scores`."""
    frames = rollout(specs, seeds, SCORE_CONFIG, device=device)
    return gzip_scores(frames, scale, PatchTokenizer(n_states, 2, SCORE_CONFIG.height, SCORE_CONFIG.width))


def state_counts(frames: torch.Tensor | np.ndarray, n_states: int) -> torch.Tensor:
    """(B, n_states) int64 histogram of states over each whole trajectory."""
    x = torch.as_tensor(frames)
    b = x.shape[0]
    offset = (torch.arange(b, device=x.device, dtype=torch.int32) * n_states)[:, None]
    flat = (x.reshape(b, -1).to(torch.int32) + offset).reshape(-1)
    return torch.bincount(flat, minlength=b * n_states).reshape(b, n_states)


def state_entropy(frames: torch.Tensor | np.ndarray, n_states: int) -> np.ndarray:
    """Shannon entropy (bits) of the state histogram over the whole trajectory, per sequence (B,)."""
    return counts_entropy(state_counts(frames, n_states))


def counts_entropy(counts: torch.Tensor) -> np.ndarray:
    """Shannon entropy (bits) of each row of a (B, n) histogram (e.g. :func:`state_counts`)."""
    counts = counts.double()
    p = counts / counts.sum(-1, keepdim=True)
    return (-(p * torch.log2(p.clamp_min(1e-300))).sum(-1)).clamp_min(0.0).cpu().numpy()


def activity(frames: torch.Tensor | np.ndarray) -> np.ndarray:
    """Mean fraction of cells that change from one frame to the next, per sequence (B,)."""
    x = torch.as_tensor(frames)
    if x.shape[1] < 2:
        return np.zeros(x.shape[0])
    changed = (x[:, 1:] != x[:, :-1]).sum(dim=(1, 2, 3))
    return (changed.double() / x[0, 1:].numel()).cpu().numpy()


def activity_curve(frames: torch.Tensor | np.ndarray) -> np.ndarray:
    """Fraction of cells changing at each step, (B, T-1)."""
    x = torch.as_tensor(frames)
    return (x[:, 1:] != x[:, :-1]).double().mean(dim=(2, 3)).cpu().numpy()


def distinct_states(frames: torch.Tensor | np.ndarray, n_states: int) -> np.ndarray:
    return (state_counts(frames, n_states) > 0).sum(-1).cpu().numpy()


def period_and_transient(frames: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Attractor detection within the horizon, per sequence.

    period p ≥ 1 and transient τ: frame τ is the first frame that recurs, p steps later
    (p = 1: fixed point). Both are 0 when nothing recurs within the trajectory.

    Vectorised: frames are compared through a 64-bit hash, and the one recurrence found per sequence is
    then checked cell by cell (a hash collision falls back to an exact scan of that sequence)."""
    x = torch.as_tensor(frames).cpu()
    b, t = x.shape[:2]
    flat = x.reshape(b, t, -1).to(torch.uint8).contiguous()  # states < 256
    pad = -flat.shape[-1] % 8
    words = torch.nn.functional.pad(flat, (0, pad)) if pad else flat
    words = words.view(torch.int64)  # 8 cells per word
    h = (words * _hash_weights(words.shape[-1])).sum(-1)  # (B, T), wrapping int64 arithmetic
    same = (h[:, :, None] == h[:, None, :]) & torch.ones(t, t, dtype=torch.bool).triu(1)  # (B, i, j), i < j
    recurs = same.any(1)  # (B, j): frame j repeats an earlier frame
    has = recurs.any(1)
    j = torch.where(has, recurs.to(torch.int8).argmax(1), torch.zeros_like(has, dtype=torch.int64))
    i = same[torch.arange(b), :, j].to(torch.int8).argmax(1)
    periods = torch.where(has, j - i, 0).numpy().astype(np.int64)
    transients = torch.where(has, i, 0).numpy().astype(np.int64)
    rows = torch.arange(b)
    exact = (flat[rows, i] == flat[rows, j]).all(-1)
    for k in torch.nonzero(has & ~exact).flatten().tolist():  # hash collision (≈2⁻⁶⁴): scan exactly
        periods[k], transients[k] = _scan(flat[k].numpy())
    return periods, transients


@lru_cache(maxsize=8)
def _hash_weights(n: int) -> torch.Tensor:
    """Odd random int64 weights of the frame hash: fixed for all time."""
    return torch.as_tensor(np.random.default_rng(0x48415348).integers(1, 2**62, n) * 2 + 1)


def _scan(traj: np.ndarray) -> tuple[int, int]:
    seen: dict[bytes, int] = {}
    for j, frame in enumerate(traj):
        key = frame.tobytes()
        if key in seen:
            return j - seen[key], seen[key]
        seen[key] = j
    return 0, 0
