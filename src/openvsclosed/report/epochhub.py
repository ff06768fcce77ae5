"""Epoch AI's Benchmarking Hub (`benchmark_data.zip`, one CSV per benchmark) -> independent rows.

Epoch runs open and closed models under one protocol per benchmark and publishes the results
daily (https://epoch.ai/data/benchmark_data.zip, CC BY 4.0). `openvsclosed import-epoch ZIP`
reads the zip into a folder the report reads (`DEFAULT_DIR`, or `--out`); `report` picks up
`--epoch-hub PATH` (a zip, such a folder, or the unzipped export), else `$OVC_EPOCH_HUB`, else
the default folder, else a copy shipped in the package (data/epoch_hub/), so a user with
internet refreshes the independent side without waiting for a release. Rules:

- Column names come from `COLUMNS` (candidates per field, first present wins) so a renamed or
  added column needs one line here; extra columns are ignored.
- Each benchmark is one series: Epoch's own protocol, run by an independent evaluator.
- Openness: the run files have none, so it comes from the export's own metadata
  (`epoch_capabilities_index.csv`'s `Model accessibility`: "Open weights (...)" is open, "API
  access" and "Hosted access" closed, "Unreleased" and empty unknown), else from the model
  metadata of the source tables (data/sources) or the catalog, matched by name without the
  provider prefix and the `_effort` suffix; else the row is excluded with the stated reason
  "openness unknown". A row without a release date is excluded likewise.
- Every run row is kept (a model at several efforts is several points); the frontier takes the
  best, as the hub's own charts do.
- Files ending `_external` are numbers Epoch copied from other leaderboards, not its runs under
  one protocol: they are not imported.
- Scores are fractions (a file in percent is detected by values above 1.5 and divided).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import zipfile
from importlib import resources
from pathlib import Path

import pandas as pd

COLUMNS = {
    "model": ("Model version", "model_version", "Model"),
    "score": ("Best score (across scorers)", "mean_score"),
    "stderr": ("stderr", "Stderr"),
    "released": ("Release date", "release_date", "date"),
    "organization": ("Organization", "organization"),
    "access": ("Model accessibility", "accessibility", "Accessibility group"),
}
"""Candidate column names per field (data/epoch_hub_format.md, read in real copies of the
export); the first present wins, later ones fill its gaps (`mean_score` where the best score is
empty)."""
BENCHMARKS = {"gpqa_diamond": ("gpqa_diamond", ""), "math_level_5": ("math", "level 5"),
              "otis_mock_aime": ("otis_mock_aime", "2024-2025"),
              "frontiermath_tier_4": ("frontiermath", "tier 4"),
              "frontiermath": ("frontiermath", "tiers 1-3"),
              "swe_bench_verified": ("swe_bench_verified", "")}
"""CSV stem prefix -> (task id, version), checked in order; other run files keep their stem."""
ACCESS_FILES = ("epoch_capabilities_index.csv", "model_metadata.csv", "eci_scores.csv")
"""Files that state each model version's accessibility (joined on the model version)."""
SKIP = ("_external", "epoch_capabilities_index", "model_metadata", "benchmark_metadata",
        "eci_", "swe_bench_bash")
"""Not Epoch's own runs under one protocol (copied leaderboards, metadata, another scale)."""
HUB_FILE = "epoch_hub.csv"
META_FILE = "epoch_hub.json"
LONG_COLUMNS = ["file", "task", "version", "model", "released", "organization", "access",
                "score", "stderr"]
UNKNOWN_ACCESS = "openness unknown (not in the file, the source tables or the catalog)"
NO_DATE = "release date unknown"


class HubError(ValueError):
    """A hub zip or folder that cannot be read: the message names it and what was expected."""


def default_dir() -> Path:
    """Where `import-epoch` writes and `report` looks: $OVC_EPOCH_HUB, else the user's data."""
    env = os.environ.get("OVC_EPOCH_HUB")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or "~/.local/share"
    return Path(base).expanduser() / "openvsclosed" / "epoch_hub"


def shipped_dir() -> Path:
    """The subset shipped in the package (data/epoch_hub), if any."""
    return Path(str(resources.files("openvsclosed").joinpath("data/epoch_hub")))


def _pick(frame: pd.DataFrame, field: str) -> pd.Series:
    found = [frame[n] for n in COLUMNS[field] if n in frame.columns]
    out = found[0] if found else pd.Series([None] * len(frame), index=frame.index, dtype=object)
    for more in found[1:]:
        out = out.where(out.notna(), more)
    return out


def _benchmark(stem: str) -> tuple[str, str]:
    key = re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_")
    for prefix, found in BENCHMARKS.items():
        if key.startswith(prefix):
            return found
    return key, ""


