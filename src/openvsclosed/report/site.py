"""A site of dated snapshots: the report's history, an index page and a JSON feed.

Why: each rebuild of a report overwrote the last, so the "moving target" the articles argue
about could not be seen. `openvsclosed report --site DIR` writes the report into
`DIR/<YYYY-MM-DD>/` (a rebuild on the same day replaces that day's snapshot, earlier days are
kept), stores the snapshot's answer in `DIR/<date>/snapshot.json`, then rebuilds from every
snapshot there:
- `DIR/index.html`: the latest answer, what changed since the snapshot before it (new models,
  leads that changed side, how far the lag moved), the headline over time, links to each one;
- `DIR/feed.json`: the same, machine-readable (the answer and the per-family pairs of every
  snapshot, newest first), so others can build on it.
The index is rebuilt from the snapshot files alone, so deleting a snapshot folder and running
again drops it everywhere.
"""

from __future__ import annotations

import json
import re
from datetime import date as Date
from datetime import datetime, timezone
from html import escape
from pathlib import Path

import pandas as pd

from openvsclosed.report.headline import family_of, pick_rows
from openvsclosed.report.html import MEASURE, STYLE, answer_numbers
from openvsclosed.report.publish import plain
from openvsclosed.store import write_atomic

SNAPSHOT = "snapshot.json"
FEED_VERSION = 1
DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ANSWER_KEYS = ["sentence", "leads", "lag_months", "lag_low", "lag_high", "lag_estimator",
               "data_through", "families", "pairs", "censored", "sureness", "family_leads"]


class _Answer:
    """A stored answer read back with attribute access (html.answer_numbers reads these)."""

    def __init__(self, data: dict) -> None:
        for key in ANSWER_KEYS:
            setattr(self, key, data.get(key))


def snapshot_date(text: str | None = None) -> str:
    """Today (UTC) or the given ISO date, checked (raises ReportError)."""
    from openvsclosed.report.write import ReportError

    if text is None:
        return datetime.now(timezone.utc).date().isoformat()
    try:
        return Date.fromisoformat(str(text)).isoformat()
    except ValueError:
        raise ReportError(f"--snapshot-date: {str(text)[:40]!r} is not a date; allowed: "
                          "YYYY-MM-DD (default: today, UTC).") from None


def fallback_answer(tables) -> dict:
    """The answer's fields from the tables, for a headline built without an `Answer`."""
    gap = tables.gap
    sources = [s for s in ("independent", "reported", "measured", "imported")
               if not gap.empty and s in set(gap["source"])]
    source = sources[0] if sources else None
    rows = pick_rows(gap[gap["source"] == source], per_family=True) if source else gap.iloc[0:0]
    leads = [{"family": family_of(r["task"]), "leader": r["leader"], "gap": r["gap"],
              "open_model": r["best_open"], "closed_model": r["best_closed"],
              "open_score": r["open_score"], "closed_score": r["closed_score"],
              "date": max(str(r["open_released"] or ""), str(r["closed_released"] or "")),
              "protocol": r["protocol"], "source": source} for _, r in rows.iterrows()]
    lag = {"lag_months": None, "lag_low": None, "lag_high": None, "censored": 0}
    try:
        summary = tables.lag_estimates[source]["summary"].set_index("estimator").loc["records"]
        lag = {"lag_months": summary["mean_months"], "lag_low": summary["ci_low"],
               "lag_high": summary["ci_high"], "censored": int(summary["censored"])}
    except (KeyError, TypeError, ValueError, AttributeError):
        pass
    dates = pd.to_datetime(tables.points["date"], errors="coerce") if len(tables.points) else []
    count = {side: sum(1 for f in leads if f["leader"] == side) for side in ("closed", "open")}
    answers = getattr(tables.headline, "answers", None) or [""]
    return plain({"sentence": answers[0], "leads": count, **lag,
                  "lag_estimator": "closed records reached (mean)",
                  "data_through": str(dates.max().date()) if len(dates) else "",
                  "families": len(leads), "pairs": len(leads),
                  "sureness": f"{len(leads)} task families, {source or 'no'} data.",
                  "family_leads": leads})


