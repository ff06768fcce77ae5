"""The leaderboard page in a real headless Chromium: it loads offline, tables and plots render."""

import re
import shutil
import subprocess

import numpy as np
import pytest
from matplotlib.image import imread

from openvsclosed.report import build_report
from tests.conftest import FIXTURES

pytestmark = pytest.mark.slow
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


@pytest.fixture(scope="module")
def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    from tests.conftest import _required

    _required("chromium (make test installs Debian's chromium)")
    return None


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    build_report(FIXTURES / "store", out, reported=True,
                 claims_path=FIXTURES.parent.parent / "seeds" / "claims.yaml")
    return out / "index.html"


def browse(chromium, tmp_path, *args):
    profile = tmp_path / "profile"
    return subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


def test_tables_and_plots_render(chromium, page, tmp_path):
    done = browse(chromium, tmp_path, "--virtual-time-budget=3000", "--dump-dom",
                  page.as_uri())
    body = re.search(r"<body[^>]*>", done.stdout)
    assert body, done.stderr[-2000:]
    attrs = dict(re.findall(r'data-([a-z-]+)="(\d+)"', body.group(0)))
    assert attrs["plots"] == "4" and attrs["plots-loaded"] == "4"
    assert int(attrs["rows"]) > 20
    for table in ("t-families", "t-leaderboard", "t-gap", "t-claims", "t-models", "t-lag",
                  "t-efficiency"):
        assert f'id="{table}"' in done.stdout
    assert "Llama-like 70B" in done.stdout and "reported" in done.stdout


def test_screenshot_is_not_blank(chromium, page, tmp_path):
    shot = tmp_path / "page.png"
    done = browse(chromium, tmp_path, "--window-size=1280,2000", f"--screenshot={shot}",
                  page.as_uri())
    assert shot.is_file(), done.stderr[-2000:]
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (2000, 1280)
    inked = (pixels.mean(axis=2) < 0.85).mean()  # share of non-white pixels
    assert 0.02 < inked < 0.6
    assert np.unique(pixels.reshape(-1, 3), axis=0).shape[0] > 50  # text, colours, plots


LAPTOP = (1280, 800)
"""A common laptop viewport: the answer must be readable here without scrolling."""


def test_headline_and_gap_chart_are_above_the_fold(chromium, page, tmp_path):
    done = browse(chromium, tmp_path, f"--window-size={LAPTOP[0]},{LAPTOP[1]}",
                  "--virtual-time-budget=3000", "--dump-dom", page.as_uri())
    body = re.search(r"<body[^>]*>", done.stdout)
    assert body, done.stderr[-2000:]
    attrs = dict(re.findall(r'data-([a-z-]+)="(-?\d+)"', body.group(0)))
    assert 0 < int(attrs["headline-bottom"]) <= LAPTOP[1], attrs
    assert 0 < int(attrs["chart-bottom"]) <= LAPTOP[1], attrs

    shot = tmp_path / "fold.png"
    browse(chromium, tmp_path, f"--window-size={LAPTOP[0]},{LAPTOP[1]}",
           f"--screenshot={shot}", page.as_uri())
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (LAPTOP[1], LAPTOP[0])
    # the chart is drawn in the first screen: its coloured step lines are there, right half
    right = pixels[: LAPTOP[1], LAPTOP[0] // 2:]
    saturated = (right.max(axis=2) - right.min(axis=2)) > 0.25
    assert saturated.mean() > 0.004, saturated.mean()
    # and the answer's text is there, left half
    left = pixels[:LAPTOP[1], : LAPTOP[0] // 2]
    assert (left.mean(axis=2) < 0.5).mean() > 0.02
