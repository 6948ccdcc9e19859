"""Materialise a dataset folder in the layout the Hub serves (``nca generate``).

    DIR/README.md                          dataset card: YAML configs + features, how it was made, label stats
    DIR/manifest.json                      counts, filter counts, sha256 of every shard
    DIR/data/<split>-00000-of-00012.parquet
    DIR/images/labels.png                  label distributions
    DIR/.nca/                              resume state: dataset identity, one record + hash list per done shard

Shards are the work units of :mod:`dataset_builder.generate`: each is a pure function of (config, split,
index), written atomically (temporary file + ``os.replace``) and recorded in ``.nca/done/`` only once
complete, so a run killed at any moment (even SIGKILL) resumes with the same command. The output does not
depend on ``num_proc``; ``shard_index/num_shards`` hands every M-th shard to one machine. When all shards
exist, a final pass in shard order makes rows unique across the whole dataset (a shard holding a row of
an earlier shard is regenerated without it), then writes the manifest and card.
"""

from __future__ import annotations

import errno
import glob
import hashlib
import json
import multiprocessing as mp
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .configs import SPLITS, NCADataConfig
from .generate import FILTER_COUNTERS, generate_shard, shard_sizes
from .schema import rows_to_table

FORMAT_VERSION = 1
STATE = ".nca"


class MaterialiseError(ValueError):
    """A problem the user can fix; the message says how."""


@dataclass(frozen=True)
class Unit:
    split: str
    index: int
    count: int  # shards in the split
    size: int

    @property
    def name(self) -> str:
        return f"{self.split}-{self.index:05d}"

    @property
    def path(self) -> str:
        return f"data/{self.split}-{self.index:05d}-of-{self.count:05d}.parquet"


