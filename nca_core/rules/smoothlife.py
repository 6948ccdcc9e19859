"""SmoothLife-like rules (Rafler 2011, discrete time), quantised to the state alphabet.

Spec: ``{"family": "smoothlife", "inner_radius": 1.5, "b1": 0.278, "b2": 0.365, "d1": 0.267, "d2": 0.445,
"dt": 0.5, "n_states": 10}``. A state s is the value f = s / (n - 1). m is the mean of f over the inner
disk (r ≤ rᵢ), n̄ the mean over the annulus rᵢ < r ≤ 3rᵢ; the transition
    S(n̄, m) = σ(n̄; lerp(b1, d1, σ_m(m)), lerp(b2, d2, σ_m(m)))   (smooth interval membership)
and f' = clip(f + dt (2S - 1), 0, 1) → nearest state (dt = 1 gives the pure map f' = S).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from .base import BatchedRule, RuleFamily, RuleSpec, RuleSpecError, check_keys, require_float
from .continuous import radial_kernel, to_states, to_values, torus_conv

ALPHA_N, ALPHA_M = 0.028, 0.147  # sigmoid widths (Rafler)
MAX_RADIUS = 5


def disk_kernels(inner: float) -> tuple[np.ndarray, np.ndarray]:
    """Normalised inner-disk and annulus kernels over offsets of radius MAX_RADIUS."""
    outer = min(3.0 * inner, MAX_RADIUS + 0.5)
    disk = radial_kernel(MAX_RADIUS, lambda r: 1.0 if r <= inner else 0.0)
    ring = radial_kernel(MAX_RADIUS, lambda r: 1.0 if inner < r <= outer else 0.0)
    return disk / disk.sum(), ring / ring.sum()


def _sigma(x: torch.Tensor, a: torch.Tensor, alpha: float) -> torch.Tensor:
    return 1.0 / (1.0 + torch.exp(-(x - a) * 4.0 / alpha))


class SmoothLifeFamily(RuleFamily):
    name: ClassVar[str] = "smoothlife"
    description: ClassVar[str] = "SmoothLife-like disk/annulus rules, quantised to n states"

    def sample(self, rng: np.random.Generator, n_states: int, **knobs: Any) -> RuleSpec:
        if knobs:
            raise RuleSpecError(f"smoothlife rules take no knobs; got {sorted(knobs)}")
        # Ranges chosen by a sweep on 12×12 grids with 10 states: most quantised SmoothLife rules freeze or
        # die; low birth thresholds, high death thresholds and small dt keep about half of them alive.
        b1 = float(rng.uniform(0.1, 0.25))
        d1 = float(rng.uniform(0.25, 0.45))
        spec = {
            "family": self.name, "inner_radius": float(rng.choice([1.0, 1.0, 1.5])),
            "b1": round(b1, 4), "b2": round(b1 + float(rng.uniform(0.05, 0.25)), 4),
            "d1": round(d1, 4), "d2": round(min(1.0, d1 + float(rng.uniform(0.1, 0.3))), 4),
            "dt": round(float(rng.uniform(0.15, 0.45)), 4), "n_states": n_states,
        }
        return self.validate(spec)

    def validate(self, spec: RuleSpec) -> RuleSpec:
        check_keys(spec, {"inner_radius", "b1", "b2", "d1", "d2", "dt", "n_states"})
        out = {"family": self.name, "inner_radius": 1.5, "b1": 0.278, "b2": 0.365, "d1": 0.267, "d2": 0.445,
               "dt": 0.5, "n_states": 10, **spec}
        require_float(out, "inner_radius", 1.0, MAX_RADIUS / 3 + 0.34)
        for key in ("b1", "b2", "d1", "d2"):
            require_float(out, key, 0.0, 1.0)
        require_float(out, "dt", 0.0, 1.0, strict_low=True)
        if not (out["b1"] <= out["b2"] and out["d1"] <= out["d2"]):
            raise RuleSpecError("smoothlife rule: need b1 <= b2 and d1 <= d2 (they are interval bounds)")
        if not isinstance(out["n_states"], int) or not 2 <= out["n_states"] <= 40:
            raise RuleSpecError(f"smoothlife rule: 'n_states' must be an integer in [2, 40], got {out['n_states']!r}")
        return out

    def num_states(self, spec: RuleSpec) -> int:
        return spec["n_states"]

    def group_key(self, spec: RuleSpec) -> Any:
        return 0

    def build(self, specs: list[RuleSpec], device: torch.device) -> BatchedRule:
        disks, rings = zip(*(disk_kernels(s["inner_radius"]) for s in specs))
        col = lambda key, dtype=torch.float64: torch.tensor([s[key] for s in specs], dtype=dtype, device=device)  # noqa: E731
        params = {"disk": torch.as_tensor(np.stack(disks), device=device),
                  "ring": torch.as_tensor(np.stack(rings), device=device),
                  **{k: col(k) for k in ("b1", "b2", "d1", "d2", "dt")}, "n": col("n_states", torch.int64)}
        return BatchedRule(self, specs, device, params)

    def step(self, rule: BatchedRule, grid: torch.Tensor, t: int, keys: torch.Tensor) -> torch.Tensor:
        p = rule.params
        n = p["n"][:, None, None]
        f = to_values(grid, n)
        m = torus_conv(f, p["disk"], MAX_RADIUS)
        nbar = torus_conv(f, p["ring"], MAX_RADIUS)
        b1, b2, d1, d2, dt = (p[k][:, None, None] for k in ("b1", "b2", "d1", "d2", "dt"))
        alive = _sigma(m, torch.full_like(m, 0.5), ALPHA_M)
        lo = b1 * (1 - alive) + d1 * alive
        hi = b2 * (1 - alive) + d2 * alive
        s = _sigma(nbar, lo, ALPHA_N) * (1.0 - _sigma(nbar, hi, ALPHA_N))
        return to_states(f + dt * (2.0 * s - 1.0), n)


