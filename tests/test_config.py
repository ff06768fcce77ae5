import os
from pathlib import Path

import pytest

from openvsclosed.config import ApiModelSpec, ConfigError, LocalModelSpec, load_config

GOOD = """
name: demo
defaults: {num_fewshot: 0, limit: 10}
models:
  - smollm2-135m-instruct
  - {catalog: gpt-4o, id: gpt-4o-aug, api_model: gpt-4o-2024-08-06}
  - {id: my-local, backend: hf, model_args: {pretrained: /models/x}, batch_size: 4}
  - {id: local-server, backend: openai-compatible, access: open, api_model: m, base_url: "http://127.0.0.1:8000/v1"}
tasks:
  - arc_easy
  - {name: gsm8k, num_fewshot: 5, limit: 3, metric: "exact_match,flexible-extract"}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def error_for(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    message = str(info.value)
    assert message.startswith(str(tmp_path / "run.yaml"))
    assert "\n" not in message.strip()  # one paragraph
    return message


def test_good_config_resolves_catalog_entries_and_overrides(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    smol, gpt, local, server = cfg.models
    assert isinstance(smol, LocalModelSpec) and smol.access == "open"
    assert smol.model_args["gguf_file"].endswith(".gguf")
    assert isinstance(gpt, ApiModelSpec) and gpt.id == "gpt-4o-aug"
    assert gpt.api_key_env == "OPENAI_API_KEY" and gpt.openness == "closed"
    assert (gpt.input_per_m, gpt.output_per_m) == (2.5, 10.0)  # the catalog's dated price
    assert local.batch_size == 4 and local.access == "open"
    assert server.openness == "open"
    assert cfg.tasks[0].name == "arc_easy" and cfg.tasks[1].num_fewshot == 5
    assert cfg.results_path == Path("results/demo")
    assert cfg.defaults.seeds == (0, 1234, 1234, 1234)


def test_single_seed_sets_all_four(tmp_path):
    cfg = load_config(write(tmp_path, GOOD.replace("limit: 10}", "limit: 10, seed: 7}")))
    assert cfg.defaults.seeds == (7, 7, 7, 7)


@pytest.mark.parametrize(
    ("text", "key", "allowed"),
    [
        (GOOD.replace("defaults:", "defaultz:"), "defaultz", "allowed keys here: name"),
        (GOOD.replace("num_fewshot: 0,", "num_fewshot: zero,"), "defaults.num_fewshot",
         "valid integer"),
        (GOOD.replace("backend: hf", "backend: llamacpp"), "models[2]", "allowed: hf, vllm"),
        (GOOD.replace("- smollm2-135m-instruct", "- smollm3"), "models[0]",
         "catalog id"),
        (GOOD.replace("batch_size: 4", "batch_sise: 4"), "models[2].batch_sise",
         "allowed keys here: id, label"),
        (GOOD.replace("- arc_easy", "- {name: arc_easy, shots: 3}"), "tasks[0].shots",
         "allowed keys here: name, num_fewshot"),
        (GOOD.replace("access: open, ", ""), "models[3]", "access"),
        (GOOD.replace("  - arc_easy\n", "  - arc_easy\n  - arc_easy\n"), "duplicate tasks",
         "each may appear once"),
        (GOOD.replace("id: my-local", "id: gpt-4o-aug"), "duplicate models", "gpt-4o-aug"),
        (GOOD.replace("id: my-local", "id: My Local"), "models[2].id", "not a slug"),
        (GOOD.replace("name: demo", "name: demo\nprotocol: telepathy"), "protocol", "'chat'"),
    ],
)
def test_bad_input_names_file_key_and_what_is_allowed(tmp_path, text, key, allowed):
    message = error_for(tmp_path, text)
    assert key in message and allowed in message


def test_invalid_yaml_names_line(tmp_path):
    message = error_for(tmp_path, "name: demo\nmodels: [a\n")
    assert "invalid YAML" in message and "line" in message


def test_unreadable_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")


def test_top_level_must_be_mapping(tmp_path):
    assert "top level must be a mapping" in error_for(tmp_path, "- just\n- a list\n")


def test_embedded_default_config_is_valid():
    cfg = load_config(Path(__file__).parent.parent / "configs" / "small.yaml")
    names = {t.name for t in cfg.tasks}
    assert {"arc_easy", "arc_challenge", "winogrande", "mmlu", "gsm8k"} <= names
    assert {m.id for m in cfg.models if getattr(m, "access", None) == "open"} == {
        "smollm2-135m-instruct"}


BASE = "name: x\nmodels: [{id: f, backend: fake}]\ntasks: [ovc_toy]\n"


@pytest.mark.parametrize(("text", "expected"), [
    (BASE + "defaults: {limit: .inf}", "defaults.limit"),
    (BASE + "defaults: {limit: true}", "defaults.limit"),
    (BASE + "defaults: {seed: 4294967296}", "defaults.seed"),
    (BASE + "defaults: {seed: -1}", "defaults.seed"),
    (BASE + "results_dir: ''", "results_dir"),
    (BASE.replace("{id: f, backend: fake}", "{catalog: [a, b]}"), "unknown catalog id"),
    (BASE.replace("{id: f, backend: fake}", "{catalog: {a: 1}}"), "unknown catalog id"),
    (BASE.replace("{id: f, backend: fake}",
                  "{id: s, backend: openai-compatible, access: open, api_model: m, "
                  "base_url: 'not a url'}"), "is not an http(s) URL"),
    (BASE + "max_cost_usd: .nan", "max_cost_usd"),
])
def test_values_that_would_fail_only_at_run_time_are_refused_now(tmp_path, text, expected):
    assert expected in error_for(tmp_path, text)


def test_hostile_files_are_refused_in_one_paragraph(tmp_path):
    bomb = ("name: x\na: &a [x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                      for p, c in zip("abcdefgh", "bcdefghi", strict=True))
            + "models: *i\ntasks: [t]\n")
    assert "aliases (*name) expand to over" in error_for(tmp_path, bomb)
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)
    deep = tmp_path / "deep.yaml"
    deep.write_text("name: x\nmodels: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(deep)
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(fifo)
    huge = tmp_path / "huge.yaml"
    huge.write_text("name: x\n" + "#" * 2_000_000)
    with pytest.raises(ConfigError, match="larger than"):
        load_config(huge)
