import os

import pytest

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