def plan_units(config: NCADataConfig, sizes: dict[str, int]) -> list[Unit]:
    units = []
    for split in SPLITS:
        per = shard_sizes(sizes.get(split, 0), config.shard_size)
        units.extend(Unit(split, i, len(per), s) for i, s in enumerate(per))
    return units


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` then rename onto ``path``; a full disk raises :class:`MaterialiseError`, keeping ``path``.

    A temporary file that a killed run on this machine left for the same ``path`` is removed first, so a
    resumed run leaves none (files of live processes, or of other machines sharing the folder, are kept).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}.tmp-{socket.gethostname()}-"
    tmp = path.with_name(f"{prefix}{os.getpid()}")
    for stale in path.parent.glob(glob.escape(prefix) + "*"):  # left by a killed run on this machine
        pid = stale.name[len(prefix):]
        if pid.isdigit() and not _alive(int(pid)):
            stale.unlink(missing_ok=True)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise MaterialiseError(f"the disk is full while writing {path}: free some space (or choose another "
                                   "--out) and rerun the same command; every finished shard is kept") from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OverflowError:
        return False
    return True


def write_json(path: Path, data: Any) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n"))


def write_parquet(table, path: Path) -> None:
    import pyarrow.parquet as pq

    atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd", row_group_size=1000,
                                                  write_statistics=False))


# ---------------------------------------------------------------------------------------------- identity
def identity(config: NCADataConfig, sizes: dict[str, int]) -> dict[str, Any]:
    return {"format": FORMAT_VERSION, "config": config.to_dict(), "fingerprint": config.fingerprint(),
            "sizes": {s: int(sizes.get(s, 0)) for s in SPLITS}}


def check_identity(out: Path, ident: dict[str, Any]) -> None:
    """Create ``out`` for this dataset, or make sure it already holds the same one."""
    record = out / STATE / "dataset.json"
    if record.exists():
        old = json.loads(record.read_text())
        if old.get("fingerprint") != ident["fingerprint"] or old.get("sizes") != ident["sizes"]:
            diffs = [f"{k}: {old['config'].get(k)!r} there vs {v!r} now" for k, v in ident["config"].items()
                     if k not in ("name", "description") and old.get("config", {}).get(k) != v]
            if old.get("sizes") != ident["sizes"]:
                diffs.append(f"sizes: {old.get('sizes')} there vs {ident['sizes']} now")
            raise MaterialiseError(f"{out} holds a different dataset ({'; '.join(diffs)}): choose another --out, "
                                   "or delete that folder to start over")
        return
    if out.exists() and any(p.name != STATE for p in out.iterdir()):
        raise MaterialiseError(f"{out} is not empty and holds no NCA dataset: choose an empty or new --out folder")
    write_json(record, ident)


# ---------------------------------------------------------------------------------------------- shards
def done_record_path(out: Path, unit: Unit) -> Path:
    return out / STATE / "done" / f"{unit.name}.json"


def hashes_path(out: Path, unit: Unit) -> Path:
    return out / STATE / "hashes" / f"{unit.name}.npy"


def shard_status(out: Path, unit: Unit, verify: bool = True) -> str:
    """"done", "missing" (not finished: generate it) or "corrupt" (finished once, file damaged since)."""
    rec_path = done_record_path(out, unit)
    if not rec_path.exists():
        return "missing"
    try:
        rec = json.loads(rec_path.read_text())
    except json.JSONDecodeError:
        return "corrupt"
    data, hashes = out / unit.path, hashes_path(out, unit)
    if not data.exists() or not hashes.exists():
        return "corrupt"
    if verify and (sha256_file(data) != rec.get("sha256") or sha256_file(hashes) != rec.get("hashes_sha256")):
        return "corrupt"
    return "done"


def build_shard(out: Path, config: NCADataConfig, unit: Unit, device: str, exclude=frozenset()) -> dict[str, Any]:
    """Generate one shard and write it (hashes, parquet, then the done record — each atomically)."""
    rows, stats = generate_shard(config, unit.split, unit.index, unit.size, exclude=exclude, device=device)
    table = rows_to_table(rows)
    hashes = np.array([bytes.fromhex(r["content_hash"]) for r in rows], dtype="S16")
    hpath = hashes_path(out, unit)
    atomic_write(hpath, lambda tmp: _save_npy(tmp, hashes))
    data = out / unit.path
    write_parquet(table, data)
    record = {"split": unit.split, "index": unit.index, "path": unit.path, "rows": len(rows),
              "sha256": sha256_file(data), "bytes": data.stat().st_size, "hashes_sha256": sha256_file(hpath),
              "filters": stats}
    write_json(done_record_path(out, unit), record)
    return record


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, array, allow_pickle=False)


def _worker(args: tuple) -> tuple[str, dict]:
    out, config, unit, device, threads = args
    import torch

    torch.set_num_threads(threads)
    return unit.name, build_shard(Path(out), config, unit, device)


# ---------------------------------------------------------------------------------------------- main entry
def materialise(config: NCADataConfig, out: str | Path, num_sequences: int, *, num_validation: int = 0,
                num_test: int = 0, num_proc: int = 1, shard_index: int = 0, num_shards: int = 1,
                device: str = "auto", repair: bool = False, command: str | None = None,
                progress: bool = True) -> dict[str, Any]:
    """Write (or resume) the dataset folder ``out``; returns the manifest once complete, else a status dict."""
    from tqdm.auto import tqdm

    if num_sequences < 1:
        raise MaterialiseError(f"--num-sequences must be >= 1, got {num_sequences}")
    if num_shards < 1 or not 0 <= shard_index < num_shards:
        raise MaterialiseError(f"--shard-index must lie in [0, --num-shards), got {shard_index} of {num_shards}")
    if num_proc < 1:
        raise MaterialiseError(f"--num-proc must be >= 1, got {num_proc}")
    out = Path(out)
    sizes = {"train": num_sequences, "validation": num_validation, "test": num_test}
    check_identity(out, identity(config, sizes))
    units = plan_units(config, sizes)
    mine = [u for i, u in enumerate(units) if i % num_shards == shard_index]
    todo = []
    for unit in mine:
        status = shard_status(out, unit)
        if status == "corrupt" and not repair:
            raise MaterialiseError(f"shard {unit.path} in {out} is corrupt (its checksum does not match "
                                   f"{done_record_path(out, unit).relative_to(out)}): rerun with --repair to "
                                   "regenerate it (other shards are kept), or restore the file")
        if status != "done":
            todo.append(unit)
    t0 = time.time()
    rows_done = 0
    if todo:
        bar = tqdm(total=sum(u.size for u in todo), unit="seq", desc=f"generate {out.name}", disable=not progress)
        if num_proc == 1 or len(todo) == 1:
            for unit in todo:
                rec = build_shard(out, config, unit, device)
                rows_done += rec["rows"]
                bar.update(rec["rows"])
        else:
            threads = max(1, (os.cpu_count() or 1) // num_proc)
            ctx = mp.get_context("spawn")
            with ctx.Pool(min(num_proc, len(todo))) as pool:
                jobs = [(str(out), config, u, device, threads) for u in todo]
                for _, rec in pool.imap_unordered(_worker, jobs):
                    rows_done += rec["rows"]
                    bar.update(rec["rows"])
        bar.close()
    elapsed = time.time() - t0
    missing = [u for u in units if shard_status(out, u, verify=False) != "done"]
    if missing:
        return {"complete": False, "missing_shards": len(missing), "total_shards": len(units),
                "generated_rows": rows_done, "seconds": elapsed}
    manifest = finalise(out, config, units, device, command=command)
    manifest["generated_rows_this_run"] = rows_done
    manifest["seconds_this_run"] = elapsed
    return manifest


def finalise(out: Path, config: NCADataConfig, units: list[Unit], device: str,
             command: str | None = None) -> dict[str, Any]:
    """Global uniqueness in shard order, then manifest.json and README.md (idempotent)."""
    from .card import write_card

    seen: set[bytes] = set()
    records = []
    for unit in units:
        hashes = np.load(hashes_path(out, unit), allow_pickle=False)
        clash = [h for h in hashes.tolist() if h in seen]
        if clash:
            rec = json.loads(done_record_path(out, unit).read_text())
            print(f"shard {unit.path}: {len(clash)} row(s) repeat earlier shards; regenerating it without them",
                  file=sys.stderr)
            exclude = {h.hex() for h in seen}
            rec = build_shard(out, config, unit, device, exclude=exclude)
            rec["regenerated_for_uniqueness"] = True
            write_json(done_record_path(out, unit), rec)
            hashes = np.load(hashes_path(out, unit), allow_pickle=False)
        seen.update(hashes.tolist())
        records.append(json.loads(done_record_path(out, unit).read_text()))
    filters: dict[str, dict[str, int]] = {}
    splits: dict[str, dict[str, int]] = {}
    for rec in records:
        f = filters.setdefault(rec["split"], dict.fromkeys(FILTER_COUNTERS, 0))
        for k, v in rec["filters"].items():
            f[k] = f.get(k, 0) + v
        s = splits.setdefault(rec["split"], {"num_rows": 0, "num_shards": 0, "num_bytes": 0})
        s["num_rows"] += rec["rows"]
        s["num_shards"] += 1
        s["num_bytes"] += rec["bytes"]
    manifest = {
        "format": FORMAT_VERSION, "config_name": config.name, "config": config.to_dict(),
        "fingerprint": config.fingerprint(), "splits": splits, "filters": filters,
        "unique_rows": len(seen), "total_rows": sum(s["num_rows"] for s in splits.values()),
        "files": [{"path": r["path"], "rows": r["rows"], "bytes": r["bytes"], "sha256": r["sha256"]} for r in records],
        "command": command,
    }
    if manifest["unique_rows"] != manifest["total_rows"]:
        raise MaterialiseError(f"internal error: {manifest['total_rows']} rows but {manifest['unique_rows']} unique")
    write_card(out, config, manifest)
    write_json(out / "manifest.json", manifest)
    return manifest


def verify_folder(out: str | Path) -> list[str]:
    """Problems found in a finished folder (empty when every shard matches the manifest)."""
    out = Path(out)
    manifest = json.loads((out / "manifest.json").read_text())
    problems = []
    for f in manifest["files"]:
        path = out / f["path"]
        if not path.exists():
            problems.append(f"{f['path']}: missing")
        elif sha256_file(path) != f["sha256"]:
            problems.append(f"{f['path']}: checksum mismatch")
    return problems
