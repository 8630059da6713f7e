"""`arena report RUN`: a run's results as tables or JSON (reverse-turing or negotiation)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from persona_arena.commands.support import (
    DEFAULT_OUT, DbOption, OutOption, console, err_console, fail, llm_cache, parse_spec,
)


def register(app: typer.Typer) -> None:
    app.command()(report)


def report(
    run: Annotated[str, typer.Argument(help="the run id (see `arena runs`)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    oracle: Annotated[bool, typer.Option(
        "--oracle", help="reverse-turing: also run the likelihood oracle on games with local judges (slow)")] = False,
    tags: Annotated[str, typer.Option(
        "--tags", help="which scorer backend's tags to count, and (reverse-turing) whose question-strategy "
                       "tags to use (after `arena score RUN --backend B`)")] = "rules",
    inconsistency_judge: Annotated[str | None, typer.Option(
        "--inconsistency-judge", help="negotiation: also judge every red turn's public message against its "
                                      "scratchpad with this agent spec (an LLM judge; cached)")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="also write a self-contained HTML report with plots")] = None,
    png: Annotated[Path | None, typer.Option("--png", help="also write the plots as PNG files into this folder")] = None,
    cache: Annotated[bool, typer.Option("--cache/--no-cache", help="--oracle's log-likelihoods and the "
                                        "inconsistency judge's replies: reuse recorded ones (OUT/llm-cache.sqlite)")]
    = True,
    db: DbOption = None,
    out: OutOption = DEFAULT_OUT,
) -> None:
    """Results of a run. Reverse-turing: accuracy with Wilson CIs, confusion, probabilities;
    negotiation: deals, scores, Pareto distance, per persona and per condition (paired); both:
    ratings and usage."""
    judge = parse_spec(inconsistency_judge) if inconsistency_judge else None
    if cache and (oracle or judge is not None):
        from persona_arena.agents.cache import ResponseCache, use_cache

        use_cache(ResponseCache(llm_cache(out)))
    asyncio.run(show_report(run, db, as_json, html=html, png=png, oracle=oracle, inconsistency_judge=judge,
                            tags_backend=tags))


async def show_report(run: str, db: str | None, as_json: bool, *, html: Path | None = None,
                      png: Path | None = None, oracle: bool = False, inconsistency_judge=None,
                      tags_backend: str = "rules") -> None:
    from persona_arena.core.specs import SpecError
    from persona_arena.scoring.report import report_for_run
    from persona_arena.scoring.tagging import backend_key
    from persona_arena.server.store import Store

    try:
        tags_backend = backend_key(tags_backend)  # how the scorer stored it (an LLM spec's canonical form)
    except SpecError as err:
        fail(f"--tags: {err}")
    store = await Store.open(db, existing=True)
    try:
        row = await store.run(run)
        if row is None:
            fail(f"no run {run!r}; see `arena runs`")
        sessions = await store.sessions(run)
        events = {s.id: await store.events(s.id) for s in sessions if s.status == "finished"}
        from persona_arena.scoring.tags_store import tag_counts, tag_set, tags_of

        counts = await tag_counts(store, run, backend=tags_backend)
        scored = await tag_set(store, run, tags_backend)
        strategy_tags = [t for t in await tags_of(store, run_id=run, backend=tags_backend)
                         if t.event_type == "judge.message"] if scored is not None else []
    finally:
        await store.close()
    picks = None
    if oracle:
        from persona_arena.scoring.likelihood_oracle import score_run

        with console.status("likelihood oracle: scoring every reply under its judge's model…"):
            picks = await asyncio.to_thread(score_run, events)
    result = report_for_run(run, row.meta, session_infos(sessions, events), oracle=picks)
    if counts is not None:  # the scorer stores specs; the report's names for them
        name_of = {spec: name for name, spec in result["agent_specs"].items()}
        counts["rows"] = [{**r, "agent": name_of.get(r["agent"], r["agent"])} for r in counts["rows"]]
    result["tags"] = counts  # null until `arena score RUN` has tagged the run
    stale_strategies = False
    if result["game"] != "negotiation":
        from persona_arena.scoring.question_strategies import (
            judge_message_counts, scored_strategies, summarise_strategies,
        )

        # null until the run is scored by a backend that tags question strategies
        result["question_strategies"] = result["question_strategy_accuracy"] = None
        if scored is not None and scored_strategies(scored.meta):
            shown = {r["session_id"] for r in result["sessions"]}
            result.update(summarise_strategies(
                result["sessions"], judge_message_counts({k: v for k, v in events.items() if k in shown}),
                strategy_tags, tags_backend))
        stale_strategies = scored is not None and not scored_strategies(scored.meta)
    if inconsistency_judge is not None:
        if result["game"] != "negotiation":
            fail("--inconsistency-judge applies to negotiation runs")
        from persona_arena.agents.registry import create_agent
        from persona_arena.scoring.inconsistency_judge import judge_run, summarise_judgements

        infos = [i for i in session_infos(sessions, events) if i.events]
        with console.status(f"inconsistency judge {inconsistency_judge.canonical()}: reading red turns…"):
            judged = await judge_run(infos, inconsistency_judge, create_agent)
        result["inconsistency_judge"] = summarise_judgements(result, judged, inconsistency_judge.canonical())
    if html or png:
        write_figures(result, html, png)
    if as_json:
        print(json.dumps(result, indent=2))
    elif result["game"] == "negotiation":
        print_negotiation_report(result)
        print_tags(result["tags"])
    else:
        print_report(result)
        print_tags(result["tags"])
        print_strategies(result, tags_backend, stale_strategies)


def print_strategies(r: dict, backend: str, stale: bool) -> None:
    """Question strategies per judge, and accuracy of the games where the judge used each."""
    counts, acc = r.get("question_strategies"), r.get("question_strategy_accuracy")
    if stale:
        console.print(f"[dim]question strategies: the {backend} tags of this run predate them; run "
                      f"`arena score {r['run']} --backend {backend}` again[/]")
    if not counts or not acc:
        return
    # one column per judge: runs have few judges, and the eight strategies fit as rows
    judges = list(counts)
    table = Table("strategy \\ judge", *judges, title=f"question strategies ({backend}: judge messages carrying each)")
    table.add_row("[dim]messages[/]", *(f"[dim]{acc['judge_messages'][j]}[/]" for j in judges))
    for label in counts[judges[0]]:
        table.add_row(label.removeprefix("strategy:"), *(str(counts[j][label]) for j in judges))
    console.print(table)
    games = Table("judge", "strategy", "games with", "accuracy", "95% CI (Wilson)", "games without",
                  "accuracy without", "Fisher p", title="accuracy by question strategy used (an association)")
    for judge, by_label in acc["by_judge"].items():
        for label, split in by_label.items():
            used, other = split["used"], split["not_used"]
            if not used["games"]:
                continue
            ci = "-" if not used["wilson95"] else f"{used['wilson95'][0]:.2f}–{used['wilson95'][1]:.2f}"
            games.add_row(judge, label.removeprefix("strategy:"), str(used["games"]), _fmt(used["accuracy"]), ci,
                          str(other["games"]), _fmt(other["accuracy"]), _fmt(split["fisher_p"], ".3f"))
    console.print(games)


def print_tags(counts: dict | None) -> None:
    """Scorer tags per agent and role: utterances carrying each label (most frequent first)."""
    if not counts:
        return
    totals: dict[str, int] = {}
    for row in counts["rows"]:
        for label, n in row["labels"].items():
            totals[label] = totals.get(label, 0) + n
    labels = sorted(totals, key=lambda k: (-totals[k], k))[:8]
    table = Table("agent", "role", "utterances", *labels,
                  title=f"scorer tags ({counts['backend']}, {counts['utterances']} utterances; top labels)")
    for row in counts["rows"]:
        table.add_row(escape(row["agent"]), row["role"], str(row["utterances"]),
                      *(str(row["labels"].get(label, 0)) for label in labels))
    console.print(table)


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
    """What the report reads of each session: its status, and its events once finished. A
    tournament's games in the order they were planned, not the order they happened to start
    in (which concurrency and worker processes vary): ratings fitted game by game then come
    out the same however the run was played."""
    from persona_arena.scoring.report import SessionInfo

    in_plan_order = sorted(sessions, key=lambda s: s.job_key or "")  # stable: unplanned ones by start
    return [SessionInfo(s.id, s.status, s.job_key, events.get(s.id, []) if s.status == "finished" else [])
            for s in in_plan_order]


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
        ratings.add_row(escape(a["agent"]), f"{a['ordinal']:.2f}", f"{a['mu']:.2f}", f"{a['sigma']:.2f}")
    console.print(ratings)


def print_report(r: dict) -> None:
    _headline(r)
    games = Table("#", "judge", "foils", "picked", "result", "p(twin)/round", "viol.", title="games")
    for i, s in enumerate(r["sessions"], 1):
        picked = "-" if not s["picked"] else s["picked"] + (" (twin)" if s["picked_kind"] == "twin" else "")
        games.add_row(str(i), escape(s["judge"]), escape(", ".join(s["foils"])), escape(picked), s["result"],
                      " ".join(f"{p:.2f}" for p in s["p_twin_by_round"]), str(s["violations"]))
    console.print(games)
    acc = Table("judge", "games", "accuracy", "95% CI (Wilson)", "chance", "p", "mean p(twin)", "no guess",
                title="accuracy by judge")
    for j in [*r["judges"], {"judge": "all", **r["overall"]}]:
        ci = "-" if not j["ci95"] else f"{j['ci95'][0]:.2f}–{j['ci95'][1]:.2f}"
        acc.add_row(escape(j["judge"]), str(j["n"]), _fmt(j["accuracy"]), ci, _fmt(j["chance"]), _fmt(j["p_value"], ".3f"),
                    _fmt(j["mean_p_twin"]), str(j["no_guess"]))
    console.print(acc)
    picked = sorted({p for row in r["confusion"].values() for p in row})
    confusion = Table("judge \\ picked", *(escape(p) for p in picked), title="confusion (games)")
    for judge, row in r["confusion"].items():
        confusion.add_row(escape(judge), *(str(row.get(p, 0)) for p in picked))
    console.print(confusion)
    _analysis(r)
    _ratings(r)


def _bias(name: str, test: dict) -> str:
    return f"{name} bias χ² {_fmt(test['chi2'])} (df {test['dof']}, p {_fmt(test['p'], '.3f')})"


def _analysis(r: dict) -> None:
    """Calibration, bias tests, identity kinds picked and the likelihood oracle."""
    st = r.get("statistics")
    if not st:
        return
    console.print(f"calibration: Brier {_fmt(st['brier'], '.3f')}, log-loss {_fmt(st['log_loss'], '.3f')}, "
                  f"ECE {_fmt(st['reliability']['ece'], '.3f')} · {_bias('position', st['position_bias'])} · "
                  f"{_bias('nickname', st['nickname_bias'])} · no-guess rate {_fmt(st['no_guess_rate'])}")
    kinds = sorted({k for row in st["confusion_identity"].values() for k in row})
    if set(kinds) - {"exact", "other", "no-guess"}:
        table = Table("judge \\ picked kind", *kinds, title="identity kinds picked (games)")
        for judge, row in st["confusion_identity"].items():
            table.add_row(escape(judge), *(str(row.get(k, 0)) for k in kinds))
        console.print(table)
    o = r.get("oracle")
    if o:
        table = Table("judge", "games", "oracle", "verbal", "gap (oracle − verbal)", "95% CI", "McNemar p",
                      title="likelihood oracle vs verbal answers")
        for judge, c in [*o["by_judge"].items(), ("all", o["overall"])]:
            ci = "-" if not c["gap_ci95"] else f"{c['gap_ci95'][0]:+.2f}…{c['gap_ci95'][1]:+.2f}"
            table.add_row(escape(judge), str(c["oracle"]["games"]), _fmt(c["oracle"]["accuracy"]),
                          _fmt(c["verbal"]["accuracy"]), _fmt(c["introspection_gap"], "+.2f"), ci,
                          _fmt(c["mcnemar_p"], ".3f"))
        console.print(table)
        for session, why in o["skipped_reasons"].items():
            console.print(f"  oracle: no pick for {session} ({why})")


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
            label = escape(a[key]) if key == "agent" else f"[{'red' if a['color'] == 'red' else 'blue'}]{a[key]}[/]"
            table.add_row(label, str(a["seats"]), _fmt(a["mean_score"], ".1f"), str(a["wrong_deals"]),
                          _fmt(a["leaks_per_message"]), _fmt(a["inconsistency_rate"]), _fmt(a["red_goal_rate"]),
                          str(a["violations"]))
        console.print(table)
    judge = r.get("inconsistency_judge")
    if judge:
        console.print(f"LLM inconsistency judge {judge['judge']}: {judge['turns']} red turns judged "
                      f"({judge['unusable']} unusable verdicts), contradiction rate {_fmt(judge['rate'])}; "
                      + ", ".join(f"{c} {_fmt(v)}" for c, v in judge["conditions"].items())
                      + f"; paired monitored − unmonitored {_fmt(judge['paired']['mean_difference'], '.3f')} "
                        f"over {judge['paired']['n']} pairs (Wilcoxon p {_fmt(judge['paired']['p_value'], '.3f')})")
    _ratings(r)
