"""Hand-built result rows and answers for the page and site tests (made-up models and scores)."""

from __future__ import annotations

import pandas as pd

from openvsclosed.report.headline import Answer, FamilyLead

BASE = {"organization": "Org", "params_b": None, "metric": "acc", "stderr": None, "n": None,
        "num_fewshot": 0, "limit": None, "protocol": "0-shot letter choice", "cost_usd": None,
        "duration_s": None, "finished_at": None, "key": None, "source": "reported",
        "doc_scores": None, "note": None, "own_task": False, "private": False}
ROWS = [  # model, label, access, released, task, score
    ("open-a", "Open A", "open", "2024-03-01", "arc_challenge", 0.70),
    ("closed-a", "Closed A", "closed", "2023-06-01", "arc_challenge", 0.80),
    ("closed-b", "Closed B", "closed", "2024-09-01", "arc_challenge", 0.86),
    ("open-b", "Open B", "open", "2025-01-15", "arc_challenge", 0.84),
    ("open-a", "Open A", "open", "2024-03-01", "gsm8k", 0.62),
    ("closed-a", "Closed A", "closed", "2023-06-01", "gsm8k", 0.58),
    ("closed-b", "Closed B", "closed", "2024-09-01", "gsm8k", 0.75),
    ("open-a", "Open A", "open", "2024-03-01", "gpqa_diamond", 0.30),
    ("closed-b", "Closed B", "closed", "2024-09-01", "gpqa_diamond", 0.50),
]
NEW_ROW = ("open-c", "Open C", "open", "2025-06-01", "gsm8k", 0.80)
"""The second snapshot's new model: it takes GSM8K for the open side."""


def results(rows: list[tuple] = ROWS) -> pd.DataFrame:
    """A results frame as gather_results returns it, from (model, label, access, ...) rows."""
    return pd.DataFrame([{**BASE, "model": m, "label": label, "access": access,
                          "released": released, "task": task, "score": score}
                         for m, label, access, released, task, score in rows])


def answer(lag: float, open_leads: int = 0, through: str = "2025-01-31") -> Answer:
    """A hand-built answer: closed leads on every family but `open_leads` of three."""
    families = ["ARC", "GSM8K", "GPQA"]
    leads = [FamilyLead(f, "open" if i < open_leads else "closed", 2.0, "Open A", "Closed B",
                        70.0, 72.0, "2024-09-01", "0-shot letter choice", "reported")
             for i, f in enumerate(families)]
    sentence = (f"Closed models lead like with like on {3 - open_leads} of 3 task families; "
                f"open models trail by about {lag:.0f} months.")
    return Answer(sentence=sentence, leads={"closed": 3 - open_leads, "open": open_leads},
                  lag_months=lag, lag_low=lag - 2, lag_high=lag + 3,
                  lag_estimator="closed records reached, Kaplan-Meier median",
                  data_through=through, families=3, pairs=7, censored=1,
                  sureness="3 task families, 7 like-with-like pairs, 1 censored record.",
                  family_leads=leads)


def tables_for(rows: list[tuple], lead_answer: Answer | None):
    """Report tables of hand-built rows, with a hand-built answer (None: none yet)."""
    from openvsclosed.report import build_tables
    from openvsclosed.report.headline import build_headline

    tables = build_tables(results(rows), boot=20)
    tables.headline = build_headline(tables)
    tables.headline.answer = lead_answer
    return tables
