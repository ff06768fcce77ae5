"""The articles' claims (seeds/claims.yaml) checked against the numbers: a verdict and evidence.

Each predicate reads one source of scores at a time (measured first, else reported), so a
verdict never rests on a measured number set against a published one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

SUPPORTED, CONTRADICTED, UNKNOWN = "supported", "contradicted", "not enough data"


@dataclass(frozen=True)
class ClaimVerdict:
    """A claim, what the data says of it, and the numbers behind that."""

    id: str
    article: str
    who: str
    when: str
    statement: str
    verdict: str
    source: str | None
    evidence: str


def load_claims(path: Path) -> list[dict[str, Any]]:
    """The structured claims file (a list of mappings with id, predicate, params...)."""
    return yaml.safe_load(Path(path).read_text("utf-8")) or []


def judge_claims(claims: list[dict[str, Any]], results: pd.DataFrame) -> list[ClaimVerdict]:
    """A verdict for every claim, from the first source whose data can decide it."""
    verdicts = []
    for claim in claims:
        predicate = PREDICATES[claim["predicate"]]
        params = claim.get("params") or {}
        outcome, used = (UNKNOWN, "no scores yet"), None
        for source in ("measured", "imported", "reported"):
            rows = results[(results["source"] == source)].dropna(subset=["score"])
            if params.get("tasks"):
                rows = rows[rows["task"].isin(params["tasks"])]
            if rows.empty:
                continue
            verdict, evidence = predicate(rows, params)
            outcome = (verdict, f"{source}: {evidence}" if verdict == UNKNOWN else evidence)
            if verdict != UNKNOWN:
                used = source
                break
        verdicts.append(ClaimVerdict(
            id=claim["id"], article=claim["article"], who=claim["who"], when=str(claim["when"]),
            statement=claim["statement"], verdict=outcome[0], source=used, evidence=outcome[1],
        ))
    return verdicts


def _pts(x: float) -> str:
    return f"{100 * x:.1f}"


def _best(rows: pd.DataFrame, access: str, by: date | None = None) -> pd.DataFrame:
    """Best score per task among one side's models (released by `by`, if given)."""
    side = rows[rows["access"] == access]
    if by is not None:
        side = side[pd.to_datetime(side["released"]) <= pd.Timestamp(by)]
    if side.empty:
        return side
    return side.loc[side.groupby("task")["score"].idxmax()].set_index("task")


def _head_to_head(a: pd.DataFrame, b: pd.DataFrame, tol: float = 0.0) -> tuple[list, list]:
    """(tasks where a >= b - tol, per-task text) over the tasks both sides have."""
    shared = sorted(set(a.index) & set(b.index))
    wins = [t for t in shared if a.loc[t, "score"] >= b.loc[t, "score"] - tol]
    text = [f"{t}: {a.loc[t, 'label']} {_pts(a.loc[t, 'score'])} vs {b.loc[t, 'label']} "
            f"{_pts(b.loc[t, 'score'])}" for t in shared]
    return wins, text if shared else []


def a_beats_b_on_most(rows: pd.DataFrame, p: dict[str, Any]) -> tuple[str, str]:
    """Model a scores above model b on more than half of the tasks both have."""
    a = rows[rows["model"] == p["a"]].set_index("task")
    b = rows[rows["model"] == p["b"]].set_index("task")
    shared = sorted(set(a.index) & set(b.index))
    if len(shared) < 2:
        return UNKNOWN, f"{len(shared)} shared task(s)"
    wins = [t for t in shared if a.loc[t, "score"] > b.loc[t, "score"]]
    _, text = _head_to_head(a, b)
    verdict = SUPPORTED if len(wins) * 2 > len(shared) else CONTRADICTED
    return verdict, f"{len(wins)}/{len(shared)} tasks won; " + "; ".join(text)


def _reaches(rows: pd.DataFrame, p: dict[str, Any]) -> tuple[bool | None, str]:
    """Whether some open model released by `by` reaches `reference` on most shared tasks."""
    ref = rows[rows["model"] == p["reference"]].set_index("task")
    opens = rows[(rows["access"] == "open")
                 & (pd.to_datetime(rows["released"]) <= pd.Timestamp(p["by"]))]
    tol = float(p.get("tolerance", 0)) / 100
    best_text, any_reach = "", False
    for _, group in opens.groupby("model"):
        mine = group.set_index("task")
        shared = sorted(set(mine.index) & set(ref.index))
        if len(shared) < 2:
            continue
        wins, text = _head_to_head(mine, ref, tol)
        if len(wins) * 2 > len(shared):
            any_reach = True
            best_text = f"{mine['label'].iloc[0]} reaches it on {len(wins)}/{len(shared)}: " + \
                "; ".join(text)
            break
        best_text = best_text or f"closest: {mine['label'].iloc[0]} on {len(wins)}/" \
            f"{len(shared)}: " + "; ".join(text)
    if not best_text:
        return None, "no open model released by then shares 2+ tasks with the reference"
    return any_reach, best_text


