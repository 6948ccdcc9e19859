"""Tiny random checkpoints (Qwen3 architecture) in the layout ``nca train`` writes, for tests and benchmarks.

The weights are random: scores are near chance. What this checks is the plumbing: loading, the frame
layout, constrained decoding, likelihood scoring and the report."""

from __future__ import annotations

import json
from pathlib import Path

from nca_core.tokens import PatchTokenizer


def char_tokenizer():
    """A small text tokenizer: one token per cell character, ``\\n`` and ``\\n\\n`` as single tokens."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    chars = list("0123456789abcdefghijklmnopqrstuvwxyz")
    vocab = {c: i for i, c in enumerate(chars + ["\n", "\n\n", "<pad>", "<eos>", "<unk>"])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex(r"\n\n|\n|."), behavior="isolated")
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>",
                                   model_max_length=4096)


def make_tiny_model(out_dir: str | Path, encoding: str = "patch", n_states: int = 10, height: int = 12,
                    width: int = 12, patch: int = 2, hidden: int = 32, layers: int = 2, max_positions: int = 2048,
                    seed: int = 0) -> Path:
    """Save a random tiny Qwen3 causal LM + ``nca_encoding.json`` (+ tokenizer for text) to ``out_dir``."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if encoding == "patch":
        vocab = PatchTokenizer(n_states, patch, height, width).vocab_size
        tokenizer = None
    elif encoding == "text":
        tokenizer = char_tokenizer()
        vocab = len(tokenizer)
    else:
        raise ValueError(f"encoding must be 'patch' or 'text', got {encoding!r}")
    torch.manual_seed(seed)
    config = Qwen3Config(vocab_size=vocab, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                         num_attention_heads=2, num_key_value_heads=1, head_dim=hidden // 2,
                         max_position_embeddings=max_positions, tie_word_embeddings=True)
    Qwen3ForCausalLM(config).save_pretrained(out)
    if tokenizer is not None:
        tokenizer.save_pretrained(out)
    record = {"encoding": encoding, "n_states": n_states, "patch": patch, "height": height, "width": width,
              "token_offset": 0, "data_config": {}, "recipe": "random-tiny"}
    (out / "nca_encoding.json").write_text(json.dumps(record, indent=2) + "\n")
    return out
