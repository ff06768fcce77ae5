"""The articles' claims (seeds/claims.yaml) checked against the numbers: two verdicts each.

A claim is judged twice: as of its own date (only models released by then) and as of today
(every model in the data), because the debate is a moving target. Each verdict reads one source
of scores at a time (measured first, then imported, then the independent evaluator, then
published), and compares like with like: two scores count against each other only in one
protocol series (report/protocol.py: every field equal, reasoning on never against off; for
measured ones shots and native/chat); the others are listed, marked '≠', and not counted. Each
verdict's evidence names the pairs it used, with their series and, for a pair from one source
table, the table. What each predicate computes, and its evidence text: report/predicates.py.

A forecast (a claim whose deadline, `by` or `to`, lies after its own date) is undecidable as of
its own date, unless what it forecasts has already happened by then (`SETTLED_EARLY`: "an
open model will reach X by D" is settled once one does; "none will" is settled only at D).
Judged today, the same holds with the data's date (the published freeze date) in place of the
claim's date.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from openvsclosed.report.claimsfile import ClaimsError, read_claims
from openvsclosed.report.predicates import (
    CATEGORIES,
    CONTRADICTED,
    PREDICATES,
    SUPPORTED,
    UNKNOWN,
    category_of,
    fronts,
    protocol,
)

UNDECIDABLE = "undecidable yet"
SOURCES = ("measured", "imported", "independent", "reported")
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


SETTLED_EARLY = {"open_reaches": SUPPORTED, "no_open_reaches": CONTRADICTED,
                 "open_matches_frontier": SUPPORTED}
"""Verdicts a forecast can reach before its deadline (the event it names has happened)."""


def _forecast(predicate: str, verdict: tuple[str, str | None, str], deadline: Any,
              judged_at: Any, what: str) -> tuple[str, str | None, str]:
    """UNDECIDABLE for a verdict that needs a deadline not yet passed at `judged_at`."""
    if deadline is None or pd.isna(judged_at) or deadline <= pd.Timestamp(judged_at):
        return verdict
    if verdict[0] == SETTLED_EARLY.get(predicate):
        return verdict
    return (UNDECIDABLE, verdict[1], f"a forecast: its deadline {deadline.date()} is after "
            f"{what} {pd.Timestamp(judged_at).date()}; so far: {verdict[2]}")


def _deadline(params: dict[str, Any]) -> pd.Timestamp | None:
    """A forecast's deadline (`by`, else `to`), or None for a claim about the present."""
    value = params.get("by", params.get("to"))
    return None if value is None else pd.Timestamp(str(value))


def judge_claims(claims: list[dict[str, Any]], results: pd.DataFrame,
                 as_of: Any = None) -> list[ClaimVerdict]:
    """Both verdicts for every claim, each from the first source whose data can decide it.

    `as_of`: the date the data run to (the published freeze date); default the newest release.
    """
    keep = ["model", "label", "access", "released", "params_b", "task", "score", "source",
            "protocol", "num_fewshot", "table", "same_key", "valid"]
    results = results[[c for c in keep if c in results.columns]].copy()
    for column in ("model", "label", "access", "task", "source", "protocol"):
        if column in results:
            results[column] = results[column].astype(object)
    if len(results):  # each row's comparison key once, not once per claim (predicates.protocol)
        results["proto"] = results.apply(protocol, axis=1)
    released = pd.to_datetime(results["released"], errors="coerce")
    verdicts = []
    for claim in claims:
        params = claim.get("params") or {}
        when = pd.Timestamp(str(claim["when"]))
        then_rows = results[released <= when]
        today = {k: v for k, v in params.items() if k not in ("as_of", "to")}
        deadline = _deadline(params)
        through = pd.Timestamp(str(as_of)) if as_of is not None else released.max()
        try:
            then = _judge(claim["predicate"], then_rows, params)
            now = _judge(claim["predicate"], results, today)
            then = _forecast(claim["predicate"], then, deadline, when, "its date")
            now = _forecast(claim["predicate"], now, deadline, through, "the data's date")
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
        if "valid" in rows:
            rows = rows[rows["valid"].astype(object).ne(False)]
        if params.get("tasks"):
            rows = rows[rows["task"].isin(params["tasks"])]
        if rows.empty:
            continue
        verdict, evidence = PREDICATES[predicate](rows, params)
        if verdict != UNKNOWN:
            return verdict, source, f"{source}: {evidence}"
        outcome = (UNKNOWN, None, f"{source}: {evidence}")
    return outcome


__all__ = ["CATEGORIES", "CONTRADICTED", "PREDICATES", "SOURCES", "SUPPORTED", "UNDECIDABLE",
           "UNKNOWN", "ClaimVerdict", "ClaimsError", "category_of", "fronts", "judge_claims",
           "load_claims", "protocol"]
