import os

import pandas as pd
import pytest

from openvsclosed.recordframe import doc_scores, records_frame
from openvsclosed.store import ResultStore, StoreError, write_atomic
from tests.helpers import captured_results
from tests.test_harvest import record_for


def test_put_has_get_roundtrip(tmp_path):
    store = ResultStore(tmp_path)
    rec = record_for(captured_results())
    assert not store.has(rec.model.id, rec.task, rec.key)
    path = store.put(rec)
    assert path.is_file() and store.has(rec.model.id, rec.task, rec.key)
    assert store.get(rec.model.id, rec.task, rec.key) == rec
    assert list(store.records()) == [rec]
    frame = store.to_frame()
    assert frame.loc[0, "score"] == pytest.approx(0.25) and frame.loc[0, "n"] == 12


def test_interrupted_write_leaves_no_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "a" / "b.json"
    write_atomic(target, "old")

    def crash(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in target.parent.iterdir()] == ["b.json"]


@pytest.mark.parametrize(("content", "why"), [
    (b"", "not a readable result file"),
    (b'{"schema_version": 2, "key": "trunc', "not a readable result file"),
    (b"\xff\xfe garbage", "not a readable result file"),
    (b"[" * 100_000 + b"]" * 100_000, "not a readable result file"),
    (b'{"schema_version": 999}', "schema_version 999"),
    (b'{"schema_version": 2, "key": "x"}', "not a valid result record"),
])
def test_a_corrupt_record_is_not_finished_and_is_skipped_by_readers(tmp_path, content, why):
    store = ResultStore(tmp_path)
    rec = record_for(captured_results())
    good = store.put(rec)
    bad_rec = rec.model_copy(update={"task": "other_task"})
    bad = store.put(bad_rec)
    bad.write_bytes(content)
    reader = ResultStore(tmp_path)
    assert not reader.has(bad_rec.model.id, bad_rec.task, bad_rec.key)  # runs again
    assert reader.has(rec.model.id, rec.task, rec.key)
    assert [r.task for r in reader.records()] == [rec.task]  # the good one still reads
    assert any(str(bad) in p and why in p for p in reader.problems), reader.problems
    assert good.is_file()
    with pytest.raises(StoreError, match=why):
        reader.get(bad_rec.model.id, bad_rec.task, bad_rec.key)


def test_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "r.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o644


def test_unwritable_results_directory_is_found_before_any_work(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for root in (blocker, tmp_path / ("x" * 300)):
        with pytest.raises(StoreError, match="cannot write there"):
            ResultStore(root).check_writable()


def test_failures_are_appended(tmp_path):
    from datetime import datetime, timezone

    from openvsclosed.schema import FailureRecord

    store = ResultStore(tmp_path)
    for i in range(2):
        store.record_failure(FailureRecord(key=f"k{i}", model_id="m", task="t", error_type="E",
                                           message="boom", at=datetime.now(timezone.utc)))
    assert [f.key for f in store.failures()] == ["k0", "k1"]


def _stored(tmp_path):
    store = ResultStore(tmp_path)
    rec = record_for(captured_results())
    assert rec.samples  # the tests below are about a record that has them
    return store, rec, store.put(rec)


def test_has_parses_only_the_record_before_its_samples(tmp_path, monkeypatch):
    import json

    from openvsclosed import store as store_module

    _, rec, path = _stored(tmp_path)
    parsed = []
    real = json.loads

    def spy(text, *args, **kwargs):
        parsed.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(store_module.json, "loads", spy)
    assert ResultStore(tmp_path).has(rec.model.id, rec.task, rec.key)
    assert len(parsed) == 1 and '"doc_id"' not in parsed[0]
    assert len(parsed[0]) < len(path.read_text()) / 2


@pytest.mark.parametrize("layout", ["compact", "samples first", "indent 2"])
def test_a_record_in_another_layout_still_reads(tmp_path, layout):
    import json

    _, rec, path = _stored(tmp_path)
    data = json.loads(path.read_text())
    if layout == "compact":  # e.g. an older writer without indent
        text = json.dumps(data)
    elif layout == "samples first":
        text = json.dumps({"samples": data.pop("samples"), **data}, indent=1)
    else:
        text = json.dumps(data, indent=2)
    path.write_text(text)
    reader = ResultStore(tmp_path)
    assert reader.has(rec.model.id, rec.task, rec.key)
    assert reader.get(rec.model.id, rec.task, rec.key) == rec
    assert [(r, s) for r, s in reader.scored()] == [
        (rec.model_copy(update={"samples": []}), doc_scores(rec))]
    assert reader.problems == []


@pytest.mark.parametrize("cut", ["mid-samples", "before the brace"])
def test_a_record_cut_inside_its_samples_is_not_finished(tmp_path, cut):
    _, rec, path = _stored(tmp_path)
    text = path.read_bytes()
    path.write_bytes(text[: len(text) // 2 + len(text) // 4] if cut == "mid-samples"
                     else text.rstrip()[:-1])
    reader = ResultStore(tmp_path)
    assert not reader.has(rec.model.id, rec.task, rec.key)
    assert list(reader.scored()) == [] and len(reader.problems) == 2


def test_scored_gives_the_frame_that_full_records_give(tmp_path):
    store, rec, _ = _stored(tmp_path)
    store.put(rec.model_copy(update={"task": "other_task"}))
    read = list(ResultStore(tmp_path).scored())
    assert all(not r.samples for r, _ in read)
    fast = records_frame([r for r, _ in read], [s for _, s in read])
    pd.testing.assert_frame_equal(fast, store.to_frame())
    assert fast.loc[0, "doc_scores"] == doc_scores(rec) and doc_scores(rec)


def test_a_record_whose_samples_cannot_pair_is_skipped_by_the_report_reader(tmp_path):
    import json

    _, rec, path = _stored(tmp_path)
    data = json.loads(path.read_text())
    del data["samples"][0]["doc_id"]
    path.write_text(json.dumps(data, indent=1))
    reader = ResultStore(tmp_path)
    assert list(reader.scored()) == []
    assert any(str(path) in p and "doc_id" in p for p in reader.problems), reader.problems
