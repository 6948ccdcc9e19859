"""The one interface every rule family implements.

A *rule spec* is a plain JSON-serialisable dict: ``{"family": NAME, ...parameters or seed}``.
A family turns a list of its specs into a :class:`BatchedRule` that advances a whole batch of grids
one step at a time. Grids are int64 tensors of shape (batch, height, width) holding states 0..n-1,
and every family's step is a pure function of (spec, grid, step index): a rule's trajectory never
depends on the other rules in the batch, on the batch size or on the thread count.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

RuleSpec = dict[str, Any]


class RuleSpecError(ValueError):
    """A rule spec that cannot be simulated; the message says what to change."""


@dataclass
class BatchedRule:
    """A batch of rules of one family, ready to step grids of shape (batch, height, width)."""

    family: RuleFamily
    specs: list[RuleSpec]
    device: torch.device
    params: dict[str, torch.Tensor]

    def step(self, grid: torch.Tensor, t: int, keys: torch.Tensor) -> torch.Tensor:
        """Advance (batch, H, W) int64 grids by one step; ``keys`` (batch,) int64 seeds stochastic rules."""
        return self.family.step(self, grid, t, keys)


class RuleFamily:
    """Base class of a rule family. Subclasses set ``name`` and implement the four methods."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def sample(self, rng: np.random.Generator, n_states: int, **knobs: Any) -> RuleSpec:
        """Draw one random rule spec with at most ``n_states`` states (family-specific ``knobs``)."""
        raise NotImplementedError

    def validate(self, spec: RuleSpec) -> RuleSpec:
        """Return the spec with defaults filled in, or raise :class:`RuleSpecError`."""
        raise NotImplementedError

    def num_states(self, spec: RuleSpec) -> int:
        """How many states the rule uses (its alphabet is 0..num_states-1)."""
        raise NotImplementedError

    def group_key(self, spec: RuleSpec) -> Any:
        """Specs with equal keys can share one :class:`BatchedRule` (same tensor shapes)."""
        return self.num_states(spec)

    def build(self, specs: list[RuleSpec], device: torch.device) -> BatchedRule:
        """Stack the parameters of ``specs`` (validated, equal :meth:`group_key`) on ``device``."""
        raise NotImplementedError

    def step(self, rule: BatchedRule, grid: torch.Tensor, t: int, keys: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def rollout(self, rule: BatchedRule, grid: torch.Tensor, keys: torch.Tensor, burn_in: int,
                frames: int) -> torch.Tensor:
        """uint8 (batch, frames, H, W): the grids after ``burn_in`` steps, then one step apart.

        Steps :meth:`step`; a family may override it with a fused kernel computing the same frames."""
        out = torch.empty((grid.shape[0], frames, *grid.shape[1:]), dtype=torch.uint8, device=grid.device)
        for t in range(burn_in + frames):
            if t >= burn_in:
                out[:, t - burn_in] = grid.to(torch.uint8)
            if t < burn_in + frames - 1:
                grid = self.step(rule, grid, t, keys)
        return out


def cpu_threads_wanted() -> int:
    """CPU threads for simulation: ``NCA_THREADS`` (default 1; parallelism usually comes from processes)."""
    value = os.environ.get("NCA_THREADS", "1")
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"NCA_THREADS must be a positive integer, got {value!r}")
    return int(value)


def check_keys(spec: RuleSpec, allowed: set[str]) -> None:
    unknown = set(spec) - allowed - {"family"}
    if unknown:
        raise RuleSpecError(
            f"unknown key(s) {sorted(unknown)} in {spec.get('family')!r} rule spec; allowed: {sorted(allowed)}"
        )


def require_int(spec: RuleSpec, key: str, low: int, high: int | None = None) -> int:
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise RuleSpecError(f"{spec['family']} rule: {key!r} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise RuleSpecError(f"{spec['family']} rule: {key!r} must be {bound}, got {value}")
    return int(value)


def require_float(spec: RuleSpec, key: str, low: float | None = None, high: float | None = None,
                  strict_low: bool = False) -> float:
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise RuleSpecError(f"{spec['family']} rule: {key!r} must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise RuleSpecError(f"{spec['family']} rule: {key!r} must be finite, got {value}")
    if low is not None and (value <= low if strict_low else value < low):
        raise RuleSpecError(f"{spec['family']} rule: {key!r} must be {'>' if strict_low else '>='} {low}, got {value}")
    if high is not None and value > high:
        raise RuleSpecError(f"{spec['family']} rule: {key!r} must be <= {high}, got {value}")
    return value


def moore_shifts(grid: torch.Tensor, radius: int = 1, include_center: bool = False):
    """Yield (dy, dx, shifted) for the torus neighbourhood of ``grid`` (..., H, W), in a fixed order."""
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dy == 0 and dx == 0 and not include_center:
                continue
            yield dy, dx, torch.roll(grid, shifts=(-dy, -dx), dims=(-2, -1))


def counter_uniform(keys: torch.Tensor, positions: torch.Tensor, t: int, stream: int = 0) -> torch.Tensor:
    """Counter-based uniforms in (0, 1), float64, of the broadcast shape of ``keys`` and ``positions``.

    A pure integer hash of (key, position, step, stream): identical on every device and for any batch
    layout, unlike a stateful generator. 53 random bits per value.
    """
    x = keys.to(torch.int64) * _GOLDEN + positions.to(torch.int64) * _M1
    x = x + _wrap(t * HASH_STEP + stream * HASH_STREAM)
    for _ in range(2):  # splitmix64 finaliser, twice (int64 arithmetic wraps identically everywhere)
        x = x ^ _srl(x, 30)
        x = x * _M1
        x = x ^ _srl(x, 27)
        x = x * _M2
        x = x ^ _srl(x, 31)
    return (_srl(x, 11).to(torch.float64) + 0.5) / float(1 << 53)


def hash_uniform(keys: torch.Tensor, t: int, shape: tuple[int, ...], stream: int = 0) -> torch.Tensor:
    """Uniforms of shape (batch, *shape) for a batch of ``keys`` (see :func:`counter_uniform`)."""
    n = int(np.prod(shape))
    pos = torch.arange(n, device=keys.device, dtype=torch.int64)
    return counter_uniform(keys[:, None], pos[None, :], t, stream).reshape(keys.shape[0], *shape)


def _srl(x: torch.Tensor, n: int) -> torch.Tensor:
    """Logical right shift of int64 (torch's >> is arithmetic)."""
    return (x >> n) & ((1 << (64 - n)) - 1)


def _wrap(value: int) -> int:
    """An unsigned 64-bit constant as the signed int64 with the same bits."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


# counter_uniform's constants (unsigned 64-bit; the CPU kernel of nca_core.rules.neural_cpu uses them too)
HASH_GOLDEN, HASH_M1, HASH_M2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB  # splitmix64
HASH_STEP, HASH_STREAM = 0x94D049BB133111EB, 0x2545F4914F6CDD1D
_GOLDEN, _M1, _M2 = _wrap(HASH_GOLDEN), _wrap(HASH_M1), _wrap(HASH_M2)
