"""Two real CPU processes (gloo) train one model: both ranks run, on different data."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_two_processes_train_one_model(tmp_path):
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent)) or "accelerate"
    from training.data import write_sample_folder

    data = write_sample_folder(tmp_path / "data", "tiny", 32, candidates_per_round=64)
    out = tmp_path / "ddp"
    cmd = [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29517",
           str(ROOT / "training" / "pretrain.py"), "--config", "tiny-cpu", "--dataset_name", str(data), "--use_cpu", "true",
           "--max_steps", "3", "--per_device_train_batch_size", "2", "--hidden_size", "32",
           "--intermediate_size", "64", "--num_hidden_layers", "1", "--num_attention_heads", "2",
           "--num_key_value_heads", "2", "--save_strategy", "no", "--disable_tqdm", "true",
           "--output_dir", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((out / "run_info" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["rank"] for r in ranks] == [0, 1]
    assert all(r["world_size"] == 2 and r["steps"] == 3 and r["examples"] >= 6 for r in ranks)
    assert ranks[0]["first_batch_sha"] != ranks[1]["first_batch_sha"]  # the stream is split, not duplicated
    assert (out / "model.safetensors").is_file() and (out / "nca_encoding.json").is_file()
    assert "2 process(es)" in (out / "README.md").read_text()