def _access(value: object) -> str | None:
    text = str(value).strip().lower() if value is not None and value == value else ""
    if text in ("true", "1", "yes") or "open" in text:
        return "open"
    if text in ("false", "0", "no") or any(w in text for w in ("closed", "api", "hosted",
                                                                "proprietary")):
        return "closed"
    return None


def _members(path: Path) -> dict[str, bytes]:
    """CSV name -> bytes, from the zip or from a folder of the unzipped export."""
    if path.is_dir():
        return {p.name: p.read_bytes() for p in sorted(path.rglob("*.csv"))}
    with zipfile.ZipFile(path) as archive:
        return {Path(n).name: archive.read(n) for n in archive.namelist()
                if n.lower().endswith(".csv")}


def _accessibility(members: dict[str, bytes]) -> dict[str, str]:
    """Model version -> 'open'/'closed' from the export's metadata files."""
    out: dict[str, str] = {}
    for name in ACCESS_FILES:
        if name not in members:
            continue
        meta = pd.read_csv(io.BytesIO(members[name]))
        access = _pick(meta, "access").map(_access)
        for key in ("Model version", "model_version", "Model name", "model_versions"):
            if key in meta.columns:
                for model, value in zip(meta[key], access, strict=True):
                    if isinstance(value, str):
                        out.setdefault(str(model).strip(), value)
    return out


def read_zip(path: Path) -> pd.DataFrame:
    """The export's run files as one long frame (LONG_COLUMNS), tolerant of added columns."""
    path = Path(path)
    frames = []
    try:
        members = _members(path)
        access = _accessibility(members)
        for name, data in members.items():
            if name.startswith(("_", ".")) or any(k in name for k in SKIP):
                continue
            raw = pd.read_csv(io.BytesIO(data))
            if not any(c in raw.columns for c in COLUMNS["model"]) or \
                    not any(c in raw.columns for c in COLUMNS["score"]):
                continue  # not a per-benchmark results table
            task, version = _benchmark(Path(name).stem)
            model = _pick(raw, "model").astype(str).str.strip()
            stated = _pick(raw, "access").map(_access)
            frames.append(pd.DataFrame({
                "file": name, "task": task, "version": version, "model": model,
                "released": pd.to_datetime(_pick(raw, "released"), errors="coerce"),
                "organization": _pick(raw, "organization"),
                "access": stated.where(stated.notna(), model.map(access)),
                "score": pd.to_numeric(_pick(raw, "score"), errors="coerce"),
                "stderr": pd.to_numeric(_pick(raw, "stderr"), errors="coerce")}))
    except (OSError, zipfile.BadZipFile, ValueError, KeyError, UnicodeDecodeError) as exc:
        raise HubError(f"{path}: not a readable Epoch AI benchmark_data.zip ({type(exc).__name__}"
                       f": {str(exc)[:160]}); allowed: the zip from https://epoch.ai/data/"
                       "benchmark_data.zip (one CSV per benchmark), or its unzipped folder.") \
            from None
    if not frames:
        raise HubError(f"{path}: no benchmark CSV with a model column "
                       f"({', '.join(COLUMNS['model'])}) and a score column "
                       f"({', '.join(COLUMNS['score'])}); allowed: Epoch AI's "
                       "benchmark_data.zip.")
    long = pd.concat(frames, ignore_index=True).dropna(subset=["score"])
    for _, rows in long.groupby("task"):
        if rows["score"].max() > 1.5:
            long.loc[rows.index, ["score", "stderr"]] /= 100
    long["released"] = long["released"].dt.date.astype(object)
    return long[LONG_COLUMNS].reset_index(drop=True)


def import_zip(zip_path: Path, out: Path | None = None) -> tuple[Path, int]:
    """Write the zip's rows into `out` (default_dir()) as epoch_hub.csv + epoch_hub.json."""
    from openvsclosed.store import write_atomic

    long = read_zip(zip_path)
    out = Path(out) if out is not None else default_dir()
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / HUB_FILE, long.to_csv(index=False))
    meta = {"source": str(Path(zip_path).name), "imported": dt.datetime.now(dt.timezone.utc)
            .isoformat(timespec="seconds"), "rows": len(long),
            "benchmarks": sorted(long["task"].unique().tolist()),
            "license": "CC BY 4.0, Epoch AI, 'AI Benchmarking', https://epoch.ai/benchmarks"}
    write_atomic(out / META_FILE, json.dumps(meta, indent=1) + "\n")
    return out / HUB_FILE, len(long)


def find_hub(path: Path | None) -> Path | None:
    """The hub data the report reads: `path`, else $OVC_EPOCH_HUB / default, else shipped.

    Each may be the zip, a folder `import-epoch` wrote, or the unzipped export's folder.
    """
    candidates = [Path(path)] if path is not None else [default_dir(), shipped_dir()]
    for c in candidates:
        if c.is_file() or (c / HUB_FILE).is_file() or (c.is_dir() and any(c.glob("*.csv"))):
            return c
    if path is not None:
        raise HubError(f"--epoch-hub: {path}: no {HUB_FILE} there and not a zip; allowed: "
                       "Epoch AI's benchmark_data.zip or a folder written by `openvsclosed "
                       "import-epoch`.")
    return None


