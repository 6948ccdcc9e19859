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


def truncated_lecun_normal(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    """flax ``lecun_normal``: truncated normal in ±2σ, rescaled so the variance is 1 / fan_in."""
    std = np.sqrt(1.0 / fan_in) / 0.87962566103423978
    values = rng.standard_normal(shape)
    bad = np.abs(values) > 2.0
    while bad.any():
        values[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(values) > 2.0
    return (values * std).astype(np.float32)


def rule_weights(spec: RuleSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three weight arrays of a (validated) neural rule spec.

    Returns ``w1`` (3, 3, C_in, 4), ``w2`` (4, 16), ``w3`` (16, n) as float32, C_in = n + 2 for ``paper``.
    """
    n = spec["n_states"]
    c_in = n + 2 if spec["preset"] == "paper" else n
    rng = np.random.default_rng([spec["seed"], 0x4E4341])  # "NCA"
    w1 = truncated_lecun_normal(rng, (3, 3, c_in, HIDDEN[0]), fan_in=9 * c_in)
    w2 = truncated_lecun_normal(rng, (HIDDEN[0], HIDDEN[1]), fan_in=HIDDEN[0])
    w3 = truncated_lecun_normal(rng, (HIDDEN[1], n), fan_in=HIDDEN[1])
    return w1, w2, w3


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
        tables, w2s, w3s = [], [], []
        for spec in specs:
            w1, w2, w3 = rule_weights(spec)
            eff = state_weights(spec, w1).astype(np.float64)  # (3, 3, n, 4)
            # row table [row, a*n² + b*n + c] = eff[row,0,a] + eff[row,1,b] + eff[row,2,c]
            row = eff[:, 0, :, None, None] + eff[:, 1, None, :, None] + eff[:, 2, None, None, :]
            tables.append(row.reshape(3, n**3, HIDDEN[0]))
            w2s.append(w2)
            w3s.append(w3)
        table64 = torch.as_tensor(np.stack(tables), device=device)  # (B, 3, n³, 4)
        params = {
            "table64": table64,
            "table32": table64.float().reshape(-1, HIDDEN[0]),
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
        t64 = p["table64"]
        hid = t64[bi, 0, idx[bi, 0, ci]] + t64[bi, 1, idx[bi, 1, ci]] + t64[bi, 2, idx[bi, 2, ci]]
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


def _row_indices(grid: torch.Tensor, n: int) -> torch.Tensor:
    """(B, 3, H*W) index a·n² + b·n + c of the three cells of each kernel row around every cell (torus)."""
    b, h, w = grid.shape
    padded = torch.cat([grid[:, -1:], grid, grid[:, :1]], dim=1)
    padded = torch.cat([padded[:, :, -1:], padded, padded[:, :, :1]], dim=2)
    combo = padded[:, :, :-2] * (n * n) + padded[:, :, 1:-1] * n + padded[:, :, 2:]  # (B, H+2, W)
    return torch.stack([combo[:, r : r + h].reshape(b, -1) for r in range(3)], dim=1)
