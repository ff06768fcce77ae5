import json
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


def test_newer_schema_and_corrupt_files_are_refused(tmp_path):
    store = ResultStore(tmp_path)
    rec = record_for(captured_results())
    path = store.put(rec)
    data = json.loads(path.read_text())
    data["schema_version"] = 999
    path.write_text(json.dumps(data))
    with pytest.raises(StoreError, match="schema_version 999"):
        list(store.records())
    path.write_text("{not json")
    with pytest.raises(StoreError, match="not a readable result file"):
        list(store.records())


def test_failures_are_appended(tmp_path):
    from datetime import datetime, timezone

    from openvsclosed.schema import FailureRecord

    store = ResultStore(tmp_path)
    for i in range(2):
        store.record_failure(FailureRecord(key=f"k{i}", model_id="m", task="t", error_type="E",
                                           message="boom", at=datetime.now(timezone.utc)))
    assert [f.key for f in store.failures()] == ["k0", "k1"]
