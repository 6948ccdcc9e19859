"""Tokenisation of trajectories: patch tokens (the reference layout) and a text encoding.

Patch tokens: non-overlapping p×p patches, row-major over the patch grid; a patch with cells c_0..c_{p²-1}
(row-major inside the patch) has id Σ c_k·n^k, so there are n^(p²) patch ids (10,000 for n = 10, p = 2).
A frame is [frame_start] + patch ids + [frame_end]; the reference uses 10000 / 10001 and cuts the
27-frame, 1,026-token trajectory to 1,024 tokens.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

MAX_VOCAB = 2**31 - 3  # ids must fit int32 (the reference serialises them as int32)


@dataclass(frozen=True)
class PatchTokenizer:
    """Frames (…, T, H, W) of states 0..n_states-1 ↔ token ids (…, T·(2 + H·W/p²))."""

    n_states: int = 10
    patch: int = 2
    height: int = 12
    width: int = 12

    def __post_init__(self) -> None:
        if self.n_states < 2:
            raise ValueError(f"n_states must be >= 2, got {self.n_states}")
        if self.patch < 1:
            raise ValueError(f"patch size must be >= 1, got {self.patch}")
        for side in ("height", "width"):
            size = getattr(self, side)
            if size <= 0:
                raise ValueError(f"grid {side} must be positive, got {size}")
            if size % self.patch:
                raise ValueError(f"grid {side} {size} is not divisible by patch size {self.patch}: "
                                 f"choose a {side} that is a multiple of {self.patch} or another patch size")
        if self.n_states ** (self.patch**2) > MAX_VOCAB:
            raise ValueError(f"{self.n_states} states with {self.patch}×{self.patch} patches need "
                             f"{self.n_states}^{self.patch**2} ids, more than int32 holds: use fewer states or a smaller patch")

    @property
    def num_patch_ids(self) -> int:
        return self.n_states ** (self.patch**2)

    @property
    def frame_start(self) -> int:
        return self.num_patch_ids

    @property
    def frame_end(self) -> int:
        return self.num_patch_ids + 1

    @property
    def vocab_size(self) -> int:
        return self.num_patch_ids + 2

    @property
    def patches_per_frame(self) -> int:
        return (self.height // self.patch) * (self.width // self.patch)

    @property
    def tokens_per_frame(self) -> int:
        return self.patches_per_frame + 2

    def to_dict(self) -> dict:
        return asdict(self)

    def patch_ids(self, frames: torch.Tensor | np.ndarray) -> torch.Tensor:
        """(…, H, W) states → (…, patches) int64 patch ids, no delimiters."""
        x = torch.as_tensor(np.asarray(frames) if not isinstance(frames, torch.Tensor) else frames)
        p, n = self.patch, self.n_states
        *lead, h, w = x.shape
        if (h, w) != (self.height, self.width):
            raise ValueError(f"frames are {h}×{w} but the tokenizer is for {self.height}×{self.width} grids")
        # Σ cell_k·n^k over the patch, k row-major, summed over strided views (int32 while the ids fit)
        wide = torch.int32 if self.num_patch_ids < 2**31 else torch.int64
        ids = torch.zeros((*lead, h // p, w // p), dtype=wide, device=x.device)
        for k in range(p * p):
            ids += x[..., k // p :: p, k % p :: p].to(wide) * n**k
        return ids.reshape(*lead, -1).to(torch.int64)

    def encode(self, frames: torch.Tensor | np.ndarray, max_tokens: int | None = None) -> torch.Tensor:
        """(…, T, H, W) → (…, min(T·tokens_per_frame, max_tokens)) int64 ids with delimiters."""
        ids = self.patch_ids(frames)  # (…, T, P)
        lead = ids.shape[:-1]
        start = torch.full((*lead, 1), self.frame_start, dtype=torch.int64, device=ids.device)
        end = torch.full((*lead, 1), self.frame_end, dtype=torch.int64, device=ids.device)
        seq = torch.cat([start, ids, end], dim=-1).reshape(*ids.shape[:-2], -1)
        return seq if max_tokens is None else seq[..., :max_tokens]

    def decode(self, ids: torch.Tensor | np.ndarray | list[int], allow_partial: bool = False) -> torch.Tensor:
        """Token ids of one or more sequences (…, L) → frames (…, T, H, W) uint8.

        A trailing incomplete frame (e.g. of a 1,024-token cut) raises unless ``allow_partial``, which
        drops it. Ids out of place (a delimiter inside a frame, a patch id where a delimiter belongs)
        always raise."""
        x = torch.as_tensor(np.asarray(ids) if not isinstance(ids, torch.Tensor) else ids).to(torch.int64)
        per = self.tokens_per_frame
        whole = x.shape[-1] // per
        if x.shape[-1] % per and not allow_partial:
            raise ValueError(f"{x.shape[-1]} tokens is not a whole number of {per}-token frames "
                             "(pass allow_partial=True to drop the cut last frame)")
        x = x[..., : whole * per].reshape(*x.shape[:-1], whole, per)
        if bool((x[..., 0] != self.frame_start).any()) or bool((x[..., -1] != self.frame_end).any()):
            raise ValueError("token ids do not follow the frame layout [start, patches…, end]")
        body = x[..., 1:-1]
        if bool(((body < 0) | (body >= self.num_patch_ids)).any()):
            raise ValueError(f"patch ids must lie in [0, {self.num_patch_ids}); found a delimiter or out-of-range id inside a frame")
        return self.frames_from_patch_ids(body)

    def frames_from_patch_ids(self, ids: torch.Tensor) -> torch.Tensor:
        """(…, patches) patch ids → (…, H, W) uint8 states."""
        p, n = self.patch, self.n_states
        digits = torch.stack([(ids // n**k) % n for k in range(p * p)], dim=-1)  # (…, P, p²)
        hp, wp = self.height // p, self.width // p
        lead = ids.shape[:-1]
        grid = digits.reshape(*lead, hp, wp, p, p).movedim(-2, -3).reshape(*lead, self.height, self.width)
        return grid.to(torch.uint8)


REFERENCE = PatchTokenizer(10, 2, 12, 12)
REFERENCE_SEQ_LEN = 1024

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class TextEncoding:
    """Frames as text for models that keep their own tokenizer: one character per cell (0-9, then a-z),
    rows joined by newlines, frames separated by a blank line. Qwen's tokenizer splits digits one per token."""

    n_states: int = 10
    row_sep: str = "\n"
    frame_sep: str = "\n\n"

    def __post_init__(self) -> None:
        if not 2 <= self.n_states <= len(_DIGITS):
            raise ValueError(f"the text encoding covers 2..{len(_DIGITS)} states, got {self.n_states}")

    def encode(self, frames: torch.Tensor | np.ndarray) -> str:
        """(T, H, W) → text."""
        arr = np.asarray(frames.cpu() if isinstance(frames, torch.Tensor) else frames)
        if arr.ndim != 3:
            raise ValueError(f"text encoding takes one trajectory (T, H, W), got shape {arr.shape}")
        if arr.size and (arr.min() < 0 or arr.max() >= self.n_states):
            raise ValueError(f"states must lie in [0, {self.n_states})")
        table = np.array(list(_DIGITS[: self.n_states]))
        return self.frame_sep.join(self.row_sep.join("".join(row) for row in table[frame]) for frame in arr)

    def encode_frame(self, frame: torch.Tensor | np.ndarray) -> str:
        return self.encode(np.asarray(frame)[None])

    def decode(self, text: str) -> np.ndarray:
        """text → (T, H, W) uint8. Raises on ragged rows, unknown characters or frames of different sizes."""
        alphabet = {ch: i for i, ch in enumerate(_DIGITS[: self.n_states])}
        frames = []
        for block in text.strip("\n").split(self.frame_sep):
            rows = block.split(self.row_sep)
            try:
                frames.append([[alphabet[ch] for ch in row] for row in rows])
            except KeyError as err:
                raise ValueError(f"text frame holds {err.args[0]!r}, outside the alphabet "
                                 f"{_DIGITS[: self.n_states]!r}") from None
            if len({len(r) for r in rows}) != 1:
                raise ValueError("text frame has rows of different lengths")
        arr = np.array(frames, dtype=object)
        if arr.ndim != 3:
            raise ValueError("text frames have different sizes")
        return arr.astype(np.uint8)
