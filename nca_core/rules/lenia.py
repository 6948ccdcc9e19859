"""Lenia-like continuous rules, quantised to the state alphabet so that tokens are exact.

Spec: ``{"family": "lenia", "radius": 3, "mu": 0.15, "sigma": 0.017, "dt": 0.1, "n_states": 10}``.
A state s stands for the value a = s / (n - 1). Each step (Chan 2019, single ring):
    u = K * a  (torus convolution with the normalised ring kernel K(r) = exp(4 - 1 / (ρ(1 - ρ))), ρ = r / R)
    a' = clip(a + dt · (2 exp(-(u - μ)² / (2σ²)) - 1), 0, 1)  → nearest state.
With few states the quantisation is part of the rule: dt must exceed the state spacing for anything to
move, and the family's knobs (μ, σ, dt) are its complexity knobs.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch

from .base import BatchedRule, RuleFamily, RuleSpec, RuleSpecError, check_keys, require_float, require_int
from .continuous import radial_kernel, to_states, to_values, torus_conv


def ring_kernel(radius: int) -> np.ndarray:
    def bump(r: float) -> float:
        rho = r / radius
        return math.exp(4.0 - 1.0 / (rho * (1.0 - rho))) if 0.0 < rho < 1.0 else 0.0

    k = radial_kernel(radius, bump)
    return k / k.sum()


class LeniaFamily(RuleFamily):
    name: ClassVar[str] = "lenia"
    description: ClassVar[str] = "Lenia-like growth rules on a ring kernel, quantised to n states"

    def sample(self, rng: np.random.Generator, n_states: int, **knobs: Any) -> RuleSpec:
        if knobs:
            raise RuleSpecError(f"lenia rules take no knobs; got {sorted(knobs)}")
        spec = {
            "family": self.name, "radius": int(rng.integers(2, 6)), "mu": round(float(rng.uniform(0.1, 0.4)), 4),
            "sigma": round(float(rng.uniform(0.02, 0.12)), 4), "dt": round(float(rng.uniform(0.15, 0.5)), 4),
            "n_states": n_states,
        }
        return self.validate(spec)

    def validate(self, spec: RuleSpec) -> RuleSpec:
        check_keys(spec, {"radius", "mu", "sigma", "dt", "n_states"})
        out = {"family": self.name, "radius": 3, "mu": 0.15, "sigma": 0.017, "dt": 0.1, "n_states": 10, **spec}
        require_int(out, "radius", 1, 5)
        require_float(out, "mu", 0.0, 1.0)
        require_float(out, "sigma", 0.0, strict_low=True)
        require_float(out, "dt", 0.0, 1.0, strict_low=True)
        require_int(out, "n_states", 2, 40)
        return out

    def num_states(self, spec: RuleSpec) -> int:
        return spec["n_states"]

    def group_key(self, spec: RuleSpec) -> Any:
        return 0  # all lenia rules share one kernel layout (radius 5, zeros outside)

    def build(self, specs: list[RuleSpec], device: torch.device) -> BatchedRule:
        kernels = []
        for s in specs:
            k = ring_kernel(s["radius"]).reshape(2 * s["radius"] + 1, -1)
            pad = 5 - s["radius"]
            kernels.append(np.pad(k, pad).reshape(-1))
        col = lambda key, dtype=torch.float64: torch.tensor([s[key] for s in specs], dtype=dtype, device=device)  # noqa: E731
        params = {"kernel": torch.as_tensor(np.stack(kernels), device=device), "mu": col("mu"),
                  "sigma": col("sigma"), "dt": col("dt"), "n": col("n_states", torch.int64)}
        return BatchedRule(self, specs, device, params)

    def step(self, rule: BatchedRule, grid: torch.Tensor, t: int, keys: torch.Tensor) -> torch.Tensor:
        p = rule.params
        n = p["n"][:, None, None]
        a = to_values(grid, n)
        u = torus_conv(a, p["kernel"], radius=5)
        mu, sigma, dt = (p[k][:, None, None] for k in ("mu", "sigma", "dt"))
        growth = 2.0 * torch.exp(-((u - mu) ** 2) / (2.0 * sigma**2)) - 1.0
        return to_states(a + dt * growth, n)
