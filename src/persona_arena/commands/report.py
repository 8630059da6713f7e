"""`arena report RUN`: a run's results as tables or JSON (reverse-turing or negotiation)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from persona_arena.commands.support import DbOption, console, err_console, fail


def register(app: typer.Typer) -> None:
    app.command()(report)


def report(
    run: Annotated[str, typer.Argument(help="the run id (see `arena runs`)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="also write a self-contained HTML report with plots")] = None,
    png: Annotated[Path | None, typer.Option("--png", help="also write the plots as PNG files into this folder")] = None,
    db: DbOption = None,
) -> None:
    """Results of a run. Reverse-turing: accuracy with Wilson CIs, confusion, probabilities;
    negotiation: deals, scores, Pareto distance, per persona and per condition (paired); both:
    ratings and usage."""
    asyncio.run(show_report(run, db, as_json, html=html, png=png))


async def show_report(run: str, db: str | None, as_json: bool, *, html: Path | None = None,
                      png: Path | None = None) -> None:
    from persona_arena.scoring.report import report_for_run
    from persona_arena.server.store import Store

    store = await Store.open(db)
    try:
        row = await store.run(run)
        if row is None:
            fail(f"no run {run!r}; see `arena runs`")
        sessions = await store.sessions(run)
        events = {s.id: await store.events(s.id) for s in sessions if s.status == "finished"}
    finally:
        await store.close()
    result = report_for_run(run, row.meta, session_infos(sessions, events))
    if html or png:
        write_figures(result, html, png)
    if as_json:
        print(json.dumps(result, indent=2))
    elif result["game"] == "negotiation":
        print_negotiation_report(result)
    else:
        print_report(result)


def write_figures(result: dict, html: Path | None, png: Path | None) -> None:
    from persona_arena.scoring.html_report import render_html
    from persona_arena.scoring.plots import report_plots

    plots = report_plots(result)
    try:
        if png:
            png.mkdir(parents=True, exist_ok=True)
            for name, data in plots.items():
                (png / f"{name}.png").write_bytes(data)
        if html:
            html.parent.mkdir(parents=True, exist_ok=True)
            html.write_text(render_html(result, plots), encoding="utf-8")
    except OSError as err:
        fail(f"cannot write the report: {err}")
    # on stderr, so that --json output stays parseable
    err_console.print(" · ".join(filter(None, [f"HTML report: {html}" if html else "",
                                               f"{len(plots)} plots in {png}/" if png else ""])))


def session_infos(sessions, events: dict) -> list:
    """What the report reads of each session: its status, and its events once finished."""
    from persona_arena.scoring.report import SessionInfo

    return [SessionInfo(s.id, s.status, s.job_key, events.get(s.id, []) if s.status == "finished" else [])
            for s in sessions]


def _fmt(value, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def _headline(r: dict) -> None:
    g, u = r["games"], r["usage"]
    console.print(f"[bold]{r['run']}[/] · {r['game']} · {g['finished']}/{g['planned']} games finished"
                  + (f", {g['failed']} failed" if g["failed"] else "")
                  + (f", {g['abandoned']} abandoned" if g["abandoned"] else "")
                  + f" · {int(u['prompt_tokens'] + u['completion_tokens'])} tokens · ${u['cost_usd']:.4f}")


def _ratings(r: dict) -> None:
    ratings = Table("agent", "ordinal", "mu", "sigma", title=f"ratings ({r['ratings']['method']})")
    for a in r["ratings"]["table"]:
        ratings.add_row(a["agent"], f"{a['ordinal']:.2f}", f"{a['mu']:.2f}", f"{a['sigma']:.2f}")
    console.print(ratings)


def print_report(r: dict) -> None:
    _headline(r)
    games = Table("#", "judge", "foils", "picked", "result", "p(twin)/round", "viol.", title="games")
    for i, s in enumerate(r["sessions"], 1):
        picked = "-" if not s["picked"] else s["picked"] + (" (twin)" if s["picked_kind"] == "twin" else "")
        games.add_row(str(i), s["judge"], ", ".join(s["foils"]), picked, s["result"],
                      " ".join(f"{p:.2f}" for p in s["p_twin_by_round"]), str(s["violations"]))
    console.print(games)
    acc = Table("judge", "games", "accuracy", "95% CI (Wilson)", "chance", "p", "mean p(twin)", "no guess",
                title="accuracy by judge")
    for j in [*r["judges"], {"judge": "all", **r["overall"]}]:
        ci = "-" if not j["ci95"] else f"{j['ci95'][0]:.2f}–{j['ci95'][1]:.2f}"
        acc.add_row(j["judge"], str(j["n"]), _fmt(j["accuracy"]), ci, _fmt(j["chance"]), _fmt(j["p_value"], ".3f"),
                    _fmt(j["mean_p_twin"]), str(j["no_guess"]))
    console.print(acc)
    picked = sorted({p for row in r["confusion"].values() for p in row})
    confusion = Table("judge \\ picked", *picked, title="confusion (games)")
    for judge, row in r["confusion"].items():
        confusion.add_row(judge, *(str(row.get(p, 0)) for p in picked))
    console.print(confusion)
    _ratings(r)


def print_negotiation_report(r: dict) -> None:
    _headline(r)
    games = Table("#", "scenario", "seed", "condition", "deal", "collective", "Pareto dist.", "Gini",
                  "wrong", "viol.", title="games")
    for i, s in enumerate(r["sessions"], 1):
        games.add_row(str(i), s["scenario"], str(s["seed"]), s["condition"],
                      "yes" if s["deal"] else ("lost" if s["deal_any_time"] else "no"), str(s["collective"]),
                      _fmt(s["pareto_distance"], ".1f"), _fmt(s["gini"]), str(s["wrong_deals"]), str(s["violations"]))
    console.print(games)
    columns = ("deal rate", "collective", "Pareto dist.", "Gini", "wrong-deal", "leaks/msg", "red incons.",
               "red goal", "detection")
    groups = Table("condition", "games", *columns, title="by condition")
    for c in [*r["conditions"], {"condition": "all", **r["overall"]}]:
        groups.add_row(c["condition"], str(c["games"]), _fmt(c["deal_rate"]), _fmt(c["mean_collective"], ".1f"),
                       _fmt(c["mean_pareto_distance"], ".1f"), _fmt(c["mean_gini"]), _fmt(c["wrong_deal_rate"]),
                       _fmt(c["leaks_per_message"]), _fmt(c["red_inconsistency_rate"]), _fmt(c["red_goal_rate"]),
                       _fmt(c["detection_rate"]))
    console.print(groups)
    paired = r["paired_conditions"]
    if paired["pairs"]:
        d = paired["deal"]
        console.print(f"paired monitored vs unmonitored: {paired['pairs']} pairs; deals both {d['both']}, only "
                      f"monitored {d['only_monitored']}, only unmonitored {d['only_unmonitored']}, neither "
                      f"{d['neither']} (McNemar p {_fmt(d['p_value'], '.3f')})")
        for key in ("collective", "red_inconsistency_rate", "leaks_per_message"):
            m = paired[key]
            console.print(f"  {key}: mean difference {_fmt(m['mean_difference'], '.3f')} over {m['n']} pairs "
                          f"(Wilcoxon p {_fmt(m['p_value'], '.3f')})")
    for title, key, rows in (("by agent", "agent", r["agents"]), ("by persona", "persona", r["personas"])):
        table = Table(key, "seats", "mean score", "wrong deals", "leaks/msg", "inconsistency", "red goal",
                      "violations", title=title)
        for a in rows:
            label = a[key] if key == "agent" else f"[{'red' if a['color'] == 'red' else 'blue'}]{a[key]}[/]"
            table.add_row(label, str(a["seats"]), _fmt(a["mean_score"], ".1f"), str(a["wrong_deals"]),
                          _fmt(a["leaks_per_message"]), _fmt(a["inconsistency_rate"]), _fmt(a["red_goal_rate"]),
                          str(a["violations"]))
        console.print(table)
    _ratings(r)
