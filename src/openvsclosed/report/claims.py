"""The articles' claims (seeds/claims.yaml) checked against the numbers: two verdicts each.

A claim is judged twice: as of its own date (only models released by then) and as of today
(every model in the data), because the debate is a moving target. Each verdict reads one source
of scores at a time (measured first, then imported, then reported), and compares like with
like: two scores count against each other only under the same protocol (shots and method for
published numbers, shots and native/chat for measured ones); the others are listed, marked
'≠', and not counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from openvsclosed.report.claimsfile import ClaimsError, read_claims

SUPPORTED, CONTRADICTED, UNKNOWN = "supported", "contradicted", "not enough data"
SOURCES = ("measured", "imported", "reported")
CATEGORIES = {
    "code": ("humaneval", "mbpp", "livecodebench", "swe_bench", "ds1000"),
    "math": ("gsm8k", "math", "minerva_math", "hendrycks_math", "aime", "mgsm"),
    "knowledge": ("mmlu", "triviaqa", "nq_open", "naturalqs", "truthfulqa", "cmmlu", "ceval"),
    "reasoning": ("gpqa", "bbh", "arc_", "hellaswag", "winogrande", "piqa", "drop", "musr"),
    "domain": ("medqa", "medmcqa", "pubmedqa", "legalbench", "finqa", "mmlu_clinical"),
}
"""Task-name prefixes per category: 'open wins only on specific tasks' is judged on these."""


@dataclass(frozen=True)
class ClaimVerdict:
    """A claim, what the data says of it today and as of its date, with the numbers."""

    id: str
    article: str
    who: str
    when: str
    statement: str
    verdict: str
    source: str | None
    evidence: str
    then_verdict: str = UNKNOWN
    then_source: str | None = None
    then_evidence: str = ""


def load_claims(path: Path) -> list[dict[str, Any]]:
    """The structured claims file, checked whole before any judging (report/claimsfile.py)."""
    return read_claims(path, PREDICATES)


def category_of(task: str) -> str | None:
    """The category a task belongs to by name (domain checked first), or None."""
    for name in ("domain", "code", "math", "reasoning", "knowledge"):
        if str(task).startswith(CATEGORIES[name]):
            return name
    return None


def judge_claims(claims: list[dict[str, Any]], results: pd.DataFrame) -> list[ClaimVerdict]:
    """Both verdicts for every claim, each from the first source whose data can decide it."""
    keep = ["model", "label", "access", "released", "params_b", "task", "score", "source",
            "protocol", "num_fewshot"]
    results = results[[c for c in keep if c in results.columns]].copy()
    for column in ("model", "label", "access", "task", "source", "protocol"):
        if column in results:
            results[column] = results[column].astype(object)
    verdicts = []
    for claim in claims:
        params = claim.get("params") or {}
        when = pd.Timestamp(str(claim["when"]))
        then_rows = results[pd.to_datetime(results["released"], errors="coerce") <= when]
        today = {k: v for k, v in params.items() if k not in ("as_of", "to")}
        try:
            then = _judge(claim["predicate"], then_rows, params)
            now = _judge(claim["predicate"], results, today)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ClaimsError(f"claim {str(claim['id'])[:60]!r}: params: {type(exc).__name__}: "
                              f"{str(exc)[:160]}; allowed: the parameters its predicate "
                              "takes (listed at the top of seeds/claims.yaml).") from None
        evidence = f"today: {now[2]} || as of {claim['when']}: {then[0]}, {then[2]}"
        verdicts.append(ClaimVerdict(
            id=claim["id"], article=claim["article"], who=claim["who"], when=str(claim["when"]),
            statement=claim["statement"], verdict=now[0], source=now[1], evidence=evidence,
            then_verdict=then[0], then_source=then[1], then_evidence=then[2]))
    return verdicts


def _judge(predicate: str, results: pd.DataFrame,
           params: dict[str, Any]) -> tuple[str, str | None, str]:
    outcome: tuple[str, str | None, str] = (UNKNOWN, None, "no scores yet")
    for source in SOURCES:
        rows = results[results["source"] == source].dropna(subset=["score"])
        if params.get("tasks"):
            rows = rows[rows["task"].isin(params["tasks"])]
        if rows.empty:
            continue
        verdict, evidence = PREDICATES[predicate](rows, params)
        if verdict != UNKNOWN:
            return verdict, source, f"{source}: {evidence}"
        outcome = (UNKNOWN, None, f"{source}: {evidence}")
    return outcome


def _pts(x: float) -> str:
    return f"{100 * x:.1f}"


def protocol(row: pd.Series) -> str:
    """What must match for two scores to compare (published rows carry their own)."""
    if row.get("source") == "reported" and isinstance(row.get("protocol"), str):
        return row["protocol"]
    shots = row.get("num_fewshot")
    n = "?" if shots is None or pd.isna(shots) else str(int(shots))
    kind = row.get("protocol") if isinstance(row.get("protocol"), str) else "native"
    return f"{n}-shot {kind}"


def _released_by(rows: pd.DataFrame, by: Any) -> pd.DataFrame:
    if by is None:
        return rows
    return rows[pd.to_datetime(rows["released"], errors="coerce") <= pd.Timestamp(str(by))]


def _line(task: str, a: pd.Series, b: pd.Series) -> str:
    same = protocol(a) == protocol(b)
    mark = "" if same else f" ≠ protocol ({protocol(a)} vs {protocol(b)}), not counted"
    return (f"{task}: {a['label']} {_pts(a['score'])} vs {b['label']} {_pts(b['score'])}"
            f"{mark}")


def _pairs(a: pd.DataFrame, b: pd.DataFrame) -> tuple[list, list[str]]:
    """(task, a row, b row) compared like with like, and the text of every shared task."""
    a, b = a.set_index("task"), b.set_index("task")
    shared = sorted(set(a.index) & set(b.index))
    same = [(t, a.loc[t], b.loc[t]) for t in shared if protocol(a.loc[t]) == protocol(b.loc[t])]
    return same, [_line(t, a.loc[t], b.loc[t]) for t in shared]


def fronts(rows: pd.DataFrame, by: Any = None) -> tuple[list, list[str]]:
    """Per task, best open vs best closed under one protocol (the one with the best closed).

    Tasks where no protocol has both sides are listed with the overall bests, marked '≠'.
    """
    rows = _released_by(rows, by).assign(proto=lambda d: d.apply(protocol, axis=1))
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
    scored = []
    for _, mine in opens.groupby("model"):
        same, text = _pairs(mine, ref)
        if len(same) < 2:
            continue
        wins = sum(a["score"] >= b["score"] - tol for _, a, b in same)
        deficit = sum(b["score"] - a["score"] for _, a, b in same) / len(same)
        scored.append((wins * 2 > len(same), wins / len(same), -deficit,
                       f"{mine['label'].iloc[0]} on {wins}/{len(same)}: " + "; ".join(text)))
    if not scored:
        return None, "no open model released by then shares 2+ comparable tasks with it"
    reached = [s for s in scored if s[0]]
    if reached:
        return True, "reaches it: " + max(reached, key=lambda s: (s[1], s[2]))[3]
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