def no_open_reaches(rows: pd.DataFrame, p: dict[str, Any]) -> tuple[str, str]:
    """No open model released by `by` reaches `reference` on most shared tasks."""
    reached, text = _reaches(rows, p)
    return (UNKNOWN if reached is None else CONTRADICTED if reached else SUPPORTED), text


def open_reaches(rows: pd.DataFrame, p: dict[str, Any]) -> tuple[str, str]:
    """Some open model released by `by` reaches `reference` on most shared tasks."""
    reached, text = _reaches(rows, p)
    return (UNKNOWN if reached is None else SUPPORTED if reached else CONTRADICTED), text


def _open_share(rows: pd.DataFrame, as_of: Any = None) -> tuple[list, list, list]:
    opens, closed = _best(rows, "open", as_of), _best(rows, "closed", as_of)
    shared = sorted(set(opens.index) & set(closed.index)) if len(opens) and len(closed) else []
    won = [t for t in shared if opens.loc[t, "score"] > closed.loc[t, "score"]]
    _, text = _head_to_head(opens, closed) if shared else ([], [])
    return shared, won, text


def open_wins_only_some(rows: pd.DataFrame, p: dict[str, Any]) -> tuple[str, str]:
    """Best open beats best closed on at least one task but on fewer than half."""
    shared, won, text = _open_share(rows, p.get("as_of"))
    if len(shared) < 2:
        return UNKNOWN, f"{len(shared)} task(s) with both sides"
    verdict = SUPPORTED if 0 < len(won) * 2 < len(shared) and won else CONTRADICTED
    return verdict, f"open wins {len(won)}/{len(shared)} ({', '.join(won) or 'none'}); " + \
        "; ".join(text)


def closed_leads_on_most(rows: pd.DataFrame, p: dict[str, Any]) -> tuple[str, str]:
    """Best closed beats best open on more than half the tasks (models released by `as_of`)."""
    shared, won, text = _open_share(rows, p.get("as_of"))
    if len(shared) < 2:
        return UNKNOWN, f"{len(shared)} task(s) with both sides"
    lead = len(shared) - len(won)
    verdict = SUPPORTED if lead * 2 > len(shared) else CONTRADICTED
    return verdict, f"closed leads {lead}/{len(shared)}; " + "; ".join(text)


def gap_narrowing(rows: pd.DataFrame, p: dict[str, Any]) -> tuple[str, str]:
    """Mean frontier gap (closed - open, points) over shared tasks is smaller at `to`."""
    gaps = {}
    for when in (p["from"], p["to"]):
        o, c = _best(rows, "open", when), _best(rows, "closed", when)
        gaps[when] = {t: c.loc[t, "score"] - o.loc[t, "score"]
                      for t in set(o.index) & set(c.index)} if len(o) and len(c) else {}
    tasks = sorted(set(gaps[p["from"]]) & set(gaps[p["to"]]))
    if not tasks:
        return UNKNOWN, "no task has both sides at both dates"
    before = sum(gaps[p["from"]][t] for t in tasks) / len(tasks)
    after = sum(gaps[p["to"]][t] for t in tasks) / len(tasks)
    verdict = SUPPORTED if after < before else CONTRADICTED
    detail = "; ".join(f"{t}: {_pts(gaps[p['from']][t])} -> {_pts(gaps[p['to']][t])}"
                       for t in tasks)
    return verdict, (f"mean gap {_pts(before)} pts on {p['from']} -> {_pts(after)} pts on "
                     f"{p['to']} over {len(tasks)} tasks ({detail})")


def pound_for_pound(rows: pd.DataFrame, p: dict[str, Any]) -> tuple[str, str]:
    """The best score per billion parameters belongs to an open model (disclosed sizes only)."""
    sized = rows.dropna(subset=["params_b"])
    sized = sized[sized["params_b"] > 0]
    if sized.empty or not (sized["access"] == "closed").any():
        closed_sized = int((sized["access"] == "closed").sum()) if not sized.empty else 0
        return UNKNOWN, (f"closed makers disclose no parameter counts ({closed_sized} closed "
                         "rows with a size), so per-parameter strength cannot be compared")
    per = sized.assign(per_b=sized["score"] / sized["params_b"])
    top = per.loc[per.groupby("task")["per_b"].idxmax()]
    open_tasks = top[top["access"] == "open"]["task"].tolist()
    verdict = SUPPORTED if len(open_tasks) * 2 > len(top) else CONTRADICTED
    return verdict, f"open leads per-parameter on {len(open_tasks)}/{len(top)} tasks"


PREDICATES: dict[str, Callable[[pd.DataFrame, dict[str, Any]], tuple[str, str]]] = {
    "a_beats_b_on_most": a_beats_b_on_most, "no_open_reaches": no_open_reaches,
    "open_reaches": open_reaches, "open_wins_only_some": open_wins_only_some,
    "closed_leads_on_most": closed_leads_on_most, "gap_narrowing": gap_narrowing,
    "pound_for_pound": pound_for_pound,
}
