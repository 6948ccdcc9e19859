"""Random neural CA: a tiny random conv net is the transition rule (the reference of arXiv 2603.10055).

Network (one rule = one set of weights, all biases zero, weights ~ truncated lecun-normal):
    one-hot(grid) (H, W, n) → wrap-pad → 3×3 conv, 4 channels, no activation
    → 1×1 conv to 16 channels, ReLU → 1×1 conv to n logits → next state.

Presets
- ``paper``: the reference exactly, including its quirk: ``jnp.pad(..., mode="wrap")`` pads the channel
  axis too, so the 3×3 conv sees n + 2 channels ordered [s_{n-1}, s_0, …, s_{n-1}, s_0] (fan_in 108 for
  n = 10): states 0 and n-1 each get two independent weight slices. τ = 1e-4, β = 0.
- ``fixed``: the same network without the quirk (n input channels, fan_in 9n).

Next state ~ Categorical(softmax((logits + β·onehot(s)) / τ)); τ = 0 means argmax.

Implementation: the one-hot input makes the 3×3 conv a sum of table lookups; the three cells of each
kernel row are looked up together (n³ rows of 4 values per kernel row). Logits are computed in float32
and every cell whose top-two margin is too small to be sure of — against float32 rounding or against the
Gumbel noise of sampling — is recomputed in float64 and, for τ > 0, sampled with counter-based Gumbel
noise. The result is therefore the float64 rule on every device and batch layout.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from .base import (
    BatchedRule,
    RuleFamily,
    RuleSpec,
    RuleSpecError,
    check_keys,
    counter_uniform,
    require_float,
    require_int,
)

HIDDEN = (4, 16)  # conv channels, 1×1 hidden channels (reference)
PRESETS = {"paper": {"tau": 1e-4, "beta": 0.0}, "fixed": {"tau": 1e-4, "beta": 0.0}}
_GUMBEL_SPAN = 42.0  # Gumbel noise from 53-bit uniforms lies in (-3.7, 37.5): margins above 42τ are certain
_FP32_REL_TOL = 1e-4


def rule_weights(spec: RuleSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three weight arrays of a (validated) neural rule spec, drawn from its seed.

    Returns ``w1`` (3, 3, C_in, 4), ``w2`` (4, 16), ``w3`` (16, n) as float32, C_in = n + 2 for ``paper``.
    """
    n = spec["n_states"]
    c_in = n + 2 if spec["preset"] == "paper" else n
    shapes = [((3, 3, c_in, HIDDEN[0]), 9 * c_in), ((HIDDEN[0], HIDDEN[1]), HIDDEN[0]), ((HIDDEN[1], n), HIDDEN[1])]
    rng = np.random.default_rng([spec["seed"], 0x4E4341])  # "NCA"
    values = truncated_normal(rng, sum(int(np.prod(shape)) for shape, _ in shapes))
    out, start = [], 0
    for shape, fan_in in shapes:
        size = int(np.prod(shape))
        std = np.sqrt(1.0 / fan_in) / 0.87962566103423978  # flax lecun_normal: variance 1 / fan_in after truncation
        out.append((values[start : start + size] * std).reshape(shape).astype(np.float32))
        start += size
    return out[0], out[1], out[2]


