"""qwen-tokens path on a tiny stand-in base model: tokens added, rows mean-initialised, LoRA + new rows trained."""

import json
from pathlib import Path

import numpy as np
import torch

from training.pretrain import main

WORDS = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "far", "0", "1", "2", "3", "\n"]


def _base_checkpoint(path: Path) -> int:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast, Qwen2Config

    vocab = {w: i for i, w in enumerate(["<|endoftext|>", "<unk>", *WORDS])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                                  unk_token="<unk>")
    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=True,
                      eos_token_id=0, pad_token_id=0)
    AutoModelForCausalLM.from_config(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return len(tok)


def test_qwen_tokens_lora_trains_new_rows_only(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.data import write_sample_folder

    data = write_sample_folder(tmp_path / "data", "tiny", 16, candidates_per_round=64)
    base = tmp_path / "base"
    base_len = _base_checkpoint(base)
    out = Path(main(["--config", "qwen-tokens", "--model_name_or_path", str(base), "--dataset_name", str(data),
                     "--dtype", "float32", "--use_peft", "true", "--lora_r", "4", "--lora_alpha", "8",
                     "--max_steps", "4", "--per_device_train_batch_size", "2", "--dataloader_num_workers", "0", "--learning_rate", "1e-2",
                     "--warmup_steps", "0", "--pad_vocab_to_multiple_of", "1", "--save_strategy", "no",
                     "--logging_steps", "1", "--disable_tqdm", "true", "--output_dir", str(tmp_path / "run")]))
    enc = json.loads((out / "nca_encoding.json").read_text())
    assert enc["token_offset"] == base_len and enc["encoding"] == "patch"
    assert (out / "adapter_config.json").is_file()
    n_new = 4**4 + 2
    tok = AutoTokenizer.from_pretrained(out / "merged")
    assert len(tok) == base_len + n_new
    assert tok("the cat sat")["input_ids"] == AutoTokenizer.from_pretrained(base)("the cat sat")["input_ids"]
    merged = AutoModelForCausalLM.from_pretrained(out / "merged").get_input_embeddings().weight.detach()
    original = AutoModelForCausalLM.from_pretrained(base).get_input_embeddings().weight.detach()
    assert merged.shape[0] == base_len + n_new
    torch.testing.assert_close(merged[:base_len], original)  # old rows untouched by LoRA
    mean = original.mean(0)
    new_rows = merged[base_len:]
    moved = (new_rows - mean).abs().amax(dim=1)
    assert float(moved.max()) > 1e-3  # new rows were trained away from their mean initialisation
    untouched = int((moved < 1e-7).sum())
    assert untouched < n_new  # at least the rows seen in the data moved
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["r"] == 4 and "q_proj" in cfg["target_modules"]


def test_text_encoding_rows_follow_the_text_layout():
    from nca_core.tokens import PatchTokenizer, TextEncoding
    from training.data import IGNORE, RowEncoder
    from training.tokenization import qwen_tokenizer

    tok = qwen_tokenizer()
    pt = PatchTokenizer(4, 2, 8, 8)
    frames = np.random.default_rng(0).integers(0, 4, (3, 8, 8))
    ids = pt.encode(frames).tolist()
    row = RowEncoder(pt, "text", mask_first_frame=True, tokenizer=tok)({"input_ids": ids})
    assert tok.decode(row["input_ids"]) == TextEncoding(4).encode(frames)
    assert row["input_ids"] == tok(TextEncoding(4).encode(frames))["input_ids"]
    first = len(tok(TextEncoding(4).encode(frames[:1]))["input_ids"])
    assert all(x == IGNORE for x in row["labels"][:first]) and row["labels"][first:] == row["input_ids"][first:]