def snapshot_summary(tables, title: str, day: str) -> dict:
    """What the index and the feed keep of one snapshot."""
    answer = getattr(tables.headline, "answer", None)
    stored = plain(answer) if answer is not None else fallback_answer(tables)
    if not stored.get("data_through") and len(tables.points):
        stored["data_through"] = str(pd.to_datetime(tables.points["date"]).max().date())
    results = tables.results
    models = [] if results.empty else sorted(
        {(str(r["label"]), str(r["access"])) for _, r in results.iterrows()})
    return {"feed_version": FEED_VERSION, "date": day, "title": title, "answer": stored,
            "models": [{"model": m, "access": a} for m, a in models]}


def add_snapshot(site: Path, tables, title: str, day: str | None = None) -> Path:
    """Write the report into `site/<day>/`, record its answer, rebuild the index and feed."""
    from openvsclosed.report.write import check_out_dir, write_all

    day = snapshot_date(day)
    folder = check_out_dir(Path(site) / day, "--site")
    tables.files = write_all(folder, tables, title)
    finish_snapshot(site, tables, title, day)
    return folder


def finish_snapshot(site: Path, tables, title: str, day: str) -> list[Path]:
    """After the report is in `site/<day>/`: its snapshot.json, then the index and the feed."""
    write_atomic(Path(site) / day / SNAPSHOT, json.dumps(
        snapshot_summary(tables, title, day), indent=1, ensure_ascii=False) + "\n")
    return build_index(Path(site))


def load_snapshots(site: Path) -> list[dict]:
    """Every readable snapshot of the site, oldest first (unreadable ones are left out)."""
    found = []
    for folder in sorted(p for p in Path(site).iterdir() if DATE_DIR.match(p.name)):
        try:
            data = json.loads((folder / SNAPSHOT).read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("answer"), dict):
            found.append({**data, "date": folder.name})
    return found


def _leaders(snapshot: dict) -> dict[str, str]:
    return {str(f.get("family")): str(f.get("leader"))
            for f in snapshot["answer"].get("family_leads") or []}


def _months(value: object) -> str:
    return "no estimate" if value is None else f"{float(value):.1f} months"


def what_changed(before: dict, after: dict) -> list[str]:
    """New models, leads that changed side, and how far the lag moved, in plain lines."""
    lines = []
    old = {m["model"] for m in before.get("models", [])}
    new = [m for m in after.get("models", []) if m["model"] not in old]
    lines.append("New models: " + ", ".join(f"{m['model']} ({m['access']})" for m in new) + "."
                 if new else "No new models.")
    was, now = _leaders(before), _leaders(after)
    moved = [f"{f}: {was[f]} → {now[f]}" for f in now if f in was and was[f] != now[f]]
    moved += [f"{f}: new family, {now[f]} leads" for f in now if f not in was]
    moved += [f"{f}: no longer compared" for f in was if f not in now]
    lines.append("New leads: " + "; ".join(moved) + "." if moved
                 else "No family changed its leader.")
    lag_was, lag_now = before["answer"].get("lag_months"), after["answer"].get("lag_months")
    if lag_was is not None and lag_now is not None:
        delta = float(lag_now) - float(lag_was)
        lines.append(f"Lag moved from {_months(lag_was)} to {_months(lag_now)} ({delta:+.1f})."
                     if abs(delta) >= 0.05 else f"Lag unchanged at {_months(lag_now)}.")
    else:
        lines.append(f"Lag: {_months(lag_was)} then, {_months(lag_now)} now.")
    through = (before["answer"].get("data_through"), after["answer"].get("data_through"))
    if through[0] != through[1]:
        lines.append(f"Data now run to {through[1] or '—'} (were to {through[0] or '—'}).")
    return lines


