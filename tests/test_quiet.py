"""The quiet terminal, and lm-eval's setup done once: logs and bars in the file, results same."""

from __future__ import annotations

import logging
import warnings

import pytest

from openvsclosed.quiet import library_output


def emit() -> None:
    from tqdm import tqdm

    logging.getLogger("lm_eval.evaluator").warning("Overwriting default num_fewshot of x")
    logging.getLogger("datasets.builder").info("Generating test split")
    warnings.warn("a library's UserWarning", UserWarning, stacklevel=1)
    for _ in tqdm(range(3), desc="Running generate_until requests"):
        pass


def test_library_logs_and_bars_go_to_the_file_only(tmp_path, capsys):
    log = tmp_path / "results" / "run.log"
    with library_output(log):
        emit()
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    text = log.read_text()
    assert "Overwriting default num_fewshot of x" in text
    assert "Generating test split" in text and "a library's UserWarning" in text
    assert "Running generate_until requests" in text and "\r" not in text
    bars = [line for line in text.splitlines() if line.startswith("Running generate_until")]
    assert len(bars) >= 2 and bars[-1].rstrip().endswith("]")  # one whole line per refresh
    # everything restored: the logger speaks to the terminal again
    assert logging.getLogger("lm_eval").propagate is True


def test_verbose_keeps_the_terminal_and_the_file(tmp_path, capsys):
    log = tmp_path / "run.log"
    with library_output(log, verbose=True):
        emit()
    err = capsys.readouterr().err
    assert "Running generate_until requests" in err  # the bar, where it always was
    assert "Overwriting default num_fewshot of x" in log.read_text()


def test_second_run_appends(tmp_path):
    log = tmp_path / "run.log"
    for _ in range(2):
        with library_output(log):
            logging.getLogger("lm_eval").warning("once more")
    assert log.read_text().count("==== run started") == 2


def test_env_info_gathered_once_and_templates_compiled_once(monkeypatch):
    import lm_eval.evaluator as evaluator
    import lm_eval.utils as utils

    from openvsclosed import lmeval_once

    calls = []
    monkeypatch.setattr(evaluator, "add_env_info",
                        lambda storage: calls.append(1) or storage.update(info={"torch": "x"}))
    monkeypatch.setattr(utils, "apply_template", utils.apply_template)
    lmeval_once.setup_once()
    lmeval_once.setup_once()  # idempotent
    first, second = {}, {}
    evaluator.add_env_info(first)
    evaluator.add_env_info(second)
    assert calls == [1] and first == second == {"info": {"torch": "x"}}
    first["info"]["torch"] = "edited"
    third = {}
    evaluator.add_env_info(third)
    assert third == {"info": {"torch": "x"}}  # each caller gets its own copy
    assert utils.apply_template("{{a}}-{{b|upper}}", {"a": 1, "b": "q"}) == "1-Q"
    assert utils.apply_template("{{a}}-{{b|upper}}", {"a": 2, "b": "r"}) == "2-R"


def test_mirror_read_in_memory_equals_the_parquet_builder(tmp_path):
    datasets = pytest.importorskip("datasets")
    from openvsclosed.tasks import read_mirror

    rows = {"question": ["Which colour is the made-up sky?", "How many legs has a made-up cat?"],
            "choices": [["red", "blue"], ["three", "four"]], "answer": [1, 1]}
    files = {}
    for split in ("test", "dev"):
        path = tmp_path / f"{split}.parquet"
        datasets.Dataset.from_dict(rows).cast_column(
            "answer", datasets.ClassLabel(names=["A", "B"])).to_parquet(path)
        files[split] = str(path)
    ours = read_mirror(files, version=1.0, ovc_data_source={})  # lm-eval passes metadata too
    theirs = datasets.load_dataset("parquet", data_files=files,
                                   cache_dir=str(tmp_path / "cache"))
    for split in files:
        assert ours[split].features == theirs[split].features
        assert ours[split].to_list() == theirs[split].to_list()
    assert ours["test"].features["answer"].names == ["A", "B"]
