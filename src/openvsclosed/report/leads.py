"""Per task family: which side leads like with like, by how much, with the pair and its date.

A lead is decided only by a like-with-like pair (report/protocol.py): the best open and the
best closed number within one protocol series. Mixed "best way" rows never decide a family.
Per family the pair comes from the strongest evidence there is, in this order:

1. `independent`: an independent evaluator's one protocol (Epoch AI's hub, source
   `independent`), where it has both sides on a benchmark of the family;
2. `same table`: one row of one source table, best open vs best closed in it;
3. `like with like`: numbers from different makers' tables under equal stated settings;
4. `measured`, then `imported`: results of this harness (one protocol by construction).

The question is where the frontiers stand now, so only pairs from the family's last
`CURRENT_DAYS` (counted back from its newest pair, by the later of a pair's two releases) take
part: a 2023 same-table pair must not decide a family that has a 2024 pair between two makers'
tables. Among those, the strongest tier wins, then the newest pair, then the larger closed
score.
A lead smaller than `TIE_POINTS` with no interval, or whose 95% interval covers 0, is a tie:
makers round to a tenth, reruns of a sampled benchmark move by about a point.
"""

from __future__ import annotations

import math

import pandas as pd

from openvsclosed.report.protocol import family_of

TIE_POINTS = 1.0
"""A published gap this small (points) is a tie: within rounding and rerun noise."""
CURRENT_DAYS = 365
"""Pairs older than this before the family's newest pair do not decide its lead."""
TIER_ORDER = ("independent", "same table", "like with like", "measured", "imported")
TIER_WORDS = {"same table": "one table", "like with like": "two tables",
              "independent": "independent evaluator"}
"""How each tier of pair reads in prose (its own name, after "like with like", repeats it)."""
PAIR_COLUMNS = ["family", "task", "tier", "series", "open_model", "closed_model", "open_score",
                "closed_score", "gap", "leader", "date", "open_released", "closed_released",
                "table", "source", "ci_low", "ci_high"]


def _best(rows: pd.DataFrame) -> pd.Series:
    return rows.sort_values(["score", "label"], ascending=[False, True], kind="stable").iloc[0]


def _pair(family: str, tier: str, series: str, rows: pd.DataFrame,
          table: str | None) -> dict | None:
    o, c = rows[rows["access"] == "open"], rows[rows["access"] == "closed"]
    if o.empty or c.empty:
        return None
    bo, bc = _best(o), _best(c)
    gap = 100 * (float(bc["score"]) - float(bo["score"]))
    se = [bo.get("stderr"), bc.get("stderr")]
    low = high = None
    if all(isinstance(x, float) and not math.isnan(x) for x in se):
        half = 1.96 * 100 * math.hypot(*se)
        low, high = gap - half, gap + half
    tie = (low <= 0 <= high) if low is not None else abs(gap) < TIE_POINTS
    leader = "tie" if tie else "closed" if gap > 0 else "open"
    dates = [str(x)[:10] for x in (bo.get("released"), bc.get("released"))]
    return {"family": family, "task": str(bo["task"]), "tier": tier, "series": series,
            "open_model": bo["label"], "closed_model": bc["label"],
            "open_score": 100 * float(bo["score"]), "closed_score": 100 * float(bc["score"]),
            "gap": gap, "leader": leader, "date": max(dates), "open_released": dates[0],
            "closed_released": dates[1], "table": table, "source": str(bo["source"]),
            "ci_low": low, "ci_high": high}


def series_pairs(results: pd.DataFrame) -> pd.DataFrame:
    """Every like-with-like pair (best open vs best closed per series), with its tier.

    `series` is the key the pair was grouped by: the rows' `series`, or their `same_series`
    for a same-table pair (lag.series_keys builds both, lag.key_field says which).
    """
    from openvsclosed.report.lag import series_keys

    scored = results.dropna(subset=["score"]) if not results.empty else results
    if "valid" in scored:
        scored = scored[scored["valid"].astype(object).ne(False)]
    if scored.empty:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    keys = series_keys(scored)
    scored = scored.assign(_series=keys["series"], same_series=keys["same_series"],
                           _family=scored["task"].map(family_of))
    pairs = []
    for (source, series), rows in scored.groupby(["source", "_series"], sort=True):
        family = str(rows["_family"].iloc[0])
        if source == "reported":
            if " · table " not in str(series):  # stated protocol: tables may meet
                pairs.append(_pair(family, "like with like", str(series), rows, None))
        else:
            tier = source if source in TIER_ORDER else "measured"
            pairs.append(_pair(family, tier, str(series), rows, None))
    reported = scored[(scored["source"] == "reported") & scored["same_series"].notna()]
    for key, rows in reported.groupby("same_series", sort=True):
        pairs.append(_pair(str(rows["_family"].iloc[0]), "same table", str(key), rows,
                           str(rows["table"].iloc[0])))
    pairs.sort(key=lambda p: TIER_ORDER.index(p["tier"]) if p else 99)
    frame = pd.DataFrame([p for p in pairs if p], columns=PAIR_COLUMNS)
    # a cross-table pair that is the same two numbers as a same-table pair adds nothing
    return frame.drop_duplicates(["family", "task", "open_model", "closed_model", "open_score",
                                  "closed_score"], keep="first").reset_index(drop=True)


def family_leads(pairs: pd.DataFrame) -> pd.DataFrame:
    """One pair per family: among current pairs, strongest tier, newest, higher closed score."""
    if pairs.empty:
        return pairs
    dates = pd.to_datetime(pairs["date"], errors="coerce")
    newest = dates.groupby(pairs["family"]).transform("max")
    pairs = pairs[dates >= newest - pd.Timedelta(days=CURRENT_DAYS)]
    ranked = pairs.assign(_tier=pairs["tier"].map({t: i for i, t in enumerate(TIER_ORDER)}))
    ranked = ranked.sort_values(["family", "_tier", "date", "closed_score"],
                                ascending=[True, True, False, False], kind="stable")
    return ranked.drop_duplicates("family").drop(columns="_tier").reset_index(drop=True)


__all__ = ["TIER_ORDER", "TIE_POINTS", "family_leads", "series_pairs"]