def feed(snapshots: list[dict], title: str) -> dict:
    """The JSON feed: every snapshot's answer and per-family pairs, newest first."""
    items = []
    for i, snap in enumerate(snapshots):
        changed = what_changed(snapshots[i - 1], snap) if i else []
        items.append({"date": snap["date"], "url": f"{snap['date']}/index.html",
                      "report_json": f"{snap['date']}/report.json", "answer": snap["answer"],
                      "models": snap.get("models", []), "what_changed": changed})
    return {"feed_version": FEED_VERSION, "title": title,
            "updated": snapshots[-1]["date"] if snapshots else None,
            "snapshots": list(reversed(items))}


def _row(snap: dict) -> str:
    a = snap["answer"]
    leads = a.get("leads") or {}
    lag = "—" if a.get("lag_months") is None else f"{float(a['lag_months']):.1f}"
    if a.get("lag_low") is not None and a.get("lag_high") is not None:
        lag += f" [{float(a['lag_low']):.1f}, {float(a['lag_high']):.1f}]"
    cells = [f'<a href="{escape(snap["date"])}/index.html">{escape(snap["date"])}</a>',
             escape(str(a.get("sentence") or "")), str(leads.get("closed", 0)),
             str(leads.get("open", 0)), str(leads.get("tie", 0)), escape(lag),
             escape(str(a.get("data_through") or "—"))]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def index_html(snapshots: list[dict], title: str) -> str:
    """The site's front page: the latest answer, what changed, the headline over time."""
    latest = snapshots[-1]
    answer = _Answer(latest["answer"])
    nums = "".join(f'<div class="num"><span class="big {cls}">{escape(big)}</span>'
                   f'<span class="what">{escape(what)}</span></div>'
                   for big, what, cls in answer_numbers(answer))
    if len(snapshots) > 1:
        changes = "".join(f"<li>{escape(line)}</li>"
                          for line in what_changed(snapshots[-2], latest))
        changed = (f'<section id="changed"><h2>What changed since {escape(snapshots[-2]["date"])}'
                   f"</h2><ul>{changes}</ul></section>")
    else:
        changed = ('<section id="changed"><h2>What changed</h2><p>This is the first snapshot; '
                   "the next one will be compared with it.</p></section>")
    rows = "\n".join(_row(s) for s in reversed(snapshots))
    header = "".join(f'<th scope="col">{h}</th>' for h in (
        "Snapshot", "The answer then", "Closed leads", "Open leads", "Tied",
        "Lag, months [95%]", "Data through"))
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)}</title><link rel="alternate" type="application/json" '
            f'href="feed.json"><style>{STYLE}</style></head>\n<body>'
            f"<h1>{escape(title)}: snapshot of {escape(latest['date'])}</h1>"
            f'<section id="headline"><p class="sentence">{escape(answer.sentence or "")}</p>'
            f'<div class="numbers">{nums}</div><p class="sureness">'
            f"{escape(str(answer.sureness or ''))}</p><p><a href=\"{escape(latest['date'])}/"
            f'index.html">The full report of {escape(latest["date"])}</a> · '
            f'<a href="feed.json">feed.json</a> (every snapshot\'s answer and per-family '
            f"pairs)</p></section>\n{changed}\n"
            f'<section id="history"><h2 id="h-history">The headline over time</h2>'
            f'<div class="scroll" role="region" tabindex="0" aria-labelledby="h-history">'
            f'<table id="t-history"><thead><tr>{header}</tr></thead><tbody>\n{rows}\n'
            f"</tbody></table></div></section><script>{MEASURE}</script></body></html>\n")


def build_index(site: Path, title: str | None = None) -> list[Path]:
    """Rebuild `site/index.html` and `site/feed.json` from every snapshot in `site`."""
    snapshots = load_snapshots(site)
    if not snapshots:
        return []
    title = title or str(snapshots[-1].get("title") or "Open vs closed LLMs")
    write_atomic(site / "feed.json", json.dumps(feed(snapshots, title), indent=1,
                                                ensure_ascii=False) + "\n")
    write_atomic(site / "index.html", index_html(snapshots, title))
    return [site / "index.html", site / "feed.json"]
