"""An offline, real language corpus for the transfer study: the Python standard library.

- **Code** (the target language): every ``.py`` file of the running interpreter's standard library
  (``sysconfig.get_paths()["stdlib"]``), without ``site-packages``, test suites, ``idlelib`` and
  ``pydoc_data``, in sorted path order. Split *by top-level module* (``email.mime.text`` → ``email``) so no
  package straddles train and validation: a module group goes to validation when the first 8 bytes of
  sha256(name) read as a fraction fall below ``validation_fraction``.
- **English** (the text pre-pre-training baseline, a different source than the target, as C4 is for
  code in the paper): the Python reference manual's topic texts that CPython ships in
  ``pydoc_data/topics.py``, sorted by topic.
- **Tokenizer**: byte-level BPE (``tokenizers``) trained on the code train split, ``<|endoftext|>`` as
  the only special token (eos, bos and pad), wrapped as a ``PreTrainedTokenizerFast``.

Everything is deterministic and cached under ``~/.cache/nca-study`` (or ``cache_dir``), keyed by the
Python version, the settings and the file list.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import sys
import sysconfig
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

EOS = "<|endoftext|>"
EXCLUDED_DIRS = {"site-packages", "dist-packages", "test", "tests", "idle_test", "idlelib", "pydoc_data",
                 "__pycache__", "__phello__"}


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_modules(root: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """(dotted module name, path) of every standard-library source file, sorted by path."""
    root = Path(root) if root is not None else stdlib_root()
    if not root.is_dir():
        raise FileNotFoundError(f"standard library folder {root} not found")
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if any(part in EXCLUDED_DIRS for part in rel.parts[:-1]) or rel.name.startswith("test_"):
            continue
        name = ".".join(rel.with_suffix("").parts)
        out.append((name.removesuffix(".__init__"), path))
    if not out:
        raise FileNotFoundError(f"no .py files under {root}")
    return out


def is_validation(module: str, validation_fraction: float) -> bool:
    """Whether ``module``'s top-level group belongs to the validation split (stable hash)."""
    group = module.split(".")[0]
    digest = hashlib.sha256(group.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < validation_fraction


def split_modules(modules: list[tuple[str, Path]], validation_fraction: float = 0.1
                  ) -> tuple[list[tuple[str, Path]], list[tuple[str, Path]]]:
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must lie in (0, 1), got {validation_fraction}")
    train = [m for m in modules if not is_validation(m[0], validation_fraction)]
    val = [m for m in modules if is_validation(m[0], validation_fraction)]
    if not train or not val:
        raise ValueError("the module split left one side empty: change validation_fraction")
    return train, val


def read_source(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def english_texts(root: str | os.PathLike | None = None) -> list[str]:
    """The reference manual's topic texts from ``pydoc_data/topics.py`` (sorted by topic name)."""
    root = Path(root) if root is not None else stdlib_root()
    path = root / "pydoc_data" / "topics.py"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: this Python ships no pydoc topics for the English baseline")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "topics" for t in node.targets):
            topics = ast.literal_eval(node.value)
            return [topics[k] for k in sorted(topics)]
    raise ValueError(f"{path} holds no `topics = {{...}}` dict")


def take_bytes(texts: list[str], max_bytes: int | None) -> list[str]:
    """The first ``max_bytes`` bytes of ``texts`` in order (the last text cut at a line end); all when None."""
    if max_bytes is None:
        return texts
    out, total = [], 0
    for text in texts:
        size = len(text.encode("utf-8"))
        if total + size > max_bytes:
            room = max_bytes - total
            cut = text.encode("utf-8")[:room].decode("utf-8", errors="ignore")
            cut = cut[: cut.rfind("\n") + 1] or cut
            if cut:
                out.append(cut)
            break
        out.append(text)
        total += size
    return out


def train_tokenizer(texts: list[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """Byte-level BPE with ``vocab_size`` tokens (256 bytes + merges + ``<|endoftext|>``)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if vocab_size < 260:
        raise ValueError(f"vocab_size {vocab_size} is too small for byte-level BPE: use at least 260")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, bos_token=EOS, pad_token=EOS,
                                   model_max_length=1_000_000)


def encode_stream(tokenizer: PreTrainedTokenizerFast, texts: list[str]) -> np.ndarray:
    """Concatenated token ids of ``texts``, each followed by EOS (int32)."""
    eos = tokenizer.eos_token_id
    pieces = []
    for enc in tokenizer.backend_tokenizer.encode_batch(texts):
        pieces.append(np.asarray(enc.ids, dtype=np.int32))
        pieces.append(np.asarray([eos], dtype=np.int32))
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)


def chunk(ids: np.ndarray, seq_len: int) -> np.ndarray:
    """Non-overlapping (N, seq_len) blocks of a token stream (the tail is dropped)."""
    n = len(ids) // seq_len
    if n == 0:
        raise ValueError(f"a stream of {len(ids)} tokens holds no {seq_len}-token sequence: use more data or a "
                         "shorter seq_len")
    return ids[: n * seq_len].reshape(n, seq_len)


@dataclass
class CorpusStats:
    python: str
    train_modules: int
    validation_modules: int
    train_bytes: int
    validation_bytes: int
    english_bytes: int
    train_tokens: int
    validation_tokens: int
    english_tokens: int
    vocab_size: int
    validation_groups: list[str] = field(default_factory=list)


@dataclass
class LanguageCorpus:
    """Token streams of the code train / validation splits and of the English baseline text."""

    tokenizer: PreTrainedTokenizerFast
    train_ids: np.ndarray
    validation_ids: np.ndarray
    english_ids: np.ndarray
    stats: CorpusStats
    tokenizer_dir: Path

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)


def default_cache_dir() -> Path:
    return Path(os.environ.get("NCA_STUDY_CACHE", Path.home() / ".cache" / "nca-study"))


def load_corpus(vocab_size: int = 2048, validation_fraction: float = 0.1, max_train_bytes: int | None = None,
                max_validation_bytes: int | None = None, max_english_bytes: int | None = None,
                cache_dir: str | os.PathLike | None = None, root: str | os.PathLike | None = None
                ) -> LanguageCorpus:
    """Build (or load from cache) the tokenizer and the three token streams."""
    from transformers import PreTrainedTokenizerFast

    modules = stdlib_modules(root)
    train_mods, val_mods = split_modules(modules, validation_fraction)
    settings = {"python": sys.version.split()[0], "vocab_size": vocab_size, "validation_fraction": validation_fraction,
                "max_train_bytes": max_train_bytes, "max_validation_bytes": max_validation_bytes,
                "max_english_bytes": max_english_bytes, "files": [str(p) for _, p in modules], "version": 2}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    folder = folder / f"corpus-{key}"
    tok_dir = folder / "tokenizer"
    arrays = folder / "streams.npz"
    stats_file = folder / "stats.json"
    if arrays.exists() and stats_file.exists() and tok_dir.exists():
        tok = PreTrainedTokenizerFast.from_pretrained(str(tok_dir))
        data = np.load(arrays)
        stats = CorpusStats(**json.loads(stats_file.read_text()))
        return LanguageCorpus(tok, data["train"], data["validation"], data["english"], stats, tok_dir)

    train_texts = take_bytes([read_source(p) for _, p in train_mods], max_train_bytes)
    val_texts = take_bytes([read_source(p) for _, p in val_mods], max_validation_bytes)
    english = take_bytes(english_texts(root), max_english_bytes)
    tok = train_tokenizer(train_texts, vocab_size)
    streams = {name: encode_stream(tok, texts)
               for name, texts in (("train", train_texts), ("validation", val_texts), ("english", english))}
    stats = CorpusStats(
        python=settings["python"], train_modules=len(train_texts), validation_modules=len(val_texts),
        train_bytes=sum(len(t.encode()) for t in train_texts), validation_bytes=sum(len(t.encode()) for t in val_texts),
        english_bytes=sum(len(t.encode()) for t in english), train_tokens=len(streams["train"]),
        validation_tokens=len(streams["validation"]), english_tokens=len(streams["english"]), vocab_size=len(tok),
        validation_groups=sorted({m.split(".")[0] for m, _ in val_mods}))
    folder.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(str(tok_dir))
    tmp = folder / "streams.tmp.npz"
    np.savez(tmp, **streams)
    os.replace(tmp, arrays)
    stats_file.write_text(json.dumps(asdict(stats), indent=2) + "\n")
    return LanguageCorpus(tok, streams["train"], streams["validation"], streams["english"], stats, tok_dir)


def export(out_dir: str | os.PathLike, vocab_size: int = 2048, validation_fraction: float = 0.1,
           cache_dir: str | os.PathLike | None = None) -> Path:
    """Write the language tokenizer (``tokenizer/``) and the code splits as JSON lines with a ``text`` column
    (``train.jsonl``, ``validation.jsonl``; one source file per line), e.g. for
    ``python -m training.transfer --tokenizer OUT/tokenizer`` and a text dataset of the language stage."""
    out = Path(out_dir)
    corpus = load_corpus(vocab_size=vocab_size, validation_fraction=validation_fraction, cache_dir=cache_dir)
    out.mkdir(parents=True, exist_ok=True)
    corpus.tokenizer.save_pretrained(str(out / "tokenizer"))
    train, val = split_modules(stdlib_modules(), validation_fraction)
    for name, mods in (("train", train), ("validation", val)):
        with open(out / f"{name}.jsonl", "w", encoding="utf-8") as fh:
            for module, path in mods:
                fh.write(json.dumps({"module": module, "text": read_source(path)}) + "\n")
    (out / "stats.json").write_text(json.dumps(asdict(corpus.stats), indent=2) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m training.corpus",
                                     description="Export the offline standard-library corpus and its BPE tokenizer.")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--vocab_size", type=int, default=2048)
    parser.add_argument("--validation_fraction", type=float, default=0.1)
    parser.add_argument("--cache_dir", default=None)
    args = parser.parse_args(argv)
    out = export(args.out, args.vocab_size, args.validation_fraction, args.cache_dir)
    print(f"wrote {out}/tokenizer, train.jsonl, validation.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
