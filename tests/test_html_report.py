"""The HTML report (opened in Debian's headless Chromium), PNG plots, the Bradley–Terry refit
and the Parquet export."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from helpers import agents_toml
from persona_arena.scoring.bradley_terry import bradley_terry
from persona_arena.server.tournament import load_tournament

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

RTT = """
name = "html-rtt"
seeds = 4
[game_options]
rounds = 2
""" + agents_toml({"a": "scripted", "b": "scripted;seed=7", "eliza": "eliza"})

NEGOTIATION = """
name = "html-neg"
game = "negotiation"
seeds = 3
[game_options]
scenario = "salary-package"
personas = [["honest", "extractor"], ["saboteur", "cooperative"]]
conditions = ["monitored", "unmonitored"]
rounds = 2
[[agents]]
id = "a"
model = "scripted"
[[agents]]
id = "b"
model = "scripted;seed=7"
"""


def arena(*args, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "persona_arena", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return done


def open_in_chromium(page_path: Path, screenshot: Path) -> tuple[list[str], int]:
    """Console errors and page errors of the page, and how many images rendered."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is needed (apt-get install chromium; .ci/run does it)"
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_path.resolve().as_uri())
            rendered = page.evaluate("[...document.images].filter(i => i.complete && i.naturalWidth > 0).length")
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return errors, rendered


@pytest.mark.parametrize("text, plots", [
    (RTT, {"accuracy", "confusion", "probabilities", "p_twin_by_round", "bradley_terry"}),
    (NEGOTIATION, {"by_condition", "scores_by_persona", "collective_pairs", "bradley_terry"}),
])
def test_html_report_opens_in_headless_chromium_without_errors(tmp_path, text, plots):
    path = tmp_path / "t.toml"
    path.write_text(text)
    arena("tournament", "run", str(path), cwd=tmp_path)
    run_id = load_tournament(path).run_id()
    done = arena("report", run_id, "--json", "--html", "out/report.html", "--png", "out/png", cwd=tmp_path)
    report = json.loads(done.stdout)  # --json stays parseable: the file notice goes to stderr
    assert {p.stem for p in (tmp_path / "out/png").glob("*.png")} == plots
    page = (tmp_path / "out/report.html").read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page  # self-contained
    assert report["run"] in page
    if report["game"] == "reverse-turing":  # the analysis of the table form, in figures the JSON has
        st = report["statistics"]
        for heading in ("Calibration and bias", "Identity kinds picked"):
            assert f"<h2>{heading}" in page
        assert f"<td>{st['brier']:.3f}</td>" in page
        low, high = report["overall"]["ci95"]
        assert f"<td>{low:.3f} – {high:.3f}</td>" in page  # an interval, not a JSON list
    errors, rendered = open_in_chromium(tmp_path / "out/report.html", tmp_path / "out/screenshot.png")
    assert errors == []
    assert rendered == len(plots)
    assert (tmp_path / "out/screenshot.png").stat().st_size > 20_000


def test_bradley_terry_refit():
    # a beats b 3:1 and nobody else plays: strengths differ by log(3), centred at 0
    result = bradley_terry([("a", "b")] * 3 + [("b", "a")], bootstrap=50)
    strengths = {row["agent"]: row["strength"] for row in result["table"]}
    assert strengths["a"] - strengths["b"] == pytest.approx(1.0986, abs=0.02)
    assert strengths["a"] + strengths["b"] == pytest.approx(0.0, abs=1e-9)
    a = result["table"][0]
    assert a["agent"] == "a" and a["wins"] == 3 and a["losses"] == 1
    assert a["ci95"][0] <= a["strength"] <= a["ci95"][1]
    # the same data give the same report (seeded bootstrap)
    assert bradley_terry([("a", "b")] * 3 + [("b", "a")], bootstrap=50) == result
    assert bradley_terry([], bootstrap=10)["table"] == []


def test_parquet_export_matches_csv(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(NEGOTIATION)
    arena("tournament", "run", str(path), cwd=tmp_path)
    run_id = load_tournament(path).run_id()
    arena("export", run_id, "--format", "parquet", "--out", "pq", cwd=tmp_path)
    arena("export", run_id, "--format", "csv", "--out", "csv", cwd=tmp_path)
    games = pq.read_table(tmp_path / "pq/games.parquet")
    events = pq.read_table(tmp_path / "pq/events.parquet")
    csv_games = (tmp_path / "csv/games.csv").read_text().splitlines()
    assert games.column_names == csv_games[0].split(",")
    assert games.num_rows == len(csv_games) - 1 == 12
    assert events.num_rows == len((tmp_path / "csv/events.csv").read_text().splitlines()) - 1  # no newlines in cells
    first = events.slice(0, 1).to_pylist()[0]
    assert first["type"] == "game.setup" and json.loads(first["payload"])["game"] == "negotiation"
