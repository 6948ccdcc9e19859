"""training/transfer.py: embedding + head replaced, blocks kept, ablation re-init, output trains on text."""

from __future__ import annotations

import json

import pytest
import torch

transformers = pytest.importorskip("transformers")

from training import transfer as tr  # noqa: E402


def _tiny_llama(vocab: int, tied: bool = False, seed: int = 0):
    torch.manual_seed(seed)
    cfg = transformers.LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                   num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64,
                                   tie_word_embeddings=tied)
    return transformers.LlamaForCausalLM(cfg)


@pytest.fixture(scope="module")
def text_tokenizer(tmp_path_factory):
    from training.corpus import train_tokenizer

    texts = ["def add(a, b):\n    return a + b\n", "class Point:\n    def __init__(self, x):\n        self.x = x\n"] * 20
    tok = train_tokenizer(texts, 300)
    path = tmp_path_factory.mktemp("tok")
    tok.save_pretrained(str(path))
    return tok, path


def _blocks_equal(a, b) -> bool:
    sa, sb = a.model.layers.state_dict(), b.model.layers.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa)


def test_cli_output_keeps_blocks_and_trains_on_text(tmp_path, text_tokenizer):
    tok, tok_dir = text_tokenizer
    source = _tiny_llama(vocab=38)  # an NCA-sized vocabulary (e.g. 2-state 2×2 patches + delimiters)
    # make the blocks non-trivial so "kept" is distinguishable from a fresh init
    with torch.no_grad():
        for p in source.model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    ckpt = tmp_path / "stage1"
    source.save_pretrained(str(ckpt))
    (ckpt / "nca_encoding.json").write_text(json.dumps({"encoding": "patch", "n_states": 2}))
    out = tmp_path / "stage2"
    assert tr.main(["--checkpoint", str(ckpt), "--tokenizer", str(tok_dir), "--output_dir", str(out)]) == 0

    model = transformers.AutoModelForCausalLM.from_pretrained(str(out))
    loaded_tok = transformers.AutoTokenizer.from_pretrained(str(out))
    assert model.get_input_embeddings().weight.shape == (len(tok), 32)
    assert model.get_output_embeddings().weight.shape == (len(tok), 32)
    assert model.config.vocab_size == len(tok) == len(loaded_tok)
    assert _blocks_equal(model, source)
    assert torch.equal(model.model.norm.weight, source.model.norm.weight)
    record = json.loads((out / "transfer.json").read_text())
    assert record["source_vocab_size"] == 38 and record["vocab_size"] == len(tok)
    assert record["source_encoding"]["encoding"] == "patch"

    ids = torch.tensor([loaded_tok("def add(a, b):\n    return a + b\nclass Point:\n")["input_ids"]] * 4)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(12):
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.5


def test_reinit_chosen_parts_of_chosen_layers():
    model = _tiny_llama(vocab=20)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    tr.transfer_model(model, 50, reinit=["attention"], layers=[0], seed=3)
    after = model.state_dict()
    assert not torch.equal(after["model.layers.0.self_attn.q_proj.weight"], before["model.layers.0.self_attn.q_proj.weight"])
    assert torch.equal(after["model.layers.1.self_attn.q_proj.weight"], before["model.layers.1.self_attn.q_proj.weight"])
    assert torch.equal(after["model.layers.0.mlp.up_proj.weight"], before["model.layers.0.mlp.up_proj.weight"])
    assert torch.equal(after["model.norm.weight"], before["model.norm.weight"])
    std = after["model.layers.0.self_attn.q_proj.weight"].std().item()
    assert abs(std - model.config.initializer_range) < 0.005

    model2 = _tiny_llama(vocab=20)
    with torch.no_grad():
        model2.model.layers[1].input_layernorm.weight.fill_(3.0)
    tr.transfer_model(model2, 50, reinit="mlp,norms", layers="-1")
    assert torch.all(model2.model.layers[1].input_layernorm.weight == 1.0)
    assert not torch.equal(model2.model.layers[1].mlp.up_proj.weight, before["model.layers.1.mlp.up_proj.weight"])


def test_template_gives_identical_initialisation_and_is_seeded():
    template = _tiny_llama(vocab=50, seed=1)
    model = _tiny_llama(vocab=20, seed=2)
    tr.transfer_model(model, 50, reinit=["mlp"], template=template)
    assert torch.equal(model.get_input_embeddings().weight, template.get_input_embeddings().weight)
    assert torch.equal(model.get_output_embeddings().weight, template.get_output_embeddings().weight)
    assert torch.equal(model.model.layers[0].mlp.down_proj.weight, template.model.layers[0].mlp.down_proj.weight)
    assert not torch.equal(model.model.layers[0].self_attn.q_proj.weight, template.model.layers[0].self_attn.q_proj.weight)

    a = tr.transfer_model(_tiny_llama(vocab=20), 40, seed=5)
    b = tr.transfer_model(_tiny_llama(vocab=20), 40, seed=5)
    c = tr.transfer_model(_tiny_llama(vocab=20), 40, seed=6)
    assert torch.equal(a.get_input_embeddings().weight, b.get_input_embeddings().weight)
    assert not torch.equal(a.get_input_embeddings().weight, c.get_input_embeddings().weight)


def test_tied_embeddings_stay_tied(tmp_path, text_tokenizer):
    tok, tok_dir = text_tokenizer
    torch.manual_seed(0)
    cfg = transformers.Qwen2Config(vocab_size=30, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                   num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=True)
    source = transformers.Qwen2ForCausalLM(cfg)
    source.save_pretrained(str(tmp_path / "src"))
    tr.transfer(tmp_path / "src", tok_dir, tmp_path / "out", reinit="attention", layers="1")
    model = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path / "out"))
    assert model.get_output_embeddings().weight.shape == (len(tok), 32)
    assert model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    assert torch.equal(model.model.layers[0].self_attn.q_proj.weight, source.model.layers[0].self_attn.q_proj.weight)


def test_bad_input_is_reported(tmp_path, text_tokenizer, capsys):
    _, tok_dir = text_tokenizer
    model = _tiny_llama(vocab=20)
    with pytest.raises(ValueError, match="unknown part"):
        tr.transfer_model(model, 30, reinit=["embeddings"])
    with pytest.raises(ValueError, match="layer 5 does not exist"):
        tr.transfer_model(model, 30, reinit=["mlp"], layers=[5])
    assert tr.main(["--checkpoint", str(tmp_path / "missing"), "--tokenizer", str(tok_dir),
                    "--output_dir", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
