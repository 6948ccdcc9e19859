"""Hand-written symbolic dynamics: cyclic CA and random lookup-table rules with a Langton-λ knob.

Specs
- ``{"family": "symbolic", "kind": "cyclic", "n_states": 8, "threshold": 1, "neighbourhood": "moore"}``:
  a cell in state s moves to (s + 1) mod n when at least ``threshold`` neighbours are in state s + 1.
- ``{"family": "symbolic", "kind": "lookup", "n_states": 4, "seed": 7, "lambda": 0.4}``: an
  outer-totalistic table indexed by (own state, sum of the 8 neighbour states), (n, 8(n-1)+1) entries,
  drawn from ``seed``: each entry is non-quiescent (1..n-1) with probability λ, otherwise 0.
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
    moore_shifts,
    require_float,
    require_int,
)

KINDS = ("cyclic", "lookup")
NEIGHBOURHOODS = ("moore", "vonneumann")


def lookup_table(spec: RuleSpec) -> np.ndarray:
    """The (n, 8(n-1)+1) next-state table of a validated ``lookup`` spec."""
    n = spec["n_states"]
    rng = np.random.default_rng([spec["seed"], 0x4C554B])
    shape = (n, 8 * (n - 1) + 1)
    active = rng.random(shape) < spec["lambda"]
    values = rng.integers(1, n, size=shape)
    return np.where(active, values, 0).astype(np.int64)


class SymbolicFamily(RuleFamily):
    name: ClassVar[str] = "symbolic"
    description: ClassVar[str] = "cyclic CA and random lookup-table rules (Langton λ)"

    def sample(self, rng: np.random.Generator, n_states: int, kind: str | None = None,
               lam: float | None = None, **knobs: Any) -> RuleSpec:
        if knobs:
            raise RuleSpecError(f"symbolic rules take the knobs kind, lam; got {sorted(knobs)}")
        kind = kind or ("cyclic" if rng.random() < 0.5 else "lookup")
        n = int(rng.integers(3, n_states + 1))
        if kind == "cyclic":
            hood = NEIGHBOURHOODS[int(rng.integers(0, 2))]
            spec = {"family": self.name, "kind": "cyclic", "n_states": n,
                    "threshold": int(rng.integers(1, 4 if hood == "moore" else 3)), "neighbourhood": hood}
        else:
            lam = float(rng.uniform(0.1, 0.7)) if lam is None else lam
            spec = {"family": self.name, "kind": "lookup", "n_states": n,
                    "seed": int(rng.integers(0, 2**62)), "lambda": round(lam, 4)}
        return self.validate(spec)

    def validate(self, spec: RuleSpec) -> RuleSpec:
        kind = spec.get("kind")
        if kind not in KINDS:
            raise RuleSpecError(f"symbolic rule: 'kind' must be one of {list(KINDS)}, got {kind!r}")
        if kind == "cyclic":
            check_keys(spec, {"kind", "n_states", "threshold", "neighbourhood"})
            out = {"family": self.name, "kind": kind, "n_states": 8, "threshold": 1, "neighbourhood": "moore", **spec}
            require_int(out, "n_states", 2, 40)
            require_int(out, "threshold", 1, 8)
            if out["neighbourhood"] not in NEIGHBOURHOODS:
                raise RuleSpecError(f"symbolic rule: neighbourhood must be one of {list(NEIGHBOURHOODS)}")
            return out
        check_keys(spec, {"kind", "n_states", "seed", "lambda"})
        if "seed" not in spec:
            raise RuleSpecError("symbolic lookup rule: a 'seed' is required (it determines the table)")
        out = {"family": self.name, "kind": kind, "n_states": 4, "lambda": 0.4, **spec}
        require_int(out, "n_states", 2, 40)
        require_int(out, "seed", 0, 2**63 - 1)
        require_float(out, "lambda", 0.0, 1.0)
        return out

    def num_states(self, spec: RuleSpec) -> int:
        return spec["n_states"]

    def group_key(self, spec: RuleSpec):
        return (spec["kind"], spec["n_states"])

    def build(self, specs: list[RuleSpec], device: torch.device) -> BatchedRule:
        kind = specs[0]["kind"]
        params: dict[str, torch.Tensor] = {}
        if kind == "lookup":
            params["table"] = torch.as_tensor(np.stack([lookup_table(s) for s in specs]), device=device)
        else:
            params["threshold"] = torch.tensor([s["threshold"] for s in specs], device=device)[:, None, None]
            params["moore"] = torch.tensor([s["neighbourhood"] == "moore" for s in specs], device=device)[:, None, None]
        return BatchedRule(self, specs, device, params)

    def step(self, rule: BatchedRule, grid: torch.Tensor, t: int, keys: torch.Tensor) -> torch.Tensor:
        p = rule.params
        n = rule.specs[0]["n_states"]
        if rule.specs[0]["kind"] == "lookup":
            total = sum(shifted for _, _, shifted in moore_shifts(grid))
            b = grid.shape[0]
            width = 8 * (n - 1) + 1
            index = (grid * width + total).reshape(b, -1)
            return torch.gather(p["table"].reshape(b, -1), 1, index).reshape(grid.shape)
        succ = (grid + 1) % n
        count = torch.zeros_like(grid)
        for dy, dx, shifted in moore_shifts(grid):
            hit = (shifted == succ).to(torch.int64)
            if dy != 0 and dx != 0:  # diagonal neighbours count only in the Moore neighbourhood
                hit = hit * p["moore"]
            count = count + hit
        return torch.where(count >= p["threshold"], succ, grid)
