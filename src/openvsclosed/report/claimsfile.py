"""The claims file read and checked whole: one paragraph per problem, never a traceback."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

REQUIRED = ("id", "article", "who", "when", "statement", "predicate")
MAX_CLAIMS_BYTES = 1_000_000


class ClaimsError(ValueError):
    """A claims file that cannot be judged: the message names the file, the claim and the key."""


def read_claims(path: Path, predicates: Collection[str]) -> list[dict[str, Any]]:
    """The structured claims file (a list of mappings with id, predicate, params...).

    Checked whole before any judging, so a bad file stops the report with one paragraph
    instead of a traceback halfway through writing it.
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_CLAIMS_BYTES:
            raise ClaimsError(f"{path}: larger than {MAX_CLAIMS_BYTES:,} bytes; allowed: a "
                              "claims YAML like seeds/claims.yaml.")
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ClaimsError(f"{path}: not a readable claims YAML ({reason}); allowed: a list of "
                          "claims like seeds/claims.yaml.") from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise ClaimsError(f"{path}: the top level is a {type(data).__name__}; allowed: a list "
                          "of claims like seeds/claims.yaml.")
    for i, claim in enumerate(data):
        where = f"{path}: claim [{i}]"
        if not isinstance(claim, dict):
            raise ClaimsError(f"{where} is a {type(claim).__name__}; allowed: a mapping with "
                              f"{', '.join(REQUIRED)} and optional params.")
        lacking = [k for k in REQUIRED if k not in claim]
        if lacking:
            raise ClaimsError(f"{where}: missing {', '.join(lacking)}; each claim needs "
                              f"{', '.join(REQUIRED)}.")
        if claim["predicate"] not in predicates:
            raise ClaimsError(f"{where}: predicate: unknown {str(claim['predicate'])[:80]!r}; "
                              f"allowed: {', '.join(sorted(predicates))}.")
        if not isinstance(claim.get("params") or {}, dict):
            raise ClaimsError(f"{where}: params: allowed: a mapping.")
        try:
            pd.Timestamp(str(claim["when"]))
        except (ValueError, TypeError):
            raise ClaimsError(f"{where}: when: {str(claim['when'])[:40]!r} is not a date; "
                              "allowed: YYYY-MM-DD.") from None
    return data
