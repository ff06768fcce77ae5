"""The headline's notes to act on: failed and skipped jobs, how to fill the measured side.

Kept apart from the answer (report/headline.py) so each stays one job; headline re-exports them.
"""

from __future__ import annotations

import pandas as pd

KEY_HINT = ("OPENAI_API_KEY (OpenAI), ANTHROPIC_API_KEY (Anthropic), GEMINI_API_KEY (Google)")


def closed_key_hint() -> str:
    """The key variables the catalog's closed models read (a fixed list if it cannot load)."""
    try:
        from openvsclosed.catalog import load_catalog

        keys: dict[str, set[str]] = {}
        for e in load_catalog().values():
            if e.access == "closed" and e.api_key_env:
                keys.setdefault(e.api_key_env, set()).add(e.organization)
        return ", ".join(f"{k} ({', '.join(sorted(v))})" for k, v in sorted(keys.items()))
    except Exception:
        return KEY_HINT


def fill_note(results: pd.DataFrame, measured_dir: bool) -> str | None:
    """How to fill the measured side, when a results directory holds no closed model."""
    if not measured_dir:
        return None
    measured = results[results["source"] == "measured"] if not results.empty else results
    if not measured.empty and (measured["access"] == "closed").any():
        return None
    keys = (f"set {closed_key_hint()} (or the `api_key_env` a config names), then run the same "
            "config again: finished jobs are kept and only the missing ones run "
            "(`openvsclosed run CONFIG --dry-run` lists them).")
    if measured.empty:
        return ("Nothing was measured yet in this results directory: `openvsclosed run CONFIG` "
                "fills it. Closed models run only when their key variable is set: " + keys)
    return ("No closed model was measured, so the measured gap is empty. `openvsclosed run` "
            "skips a closed model whose key variable is unset: " + keys)


def failed_note(failed: list, limit: int = 5) -> str | None:
    """Jobs whose last attempt failed, so the coverage above is not overstated."""
    if not failed:
        return None
    names = "; ".join(f"{f.model_id} × {f.task} ({f.error_type})" for f in failed[:limit])
    more = f"; and {len(failed) - limit} more" if len(failed) > limit else ""
    return (f"{len(failed)} job(s) failed and have no result: {names}{more}. Details in "
            "failures.jsonl; run the config again to retry them.")


def skipped_note(skipped: list[dict], limit: int = 4) -> str | None:
    """Jobs the last run left out, by reason: what the measured side is missing, and why."""
    if not skipped:
        return None
    reasons: dict[str, list[str]] = {}
    for s in skipped:
        reasons.setdefault(str(s.get("reason")), []).append(f"{s.get('model')} × {s.get('task')}")
    parts = [f"{len(jobs)} for {reason} ({'; '.join(jobs[:limit])}"
             + (f"; and {len(jobs) - limit} more" if len(jobs) > limit else "") + ")"
             for reason, jobs in reasons.items()]
    return f"The last run skipped {len(skipped)} job(s): " + "; ".join(parts) + "."


__all__ = ["KEY_HINT", "closed_key_hint", "failed_note", "fill_note", "skipped_note"]
