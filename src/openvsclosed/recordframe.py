"""Stored records -> the report's starting frame: one row per job, its doc scores beside it.

Apart from the store (files <-> records) so each stays one job; the store's `to_frame` and the
report (report/__init__.py) both start here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from openvsclosed.schema import ResultRecord

if TYPE_CHECKING:
    import pandas as pd

FRAME_COLUMNS = ["model", "label", "access", "organization", "released", "params_b", "task",
                 "metric", "score", "stderr", "n", "num_fewshot", "limit", "protocol",
                 "cost_usd", "duration_s", "finished_at", "key", "source", "doc_scores", "note",
                 "own_task", "private"]


def records_frame(records: list[ResultRecord],
                  scores: list[dict[str, float]] | None = None) -> pd.DataFrame:
    """Records as rows (primary metric, identity, cost), the report's starting point.

    `scores`: each record's `doc_scores` when read beside it (`ResultStore.scored`), for
    records that hold no samples.
    """
    import pandas as pd

    rows = []
    for i, rec in enumerate(records):
        primary = rec.metric()
        rows.append({
            "model": rec.model.id, "label": rec.model.label, "access": rec.model.access,
            "organization": rec.model.organization, "released": rec.model.released,
            "params_b": rec.model.params_b, "task": rec.task, "metric": rec.primary_metric,
            "score": primary.value if primary else None,
            "stderr": primary.stderr if primary else None, "n": rec.n,
            "num_fewshot": rec.num_fewshot, "limit": rec.key_fields.limit,
            "protocol": rec.key_fields.protocol, "cost_usd": rec.cost_usd,
            "duration_s": rec.duration_s, "finished_at": rec.finished_at, "key": rec.key,
            "source": "measured", "note": None,
            "doc_scores": scores[i] if scores is not None else doc_scores(rec),
            "own_task": rec.own_task is not None,
            "private": bool(rec.own_task and rec.own_task.get("private")),
        })
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def doc_scores(record: ResultRecord) -> dict[str, float]:
    """The primary metric per document, keyed so two models' samples pair up exactly."""
    name, _, filt = record.primary_metric.partition(",")
    return {
        f"{s.task}/{s.doc_id}/{s.doc_hash}": s.scores[name]
        for s in record.samples
        if s.filter == filt and s.scores.get(name) is not None
    }


def samples_doc_scores(samples: object, primary_metric: str) -> dict[str, float]:
    """`doc_scores` from a record file's parsed samples (dicts), as `doc_scores` reads objects.

    Raises TypeError, KeyError or ValueError for samples without what pairing reads.
    """
    name, _, filt = primary_metric.partition(",")
    return {f"{s['task']}/{int(s['doc_id'])}/{s.get('doc_hash')}": float(s["scores"][name])
            for s in samples  # type: ignore[union-attr]
            if s.get("filter", "none") == filt and s["scores"].get(name) is not None}