def read_hub(path: Path) -> pd.DataFrame:
    """A zip or an imported folder as the long frame."""
    if (path.is_file() and path.suffix.lower() == ".zip") or (
            path.is_dir() and not (path / HUB_FILE).is_file()):
        return read_zip(path)
    csv = path if path.is_file() else path / HUB_FILE
    try:
        long = pd.read_csv(csv, dtype={"version": str}, keep_default_na=True)
    except (OSError, ValueError) as exc:
        raise HubError(f"{csv}: not a readable {HUB_FILE} ({str(exc)[:160]}); allowed: a "
                       "folder written by `openvsclosed import-epoch ZIP`.") from None
    long["version"] = long["version"].fillna("")
    long["released"] = pd.to_datetime(long["released"], errors="coerce").dt.date.astype(object)
    return long


def _key(name: object) -> str:
    """A model name for matching: no provider prefix, no `_setting` suffix, no punctuation."""
    text = str(name).lower().rsplit("/", 1)[-1].split("_")[0]
    return re.sub(r"[^a-z0-9]+", "", text)


def known_models(data: object = None) -> dict[str, dict]:
    """Name key -> metadata (access, released, organization, id), from source tables + catalog."""
    known: dict[str, dict] = {}
    try:
        from openvsclosed.catalog import load_catalog

        for e in load_catalog().values():
            meta = {"id": e.id, "access": e.access, "released": e.released,
                    "organization": e.organization, "label": e.name}
            for name in (e.id, e.name, e.api_model):
                if name:
                    known.setdefault(_key(name), meta)
    except Exception:
        pass
    cells = getattr(data, "cells", None)
    if cells is not None and len(cells):
        for _, m in cells.drop_duplicates("model").iterrows():
            meta = {"id": m["model"], "access": m["access"], "released": m["released"],
                    "organization": m["organization"], "label": m["label"]}
            known[_key(m["model"])] = known[_key(m["label"])] = meta
    return known


def hub_rows(path: Path | None, data: object = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(result rows of source `independent`, exclusions by rule) from the hub data found."""
    found = find_hub(path)
    if found is None:
        return pd.DataFrame(), pd.DataFrame(columns=["rule", "cells", "examples"])
    long = read_hub(found)
    known = known_models(data)
    meta = [known.get(_key(m)) or {} for m in long["model"]]
    access = [a if a in ("open", "closed") else m.get("access")
              for a, m in zip(long["access"], meta, strict=True)]
    access = [a if a in ("open", "closed") else None for a in access]
    released = [r if isinstance(r, dt.date) else m.get("released")
                for r, m in zip(long["released"], meta, strict=True)]
    released = [r if isinstance(r, dt.date) else None for r in released]
    long = long.assign(access=access, released=released,
                       model_id=[m.get("id") or re.sub(r"[^a-z0-9._-]+", "-", str(n).lower())
                                 .strip("-.") for n, m in zip(long["model"], meta, strict=True)])
    why = [UNKNOWN_ACCESS if a not in ("open", "closed") else
           NO_DATE if not isinstance(r, dt.date) else None
           for a, r in zip(access, released, strict=True)]
    long["excluded"] = why
    out = long[long["excluded"].isna()]
    dropped = long[long["excluded"].notna()]
    exclusions = pd.DataFrame([
        {"rule": f"Epoch hub: {rule}", "cells": len(g),
         "examples": "; ".join(f"{r.model} × {r.task}" for r in g.head(3).itertuples())}
        for rule, g in dropped.groupby("excluded")], columns=["rule", "cells", "examples"])
    series = [f"{t}{' ' + v if v else ''} · Epoch AI Benchmarking Hub protocol · run by "
              "independent" for t, v in zip(out["task"], out["version"], strict=True)]
    rows = pd.DataFrame({
        "model": out["model_id"], "label": out["model"], "access": out["access"],
        "organization": out["organization"].where(out["organization"].notna(), None),
        "released": [str(r)[:10] for r in out["released"]],
        "params_b": None, "task": out["task"], "metric": "accuracy", "score": out["score"],
        "stderr": out["stderr"], "n": pd.array([pd.NA] * len(out), "Int64"),
        "num_fewshot": pd.array([pd.NA] * len(out), "Int64"), "limit": None,
        "protocol": series, "source": "independent", "ran_by": "independent",
        "table": "epoch-hub", "version": out["version"],
        "note": f"Epoch AI Benchmarking Hub ({found.name}), CC BY 4.0", "series": series,
    }).reset_index(drop=True)
    return rows, exclusions


__all__ = ["COLUMNS", "HubError", "default_dir", "hub_rows", "import_zip", "read_zip"]
