"""The report page and the site index in a real headless Chromium: offline, on a phone and a
projector, with and without JavaScript.

Headless Chromium will not open a window narrower than 500 px, so the page is measured inside
an iframe of the exact size (a harness page beside it; `--allow-file-access-from-files` lets it
read the frame's DOM). The page's own load script records what rendered on <body data-*>.
"""

import json
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
         "--hide-scrollbars", "--allow-file-access-from-files"]
SCREENS = {"phone": (390, 844), "projector": (1400, 900)}
HARNESS = """<!doctype html><html><body style="margin:0"><iframe id="f" src="{src}"
style="width:{w}px;height:{h}px;border:0"></iframe><script>
document.getElementById('f').addEventListener('load', function(){{setTimeout(function(){{
 var doc=document.getElementById('f').contentDocument;
 var s=doc.querySelector('#headline .sentence');
 var d=Object.assign({{}}, doc.body.dataset);
 d.sentence=s?s.textContent:'';
 document.body.setAttribute('data-inner', JSON.stringify(d));}}, 300);}});
</script></body></html>"""


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
    """The fixture store with published scores and the claims: the full page."""
    out = tmp_path_factory.mktemp("report")
    build_report(FIXTURES / "store", out, reported=True,
                 claims_path=FIXTURES.parent.parent / "seeds" / "claims.yaml")
    return out / "index.html"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A site of one snapshot from a hand-built table and a hand-built answer."""
    from openvsclosed.report.site import add_snapshot
    from tests.site_fixtures import ROWS, answer, tables_for

    root = tmp_path_factory.mktemp("site")
    add_snapshot(root, tables_for(ROWS, answer(8.0)), "Open vs closed", "2026-11-01")
    return root


def browse(chromium, tmp_path, *args):
    profile = tmp_path / "profile"
    return subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


def measure(chromium, tmp_path, html, screen):
    """The page's own measurements inside a frame of exactly `screen` (width, height)."""
    harness = html.parent / f"harness-{screen[0]}.html"
    harness.write_text(HARNESS.format(src=html.name, w=screen[0], h=screen[1]))
    done = browse(chromium, tmp_path, "--window-size=1500,1000", "--virtual-time-budget=8000",
                  "--dump-dom", harness.as_uri())
    found = re.search(r'data-inner="([^"]*)"', done.stdout)
    assert found, done.stderr[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def test_tables_and_plots_render(chromium, page, tmp_path):
    done = browse(chromium, tmp_path, "--virtual-time-budget=3000", "--dump-dom",
                  page.as_uri())
    body = re.search(r"<body[^>]*>", done.stdout)
    assert body, done.stderr[-2000:]
    attrs = dict(re.findall(r'data-([a-z-]+)="(\d+)"', body.group(0)))
    assert attrs["plots"] == "3" and attrs["plots-loaded"] == "3"
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


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("which", ["page", "snapshot", "index"])
def test_fits_the_screen_answer_first_images_described(chromium, page, site, tmp_path, which,
                                                        screen):
    html = {"page": page, "snapshot": site / "2026-11-01" / "index.html",
            "index": site / "index.html"}[which]
    width, height = SCREENS[screen]
    seen = measure(chromium, tmp_path, html, (width, height))
    assert int(seen["viewWidth"]) == width, seen
    assert int(seen["scrollWidth"]) <= width, seen  # no sideways scrolling
    assert 0 < int(seen["headlineBottom"]) <= height, seen  # the answer in the first screen
    assert seen["noAlt"] == "0" and seen["plotsLoaded"] == seen["plots"], seen
    if which != "page":
        assert seen["sentence"].startswith("Closed models lead like with like on 3 of 3")


def test_the_answer_block_shows_three_numbers(site):
    html = (site / "2026-11-01" / "index.html").read_text()
    head = html[html.index('id="headline"'):html.index('id="frontiers"')]
    numbers = re.findall(r'<span class="big[^"]*">([^<]*)</span>', head)
    assert numbers == ["3 of 3", "8.0 months", "2025-01-31"]
    assert "95% interval 6.0–11" in head and "Kaplan-Meier median" in head
    assert "3 task families, 7 like-with-like pairs, 1 censored record." in head
    assert html.index('id="headline"') < html.index('id="frontiers"') < html.index('id="gap"')
    assert re.search(r'<img src="assets/frontiers.png" alt="Small multiples, one panel per task '
                     r'family \(ARC, GPQA, GSM8K\)', html)


def test_works_without_javascript(chromium, site, tmp_path):
    """A copy whose policy forbids every script (headless Chromium ignores its own switches)."""
    html = site / "2026-11-01" / "index.html"
    nojs = html.with_name("nojs.html")
    nojs.write_text(html.read_text().replace(
        "<head>", "<head><meta http-equiv=\"Content-Security-Policy\" "
        "content=\"script-src 'none'\">", 1))
    done = browse(chromium, tmp_path, "--virtual-time-budget=3000", "--dump-dom",
                  nojs.as_uri())
    assert "Closed models lead like with like on 3 of 3" in done.stdout, done.stderr[-2000:]
    assert "data-rows" not in done.stdout  # the script did not run …
    assert done.stdout.count("<tr") > 10 and "assets/frontiers.png" in done.stdout  # … all there
