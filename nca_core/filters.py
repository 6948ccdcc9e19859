"""Filters: trivial sequences, exact duplicates, behavioural near-duplicates.

- Trivial: a uniform frame anywhere after the first, or a fixed point / short cycle reached within the
  first half of the kept frames.
- Exact duplicates: a content hash of the token ids (blake2b, 128 bits).
- Near-duplicates: a rule's *fingerprint* is its one-step response on a fixed set of probe grids; rules
  whose responses agree on a fixed random sample of probe cells share a cluster, and a dataset keeps at
  most ``cap`` sequences per cluster. Random rules collide with probability n^-CELLS; rules that act the
  same on everything we probe cluster together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import torch

from .complexity import period_and_transient
from .rules import RuleSpec, num_states
from .simulate import SimConfig, rollout

PROBE_COUNT = 4
PROBE_SEED = 0x50524F4245  # "PROBE": the probe set is fixed for all time (changing it changes cluster ids)
CLUSTER_CELLS = 24


def is_trivial(frames: torch.Tensor | np.ndarray, max_period: int = 2) -> np.ndarray:
    """bool (B,): uniform frame after the first, or a cycle of period ≤ ``max_period`` entered in the first half."""
    x = torch.as_tensor(frames)
    b, t = x.shape[:2]
    flat = x.reshape(b, t, -1)
    uniform = (flat[:, 1:] == flat[:, 1:, :1]).all(-1).any(-1).cpu().numpy() if t > 1 else np.zeros(b, bool)
    period, transient = period_and_transient(x)
    early_cycle = (period > 0) & (period <= max_period) & (transient < t // 2)
    return uniform | early_cycle


def content_hash(ids: np.ndarray | torch.Tensor | Sequence[int]) -> str:
    """Hex blake2b-128 of the ids as little-endian int32: equal sequences, equal hashes."""
    arr = np.asarray(ids.cpu() if isinstance(ids, torch.Tensor) else ids, dtype="<i4")
    return hashlib.blake2b(arr.tobytes(), digest_size=16).hexdigest()


def behaviour_fingerprints(specs: Sequence[RuleSpec], height: int = 12, width: int = 12,
                           device: str = "auto") -> np.ndarray:
    """uint8 (B, PROBE_COUNT·H·W): each rule's one-step response to the fixed probe grids.

    Probe grids are drawn per state count, so a rule is fingerprinted on grids of its own alphabet."""
    specs = list(specs)
    n = np.array([num_states(s) for s in specs], dtype=np.int64)
    config = SimConfig(height=height, width=width, burn_in=0, frames=2)
    probes = {int(m): np.stack([np.random.default_rng([PROBE_SEED, k, int(m)]).integers(0, m, (height, width))
                                for k in range(PROBE_COUNT)]) for m in np.unique(n)}
    if not specs:
        return np.zeros((0, PROBE_COUNT * height * width), dtype=np.uint8)
    initial = np.concatenate([probes[int(m)] for m in n])  # rule-major: a rule's probes side by side
    repeated = [spec for spec in specs for _ in range(PROBE_COUNT)]
    frames = rollout(repeated, [PROBE_SEED] * len(repeated), config, initial=initial, device=device)
    return frames[:, 1].reshape(len(specs), -1).cpu().numpy()


def cluster_ids(fingerprints: np.ndarray, cells: int = CLUSTER_CELLS) -> np.ndarray:
    """int64 (B,) cluster id: a hash of the fingerprint at a fixed random sample of ``cells`` positions."""
    fp = np.asarray(fingerprints, dtype=np.uint8)
    if fp.ndim != 2 or fp.shape[1] == 0:
        raise ValueError(f"fingerprints must be (batch, features), got shape {fp.shape}")
    positions = np.random.default_rng(PROBE_SEED).choice(fp.shape[1], size=min(cells, fp.shape[1]), replace=False)
    sample = np.ascontiguousarray(fp[:, np.sort(positions)])
    return np.array([int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=7).digest(), "little")
                     for row in sample], dtype=np.int64)


def cap_per_cluster(clusters: np.ndarray, cap: int, counts: dict[int, int] | None = None) -> np.ndarray:
    """bool (B,) keep-mask that admits at most ``cap`` members per cluster, in order.

    ``counts`` (cluster → already kept) carries the tally across calls and is updated in place."""
    if cap < 1:
        raise ValueError(f"cluster cap must be >= 1, got {cap}")
    counts = {} if counts is None else counts
    keep = np.zeros(len(clusters), dtype=bool)
    for i, c in enumerate(np.asarray(clusters).tolist()):
        if counts.get(c, 0) < cap:
            counts[c] = counts.get(c, 0) + 1
            keep[i] = True
    return keep
