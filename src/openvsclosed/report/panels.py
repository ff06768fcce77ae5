"""What one frontier panel shows: which points its lines come from, its gap and its lag.

Which points a panel draws: the series the headline's answer used for that family (the points
whose key `FamilyLead.series_field`, built by lag.series_keys for both, equals
`FamilyLead.protocol`) when the answer has that family; otherwise, and for the other sources,
the task (or series) of the family where both sides' newest scores are newest, then the one
with the most points. Other tasks or protocols of the family are drawn as
faint grey dots, never joined into the lines (they are not like with like).
Sources are never pooled: a source's lines are drawn from its own points only.

The gap on a panel is the answer's for that family when the answer has one (its like-with-like
pair, its tie rule); otherwise best closed − best open of the drawn lines at the data's date.
The lag on a panel is the catch-up time of the open side's best score: months from the date a
closed model first scored that high to the date the open side did (0 when open got there
first), drawn as a double arrow. Not measured at the data's date: on a family nobody published
on for years that distance would only grow.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from openvsclosed.report.headline import family_of
from openvsclosed.report.lag import months_between


@dataclass
class Panel:
    """What one panel shows, for the alt text, the page and the tests."""

    family: str
    task: str
    """The task the lines are drawn from."""
    series: str
    """Its series key (the answer's, when the panel draws the answer's series; else the
    points' `series`), or the task when the points have none."""
    source: str
    gap: float | None
    """Best closed − best open at the data's date, in points."""
    lag_months: float | None
    """Frontier distance: 0 when open is ahead; None when a side has no score."""
    others: int = 0
    """Faint points of other tasks or protocols of the family."""
    verdict: str | None = None
    """The answer's leader for this family ('tie' within its noise rule), when it has one:
    the panel then states the answer's pair and gap, so the page never contradicts itself."""

    @property
    def leader(self) -> str:
        """'closed', 'open', 'tie' or '' (no pair)."""
        if self.verdict:
            return self.verdict
        if self.gap is None:
            return ""
        return "closed" if self.gap > 0 else "open" if self.gap < 0 else "tie"

    def text(self) -> str:
        """The two lines written on the panel."""
        if self.gap is None:
            return "one side only: no gap"
        gap = (f"tie (gap {self.gap:+.1f}" if self.leader == "tie" else
               f"closed leads by {abs(self.gap):.1f}" if self.leader == "closed" else
               f"open leads by {abs(self.gap):.1f}")
        lag = ("lag: none, open got there first" if not self.lag_months
               else f"lag: open got there {self.lag_months:.0f} months later")
        return f"{gap} points{')' if self.leader == 'tie' else ''}\n{lag}"


def with_family(points: pd.DataFrame) -> pd.DataFrame:
    """Points with a `family` column (kept when the tables already carry one)."""
    family = (points["family"] if "family" in points
              else points["benchmark"].map(family_of) if len(points) else pd.Series(dtype=object))
    out = points.assign(family=family)
    if "source" not in out:
        out["source"] = "reported"
    return out.assign(date=pd.to_datetime(out["date"], errors="coerce")).dropna(
        subset=["date", "score"]).reset_index(drop=True)  # unique labels: panels drop by index


def lead_of(answer, family: str):
    """The answer's lead for `family` (None when the answer has none)."""
    leads = getattr(answer, "family_leads", None) or []
    return next((f for f in leads if f.family == family), None)


def pick_series(rows: pd.DataFrame, lead) -> tuple[dict[str, pd.DataFrame], bool]:
    """Per source, the rows the lines are drawn from, and whether the answer's is among them."""
    key = "series" if "series" in rows and rows["series"].notna().any() else "benchmark"
    picked: dict[str, pd.DataFrame] = {}
    field = getattr(lead, "series_field", "series")
    if lead is not None and field in rows:
        same = rows[rows[field] == lead.protocol]
        picked = {str(s): g for s, g in same.groupby("source", sort=True)}
    matched = bool(picked)
    for source, on_source in rows.groupby("source", sort=True):
        if str(source) in picked:
            continue
        best, best_rank = None, None
        for _, group in on_source.groupby(key, sort=True):
            newest = group.groupby("access")["date"].max()
            both = {"open", "closed"} <= set(newest.index)
            rank = (both, newest.min() if both else newest.max(), len(group))
            if best_rank is None or rank > best_rank:
                best, best_rank = group, rank
        picked[str(source)] = best
    return picked, matched


def measure(rows: pd.DataFrame, as_of: pd.Timestamp) -> tuple[float | None, float | None]:
    """Latest gap (closed − open, points) at `as_of`, and the catch-up time in months."""
    span = catch_up(rows, as_of)
    if span is None:
        return None, None
    opened, closed = (rows[(rows["access"] == side) & (rows["date"] <= as_of)]
                      for side in ("open", "closed"))
    gap = 100 * (float(closed["score"].max()) - float(opened["score"].max()))
    return gap, (0.0 if span[0] is None else max(months_between(span[0], span[1]), 0.0))


def catch_up(rows: pd.DataFrame, as_of: pd.Timestamp) -> tuple | None:
    """(date closed first stood at the open side's best, date open got there, that level).

    The first date is None when the closed side never stood there (open ahead); None in all
    when a side has no score. Measured where the open side got to, not at `as_of`: a family
    nobody published on for years would otherwise show a lag that only grows.
    """
    rows = rows[rows["date"] <= as_of]
    opened, closed = rows[rows["access"] == "open"], rows[rows["access"] == "closed"]
    if opened.empty or closed.empty:
        return None
    level = float(opened["score"].max())
    reached = opened.loc[opened["score"] >= level, "date"].min()
    there = closed.loc[closed["score"] >= level, "date"]
    first = there.min() if len(there) and there.min() < reached else None
    return first, reached, level
