"""Epoch AI's Benchmarking Hub import on a small made-up zip in the export's layout."""

import zipfile

import pandas as pd
import pytest
from typer.testing import CliRunner

from openvsclosed.report.epochhub import HubError, hub_rows, import_zip, read_zip

RUN_HEADER = ("Model version,mean_score,Best score (across scorers),Release date,Organization,"
              "Country,Training compute (FLOP),Training compute notes,stderr,Log viewer,Logs,"
              "Started at,id,Some new column\n")
GPQA = RUN_HEADER + (
    "closed-model-2025-01-01_high,0.70,0.71,2025-01-01,ShutCo,US,,,0.02,,,2025-01-05,a1,x\n"
    "open-model-v1,0.60,0.60,2025-03-01,OpenCo,FR,,,0.02,,,2025-03-05,a2,x\n"
    "mystery-model,0.50,,2025-04-01,Nobody,,,,0.03,,,,a3,x\n"
    "open-model-v2,0.72,0.72,2025-09-01,OpenCo,FR,\"multi\nline\",,0.02,,,,a4,x\n")
MATH = RUN_HEADER + "closed-model-2025-01-01_high,80,80,2025-01-01,ShutCo,US,,,2,,,,b1,x\n"
ECI = ("Model version,ECI Score,Release date,Organization,Country,Model accessibility,"
       "Training compute (FLOP),Confidence,Model name,Description,Display name\n"
       "closed-model-2025-01-01_high,140,2025-01-01,ShutCo,US,API access,,,c,,C\n"
       "open-model-v1,130,2025-03-01,OpenCo,FR,Open weights (unrestricted),,,o,,O\n"
       "open-model-v2,131,2025-09-01,OpenCo,FR,Open weights (restricted use),,,o2,,O2\n"
       "mystery-model,,2025-04-01,Nobody,,Unreleased,,,m,,M\n")
EXTERNAL = "Model version,EM,Release date,Organization\nsomeone,0.9,2024-01-01,X\n"


@pytest.fixture
def hub_zip(tmp_path):
    path = tmp_path / "benchmark_data.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("benchmark_data/gpqa_diamond.csv", GPQA)
        z.writestr("benchmark_data/math_level_5.csv", MATH)
        z.writestr("benchmark_data/epoch_capabilities_index.csv", ECI)
        z.writestr("benchmark_data/mmlu_external.csv", EXTERNAL)
        z.writestr("benchmark_data/README.md", "CC BY")
    return path


def test_the_zip_reads_as_one_series_per_benchmark(hub_zip):
    long = read_zip(hub_zip)
    assert set(long["task"]) == {"gpqa_diamond", "math"}  # _external files are not Epoch's runs
    gpqa = long[long["task"] == "gpqa_diamond"].set_index("model")
    assert gpqa.loc["closed-model-2025-01-01_high", "score"] == pytest.approx(0.71)  # best score
    assert gpqa.loc["mystery-model", "score"] == pytest.approx(0.50)  # mean_score fills the gap
    assert gpqa.loc["open-model-v1", "access"] == "open"
    assert gpqa.loc["closed-model-2025-01-01_high", "access"] == "closed"
    assert pd.isna(gpqa.loc["mystery-model", "access"])  # "Unreleased" is not closed
    math = long[long["task"] == "math"].iloc[0]
    assert math["score"] == pytest.approx(0.80) and math["version"] == "level 5"  # percent -> 0-1


def test_rows_are_independent_and_unknown_openness_is_excluded_by_rule(hub_zip):
    rows, excluded = hub_rows(hub_zip)
    assert set(rows["source"]) == {"independent"} and set(rows["ran_by"]) == {"independent"}
    assert "mystery-model" not in set(rows["label"])
    assert excluded["rule"].str.contains("openness unknown").any()
    assert excluded["cells"].sum() == 1
    series = rows[rows["task"] == "gpqa_diamond"]["series"]
    assert series.nunique() == 1 and "Epoch AI" in series.iloc[0]


def test_the_import_command_writes_a_folder_the_report_reads(hub_zip, tmp_path):
    from openvsclosed.cli import app

    out = tmp_path / "hub"
    done = CliRunner().invoke(app, ["import-epoch", str(hub_zip), "--out", str(out)],
                              catch_exceptions=False)
    assert done.exit_code == 0, done.output
    rows, _ = hub_rows(out)
    assert len(rows) == 4 and (out / "epoch_hub.json").is_file()


def test_a_file_that_is_not_the_export_is_one_paragraph(tmp_path):
    bad = tmp_path / "x.zip"
    bad.write_text("not a zip")
    with pytest.raises(HubError, match="x.zip: not a readable Epoch AI benchmark_data.zip"):
        import_zip(bad, tmp_path / "out")
    empty = tmp_path / "e.zip"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("notes.csv", "a,b\n1,2\n")
    with pytest.raises(HubError, match="no benchmark CSV"):
        read_zip(empty)
