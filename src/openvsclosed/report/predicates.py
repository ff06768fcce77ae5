"""What each kind of claim computes from the scores, and the evidence text it gives.

One function per predicate of seeds/claims.yaml (`PREDICATES`): it reads the rows of one
source and returns a verdict and the pairs it rests on. Two scores count against each other
only in one protocol series (`protocol`: published rows carry theirs; measured ones compare
shots and native/chat); the others are listed, marked '≠', and not counted. Kept apart from
the judging (report/claims.py: which source, which date, forecasts) so each is one job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

SUPPORTED, CONTRADICTED, UNKNOWN = "supported", "contradicted", "not enough data"
CATEGORIES = {
    "code": ("humaneval", "mbpp", "livecodebench", "swe_bench", "ds1000"),
    "math": ("gsm8k", "math", "minerva_math", "hendrycks_math", "aime", "mgsm"),
    "knowledge": ("mmlu", "triviaqa", "nq_open", "naturalqs", "truthfulqa", "cmmlu", "ceval"),
    "reasoning": ("gpqa", "bbh", "arc_", "hellaswag", "winogrande", "piqa", "drop", "musr"),
    "domain": ("medqa", "medmcqa", "pubmedqa", "legalbench", "finqa", "mmlu_clinical"),
}
"""Task-name prefixes per category: 'open wins only on specific tasks' is judged on these."""


def category_of(task: str) -> str | None:
    """The category a task belongs to by name (domain checked first), or None."""
    for name in ("domain", "code", "math", "reasoning", "knowledge"):
        if str(task).startswith(CATEGORIES[name]):
            return name
    return None


def _pts(x: float) -> str:
    return f"{100 * x:.1f}"


def protocol(row: pd.Series) -> str:
    """What must match for two scores to compare: the series (published rows carry theirs).

    Rows of claims.judge_claims carry it already, computed once (`proto`).
    """
    known = row.get("proto")
    if isinstance(known, str):
        return known
    if row.get("source") in ("reported", "independent") and isinstance(row.get("protocol"), str):
        return row["protocol"]
    shots = row.get("num_fewshot")
    n = "?" if shots is None or pd.isna(shots) else str(int(shots))
    kind = row.get("protocol") if isinstance(row.get("protocol"), str) else "native"
    return f"{n}-shot {kind}"


def _released_by(rows: pd.DataFrame, by: Any) -> pd.DataFrame:
    if by is None:
        return rows
    return rows[pd.to_datetime(rows["released"], errors="coerce") <= pd.Timestamp(str(by))]


def _same_table(a: pd.Series, b: pd.Series) -> bool:
    key = a.get("same_key")
    return isinstance(key, str) and key == b.get("same_key")


def _line(task: str, a: pd.Series, b: pd.Series) -> str:
    same = protocol(a) == protocol(b)
    if same:
        where = f", same table {a.get('table')}" if _same_table(a, b) else ""
        mark = (f" (like with like: {protocol(a)}{where})"
                if a.get("source") in ("reported", "independent") else "")
    else:
        mark = f" ≠ protocol ({protocol(a)} vs {protocol(b)}), not counted"
    return (f"{task}: {a['label']} {_pts(a['score'])} vs {b['label']} {_pts(b['score'])}"
            f"{mark}")


def _pairs(a: pd.DataFrame, b: pd.DataFrame) -> tuple[list, list[str]]:
    """(task, a row, b row) compared like with like, and the text of every shared task.

    A task where the two models share several series counts once: the pair from one source
    table first, then the first series in order (every series is listed in the text).
    """
    same, text = [], []
    for task in sorted(set(a["task"]) & set(b["task"])):
        ra, rb = a[a["task"] == task], b[b["task"] == task]
        found = [(x, y) for _, x in ra.iterrows() for _, y in rb.iterrows()
                 if protocol(x) == protocol(y)]
        if found:
            found.sort(key=lambda p: (not _same_table(*p), protocol(p[0])))
            same.append((task, *found[0]))
            text.append(_line(str(task), *found[0]))
        else:
            text.append(_line(str(task), ra.loc[ra["score"].idxmax()],
                              rb.loc[rb["score"].idxmax()]))
    return same, text


def fronts(rows: pd.DataFrame, by: Any = None) -> tuple[list, list[str]]:
    """Per task, best open vs best closed under one protocol (the one with the best closed).

    Tasks where no protocol has both sides are listed with the overall bests, marked '≠'.
    """
    rows = _released_by(rows, by)
    if "proto" not in rows:
        rows = rows.assign(proto=rows.apply(protocol, axis=1) if len(rows) else [])
    same, text = [], []
    for task, on_task in rows.groupby("task", sort=True):
        best = {}
        for proto, group in on_task.groupby("proto"):
            o, c = group[group["access"] == "open"], group[group["access"] == "closed"]
            if len(o) and len(c):
                best[proto] = (o.loc[o["score"].idxmax()], c.loc[c["score"].idxmax()])
        if best:
            o, c = max(best.values(), key=lambda p: (p[1]["score"], p[0]["score"]))
            same.append((task, o, c))
            text.append(_line(str(task), o, c))
        else:
            o, c = on_task[on_task["access"] == "open"], on_task[on_task["access"] == "closed"]
            if len(o) and len(c):
                text.append(_line(str(task), o.loc[o["score"].idxmax()],
                                  c.loc[c["score"].idxmax()]))
    return same, text


def a_beats_b_on_most(rows: pd.DataFrame, p: dict[str, Any]) -> tuple[str, str]:
    """Model a scores above model b on more than half of the tasks both have, like with like."""
    same, text = _pairs(rows[rows["model"] == p["a"]], rows[rows["model"] == p["b"]])
    if len(same) < 2:
        return UNKNOWN, f"{len(same)} comparable task(s); " + ("; ".join(text) or "none shared")
    wins = [t for t, a, b in same if a["score"] > b["score"]]
    verdict = SUPPORTED if len(wins) * 2 > len(same) else CONTRADICTED
    return verdict, f"{len(wins)}/{len(same)} tasks won; " + "; ".join(text)


def _reaches(rows: pd.DataFrame, p: dict[str, Any]) -> tuple[bool | None, str]:
    """Whether an open model released by `by` reaches `reference` on most comparable tasks.

    Otherwise the evidence names the closest one: most tasks reached, then smallest deficit.
    """
    ref = rows[rows["model"] == p["reference"]]
    opens = _released_by(rows[rows["access"] == "open"], p.get("by"))
    tol = float(p.get("tolerance", 0)) / 100
    scored, thin = [], []
    for _, mine in opens.groupby("model"):
        same, text = _pairs(mine, ref)
        if len(same) == 1 and same[0][1]["score"] >= same[0][2]["score"] - tol:
            thin.append(f"{mine['label'].iloc[0]} reaches it on its one comparable task: "
                        + "; ".join(text))
        if len(same) < 2:
            continue
        wins = sum(a["score"] >= b["score"] - tol for _, a, b in same)
        deficit = sum(b["score"] - a["score"] for _, a, b in same) / len(same)
        scored.append((wins * 2 > len(same), wins / len(same), -deficit,
                       f"{mine['label'].iloc[0]} on {wins}/{len(same)}: " + "; ".join(text)))
    if not scored:
        return None, ("no open model released by then shares 2+ comparable tasks with it"
                      + (f"; {thin[0]}" if thin else ""))
    reached = [s for s in scored if s[0]]
    if reached:
        return True, "reaches it: " + max(reached, key=lambda s: (s[1], s[2]))[3]
    if thin:  # "not reached" would rest on the absence of evidence, not on evidence
        return None, ("not enough like-with-like data: " + thin[0] + " (2 or more are "
                      "needed); closest of those with 2+: "
                      + max(scored, key=lambda s: (s[1], s[2]))[3])
    return False, "closest: " + max(scored, key=lambda s: (s[1], s[2]))[3]


def no_open_reaches(rows: pd.DataFrame, p: dict[str, Any]) -> tuple[str, str]:
    """No open model released by `by` reaches `reference` on most comparable tasks."""
    reached, text = _reaches(rows, p)
    return (UNKNOWN if reached is None else CONTRADICTED if reached else SUPPORTED), text


def open_reaches(rows: pd.DataFrame, p: dict[str, Any]) -> tuple[str, str]:
    """Some open model released by `by` reaches `reference` on most comparable tasks."""
    reached, text = _reaches(rows, p)
    return (UNKNOWN if reached is None else SUPPORTED if reached else CONTRADICTED), text


def open_wins_only_some(rows: pd.DataFrame, p: dict[str, Any]) -> tuple[str, str]:
    """Best open beats best closed on some tasks, concentrated in under half the categories."""
    same, text = fronts(rows, p.get("as_of"))
    cats: dict[str, list[bool]] = {}
    for task, o, c in same:
        if category_of(task):
            cats.setdefault(str(category_of(task)), []).append(o["score"] > c["score"])
    if len(cats) < 2:
        return UNKNOWN, (f"comparable tasks in {len(cats)} categor(ies) ({', '.join(cats)}); "
                         "needs 2+ of code, math, knowledge, reasoning")
    won = sorted(k for k, v in cats.items() if any(v))
    verdict = SUPPORTED if won and len(won) * 2 < len(cats) else CONTRADICTED
    detail = "; ".join(f"{k} {sum(v)}/{len(v)}" for k, v in sorted(cats.items()))
    return verdict, f"open wins by category: {detail}; " + "; ".join(text)


def closed_leads_on_most(rows: pd.DataFrame, p: dict[str, Any]) -> tuple[str, str]:
    """Best closed beats best open on more than half the comparable tasks (by `as_of`)."""
    same, text = fronts(rows, p.get("as_of"))
    if len(same) < 2:
        return UNKNOWN, f"{len(same)} comparable task(s); " + "; ".join(text)
    lead = sum(c["score"] > o["score"] for _, o, c in same)
    verdict = SUPPORTED if lead * 2 > len(same) else CONTRADICTED
    return verdict, f"closed leads {lead}/{len(same)}; " + "; ".join(text)


def open_matches_frontier(rows: pd.DataFrame, p: dict[str, Any]) -> tuple[str, str]:
    """By `by`, best open reaches best closed (whole closed frontier) on most comparable tasks."""
    same, text = fronts(rows, p.get("by"))
    if len(same) < 2:
        return UNKNOWN, f"{len(same)} comparable task(s); " + "; ".join(text)
    tol = float(p.get("tolerance", 0)) / 100
    met = sum(o["score"] >= c["score"] - tol for _, o, c in same)
    verdict = SUPPORTED if met * 2 > len(same) else CONTRADICTED
    return verdict, f"open matches the closed frontier on {met}/{len(same)}; " + "; ".join(text)


def gap_narrowing(rows: pd.DataFrame, p: dict[str, Any]) -> tuple[str, str]:
    """Mean frontier gap (closed - open, points) over comparable tasks is smaller at `to`."""
    dates = pd.to_datetime(rows["released"], errors="coerce")
    later = dates > pd.Timestamp(str(p["from"]))
    if p.get("to") is not None:
        later &= dates <= pd.Timestamp(str(p["to"]))
    if not later.any():
        return UNKNOWN, f"no model released after {p['from']} in these scores"
    gaps = {}
    for key in ("from", "to"):
        gaps[key] = {t: c["score"] - o["score"] for t, o, c in fronts(rows, p.get(key))[0]}
    tasks = sorted(set(gaps["from"]) & set(gaps["to"]))
    if not tasks:
        return UNKNOWN, "no task has both sides under one protocol at both dates"
    before = sum(gaps["from"][t] for t in tasks) / len(tasks)
    after = sum(gaps["to"][t] for t in tasks) / len(tasks)
    verdict = SUPPORTED if after < before else CONTRADICTED
    detail = "; ".join(f"{t}: {_pts(gaps['from'][t])} -> {_pts(gaps['to'][t])}" for t in tasks)
    return verdict, (f"mean gap {_pts(before)} pts on {p['from']} -> {_pts(after)} pts on "
                     f"{p.get('to') or 'today'} over {len(tasks)} tasks ({detail})")


def lag_persists(rows: pd.DataFrame, p: dict[str, Any]) -> tuple[str, str]:
    """The moving target: at the last date, the open frontier still trails (lag > 0) on most.

    Uses the frontier-distance estimator (report/catchup.py) per task.
    """
    from openvsclosed.report.catchup import distance_table
    from openvsclosed.report.lag import results_points

    pts = results_points(_released_by(rows, p.get("as_of")))
    if pts.empty:
        return UNKNOWN, "no dated scores"
    table = distance_table(pts, pd.to_datetime(pts["date"]).max())
    last = table.sort_values("date").groupby("benchmark").tail(1)
    if len(last) < 2:
        return UNKNOWN, f"{len(last)} task(s) with both sides over time"
    behind = int((~last["caught_up"]).sum())
    verdict = SUPPORTED if behind * 2 > len(last) else CONTRADICTED
    detail = "; ".join(f"{r.benchmark}: " + ("caught up" if r.caught_up else
                                             f"{r.lag_months:.1f} months behind")
                       for r in last.itertuples())
    return verdict, f"open trails on {behind}/{len(last)} tasks ({detail})"


def open_wins_domain(rows: pd.DataFrame, p: dict[str, Any]) -> tuple[str, str]:
    """Best open beats best closed on most domain-specific tasks (medical, legal, finance)."""
    own = rows["own_task"].eq(True) if "own_task" in rows else False  # the user's own data
    domain = rows[(rows["task"].map(category_of) == "domain") | own]
    same, text = fronts(domain)
    if not same:
        return UNKNOWN, ("no domain-specific task (e.g. medqa, pubmedqa, legalbench, or your "
                         "own task from a file) with both sides under one protocol yet")
    won = sum(o["score"] > c["score"] for _, o, c in same)
    verdict = SUPPORTED if won * 2 > len(same) else CONTRADICTED
    return verdict, f"open wins {won}/{len(same)} domain tasks; " + "; ".join(text)


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
    "pound_for_pound": pound_for_pound, "open_matches_frontier": open_matches_frontier,
    "lag_persists": lag_persists, "open_wins_domain": open_wins_domain,
}
