"""A measurement that did not happen is not a score: no-answer, truncated and refused rates.

Each measured record counts the replies that held no extractable answer (`no_answer`), that the
output-token limit cut (`truncated`) and that the provider withheld (`refused`). They are scored
wrong, so a server whose replies hold no answer letter scores 0 and "loses" every task: the
score then measures the reply format, not the model. Rule: a result where more than half the
replies hold no answer (`NO_ANSWER_LIMIT`) is invalid: shown, marked, and kept out of the gap,
the lag and the headline. Why one half: a model answering at all gets most replies into the
expected format; past half, the majority of the score is format failure, and no chance-level
correction makes the rest comparable. Truncated and refused replies are shown beside the score
(they can be the model's own doing, e.g. a reasoning model spending its budget) and named in the
fix note when they explain the no-answers.
"""

from __future__ import annotations

import pandas as pd

NO_ANSWER_LIMIT = 0.5
"""Share of replies with no answer above which a measured result is invalid (module doc)."""
COUNTS = ("no_answer", "truncated", "refused")


def add_validity(results: pd.DataFrame) -> pd.DataFrame:
    """`<count>_rate` columns (share of n; NA where n or the count is unknown) and `valid`."""
    out = results.copy()
    n = pd.to_numeric(out["n"], errors="coerce") if "n" in out else pd.Series(pd.NA, out.index)
    n = n.where(n > 0)
    for count in COUNTS:
        values = pd.to_numeric(out[count], errors="coerce") if count in out else None
        out[f"{count}_rate"] = (values / n) if values is not None else float("nan")
    rate = pd.to_numeric(out["no_answer_rate"], errors="coerce")
    out["valid"] = ~(rate > NO_ANSWER_LIMIT)
    return out


def invalid_note(results: pd.DataFrame, limit: int = 4) -> str | None:
    """What to fix for the invalid results, or None when every result is valid."""
    if "valid" not in results or results.empty:
        return None
    bad = results[results["valid"].astype(object).eq(False)]
    if bad.empty:
        return None
    names = []
    for _, r in bad.head(limit).iterrows():
        cut = r.get("truncated_rate")
        why = (f", {cut:.0%} truncated" if isinstance(cut, float) and cut == cut and cut > 0
               else "")
        names.append(f"{r['label']} × {r['task']} ({r['no_answer_rate']:.0%} no answer{why})")
    more = f"; and {len(bad) - limit} more" if len(bad) > limit else ""
    truncated = pd.to_numeric(bad.get("truncated_rate"), errors="coerce").fillna(0)
    fix = ("raise `max_gen_toks` (the replies were cut before the answer)"
           if (truncated > NO_ANSWER_LIMIT / 2).any() else
           "check the model's reply format against the task's answer pattern (e.g. the reply "
           "should end with 'The answer is X'), the prompt or chat template, and `max_gen_toks`")
    return (f"{len(bad)} measured result(s) are invalid and left out of the gap, the lag and "
            f"the headline: more than {NO_ANSWER_LIMIT:.0%} of the replies held no answer, so "
            f"the score measures the reply format, not the model: {'; '.join(names)}{more}. "
            f"To fix: {fix}; then run the config again with --force for those jobs.")


__all__ = ["NO_ANSWER_LIMIT", "add_validity", "invalid_note"]