def truncated_normal(rng: np.random.Generator, size: int) -> np.ndarray:
    """Standard normals truncated to ±2 (rejected draws are redrawn)."""
    values = rng.standard_normal(size)
    bad = np.abs(values) > 2.0
    while bad.any():
        values[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(values) > 2.0
    return values


def state_weights(spec: RuleSpec, w1: np.ndarray) -> np.ndarray:
    """Per-state slices of the 3×3 conv, (3, 3, n, 4): what a one-hot cell of each state contributes."""
    if spec["preset"] != "paper":
        return w1
    n = spec["n_states"]
    eff = w1[:, :, 1 : n + 1].copy()  # channel s+1 is state s
    eff[:, :, n - 1] += w1[:, :, 0]  # the wrapped copy of state n-1 in front
    eff[:, :, 0] += w1[:, :, n + 1]  # the wrapped copy of state 0 behind
    return eff


class NeuralFamily(RuleFamily):
    name: ClassVar[str] = "neural"
    description: ClassVar[str] = "random tiny conv net as transition rule (arXiv 2603.10055)"

    def sample(self, rng: np.random.Generator, n_states: int, preset: str = "paper", tau: float | None = None,
               **knobs: Any) -> RuleSpec:
        if knobs:
            raise RuleSpecError(f"neural rules take the knobs preset, tau; got {sorted(knobs)}")
        spec = {"family": self.name, "preset": preset, "seed": int(rng.integers(0, 2**62)), "n_states": n_states}
        if tau is not None:
            spec["tau"] = tau
        return self.validate(spec)

    def validate(self, spec: RuleSpec) -> RuleSpec:
        check_keys(spec, {"seed", "preset", "n_states", "tau", "beta"})
        preset = spec.get("preset", "paper")
        if preset not in PRESETS:
            raise RuleSpecError(f"neural rule: unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
        if "seed" not in spec:
            raise RuleSpecError("neural rule: a 'seed' is required (it determines the weights)")
        out = {"family": self.name, "preset": preset, **PRESETS[preset], "n_states": 10, **spec}
        require_int(out, "seed", 0, 2**63 - 1)
        require_int(out, "n_states", 2, 40)
        require_float(out, "tau", low=0.0)
        require_float(out, "beta")
        return out

    def num_states(self, spec: RuleSpec) -> int:
        return spec["n_states"]

    def build(self, specs: list[RuleSpec], device: torch.device) -> BatchedRule:
        n = specs[0]["n_states"]
        effs, w2s, w3s = [], [], []
        for spec in specs:
            w1, w2, w3 = _cached_weights(spec)
            effs.append(state_weights(spec, w1).reshape(9, n, HIDDEN[0]))
            w2s.append(w2)
            w3s.append(w3)
        eff = torch.as_tensor(np.stack(effs), device=device)  # (B, 9, n, 4) float32
        # row table [b, row, a·n² + b·n + c] = eff[row, 0, a] + eff[row, 1, b] + eff[row, 2, c]
        e = eff.reshape(len(specs), 3, 3, n, HIDDEN[0])
        table = e[:, :, 0, :, None, None] + e[:, :, 1, None, :, None] + e[:, :, 2, None, None, :]
        params = {
            "eff64": eff.double(),
            "table32": table.reshape(-1, HIDDEN[0]),
            "w2": torch.as_tensor(np.stack(w2s), device=device),
            "w3": torch.as_tensor(np.stack(w3s), device=device),
            "tau": torch.tensor([s["tau"] for s in specs], dtype=torch.float64, device=device),
            "beta": torch.tensor([s["beta"] for s in specs], dtype=torch.float64, device=device),
        }
        return BatchedRule(self, specs, device, params)

    def step(self, rule: BatchedRule, grid: torch.Tensor, t: int, keys: torch.Tensor) -> torch.Tensor:
        p = rule.params
        b, h, w = grid.shape
        n = rule.specs[0]["n_states"]
        idx = _row_indices(grid, n)  # (B, 3, H*W): combo index per kernel row
        offsets = (torch.arange(b, device=grid.device) * 3)[:, None] + torch.arange(3, device=grid.device)[None]
        flat = idx + (offsets * n**3)[:, :, None]
        table = p["table32"]
        hid = table[flat[:, 0]] + table[flat[:, 1]] + table[flat[:, 2]]  # (B, HW, 4)
        logits = torch.bmm(torch.relu(torch.bmm(hid, p["w2"])), p["w3"])  # (B, HW, n)
        cells = grid.reshape(b, -1)
        if bool((p["beta"] != 0).any()):
            logits = logits + (p["beta"].float()[:, None, None] * torch.nn.functional.one_hot(cells, n))
        top2 = torch.topk(logits, 2, dim=-1)
        best = top2.indices[..., 0]
        margin = top2.values[..., 0] - top2.values[..., 1]
        scale = top2.values.abs().sum(-1)
        unsure = margin <= _FP32_REL_TOL * scale + 1e-30 + _GUMBEL_SPAN * p["tau"].float()[:, None]
        if bool(unsure.any()):
            bi, ci = unsure.nonzero(as_tuple=True)
            best[bi, ci] = self._exact(rule, idx, cells, bi, ci, t, keys, n)
        return best.reshape(b, h, w)

    @staticmethod
    def _exact(rule: BatchedRule, idx, cells, bi, ci, t, keys, n) -> torch.Tensor:
        """float64 logits (and Gumbel sampling where τ > 0) for the cells (bi, ci)."""
        p = rule.params
        eff = p["eff64"]
        hid = torch.zeros((len(bi), HIDDEN[0]), dtype=torch.float64, device=eff.device)
        for row in range(3):  # decode each row's combo back into its three cells, add in fixed order
            combo = idx[bi, row, ci]
            for col, state in enumerate((combo // (n * n), (combo // n) % n, combo % n)):
                hid = hid + eff[bi, 3 * row + col, state]
        z = torch.relu(torch.einsum("ck,ckj->cj", hid, p["w2"][bi].double()))
        logits = torch.einsum("cj,cjs->cs", z, p["w3"][bi].double())
        logits = logits + p["beta"][bi, None] * torch.nn.functional.one_hot(cells[bi, ci], n).double()
        tau = p["tau"][bi, None]
        if bool((tau > 0).any()):
            pos = ci[:, None] * n + torch.arange(n, device=ci.device)[None]
            u = counter_uniform(keys[bi, None], pos, t, stream=7)  # noise of exactly these cells
            gumbel = -torch.log(-torch.log(u))
            noisy = torch.where(tau > 0, logits / tau.clamp_min(1e-300) + gumbel, logits)
            return noisy.argmax(-1)
        return logits.argmax(-1)


_WEIGHT_CACHE: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
_WEIGHT_CACHE_SIZE = 16384  # ≈ 45 MB: a rule scored and then rolled out is drawn once


def _cached_weights(spec: RuleSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    key = (spec["seed"], spec["preset"], spec["n_states"])
    weights = _WEIGHT_CACHE.get(key)
    if weights is None:
        if len(_WEIGHT_CACHE) >= _WEIGHT_CACHE_SIZE:
            _WEIGHT_CACHE.clear()
        weights = _WEIGHT_CACHE[key] = rule_weights(spec)
    return weights


def _row_indices(grid: torch.Tensor, n: int) -> torch.Tensor:
    """(B, 3, H*W) index a·n² + b·n + c of the three cells of each kernel row around every cell (torus)."""
    b, h, w = grid.shape
    padded = torch.cat([grid[:, -1:], grid, grid[:, :1]], dim=1)
    padded = torch.cat([padded[:, :, -1:], padded, padded[:, :, :1]], dim=2)
    combo = padded[:, :, :-2] * (n * n) + padded[:, :, 1:-1] * n + padded[:, :, 2:]  # (B, H+2, W)
    return torch.stack([combo[:, r : r + h].reshape(b, -1) for r in range(3)], dim=1)
