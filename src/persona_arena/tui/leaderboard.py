"""The per-run leaderboard shown on the Runs screen: for reverse-turing runs the tables of
`arena report` (judges' accuracy with Wilson intervals, openskill ratings); for other games the
outcomes per agent, read from the sessions' stored outcomes."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from persona_arena.scoring.summary import agent_names

if TYPE_CHECKING:  # imported when used: the Runs screen's first paint needs outcome_label only
    from persona_arena.core.events import Event
    from persona_arena.server.store import SessionRow, Store
    from persona_arena.tui.catalog import GameRow


# The event types `scoring.report.build_report` reads (setup, outcome, violations, verdicts,
# usage). Loading only these keeps a 1,000-game run's leaderboard well under the memory bar;
# tests/test_tui_runs.py checks that the report built from them equals the one from all events.
REPORT_EVENT_TYPES = ("game.setup", "game.outcome", "rule.violation", "judge.verdict", "agent.reply")


async def finished_events(store: Store, run_id: str, types: tuple[str, ...] | None = REPORT_EVENT_TYPES
                          ) -> dict[str, list[Event]]:
    """Every finished game's events (of `types`; None: all) in one query, not one per game."""
    from sqlmodel import select
    from sqlmodel.ext.asyncio.session import AsyncSession

    from persona_arena.server.store import EventRow, SessionRow

    events: dict[str, list[Event]] = defaultdict(list)
    async with AsyncSession(store.engine) as s:
        finished = select(SessionRow.id).where(SessionRow.run_id == run_id, SessionRow.status == "finished")
        query = select(EventRow).where(EventRow.session_id.in_(finished))
        if types is not None:
            query = query.where(EventRow.type.in_(types))
        rows = await s.exec(query.order_by(EventRow.session_id, EventRow.seq))
        for row in rows:
            events[row.session_id].append(row.to_event())
    return dict(events)


def leaderboard_tables(run_id: str, meta: dict[str, Any], sessions: list[SessionRow],
                       events: dict[str, list[Event]]) -> RenderableType:
    games = {s.game for s in sessions}
    if not sessions:
        return Text(f"no games in run {run_id} yet")
    if games == {"reverse-turing"}:
        from persona_arena.scoring.report import SessionInfo, build_report  # scipy: loaded when needed

        infos = [SessionInfo(s.id, s.status, s.job_key, events.get(s.id, [])) for s in sessions]
        return _reverse_turing(build_report(run_id, meta, infos))
    return _outcomes_by_agent(sessions, meta)


def outcome_label(session: SessionRow | GameRow) -> str:
    """A game's outcome in one word: its `result`, deal / no deal, or the session's status."""
    outcome = session.outcome or {}
    if session.status != "finished":
        return session.status
    if "result" in outcome:
        return str(outcome["result"])
    if "deal" in outcome:
        return "deal" if outcome["deal"] else "no-deal"
    return "finished"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def _reverse_turing(report: dict[str, Any]) -> RenderableType:
    judges = Table(title="Judges: finding the twin", expand=True, title_justify="left")
    for column in ("judge", "n", "acc", "95% CI", "chance", "p", "p(twin)"):
        judges.add_column(column, justify="left" if column == "judge" else "right")
    for j in [*report["judges"], {"judge": "all", **report["overall"]}]:
        ci = j["ci95"]
        judges.add_row(j["judge"], str(j["n"]), _pct(j["accuracy"]),
                       "—" if ci is None else f"{_pct(ci[0])}–{_pct(ci[1])}", _pct(j["chance"]),
                       "—" if j["p_value"] is None else f"{j['p_value']:.3f}",
                       "—" if j["mean_p_twin"] is None else f"{j['mean_p_twin']:.2f}",
                       style="bold" if j["judge"] == "all" else "")
    ratings = Table(title=f"Ratings ({report['ratings']['games']} games)", expand=True, title_justify="left")
    for column in ("agent", "μ", "σ", "ordinal"):
        ratings.add_column(column, justify="left" if column == "agent" else "right")
    for r in report["ratings"]["table"]:
        ratings.add_row(r["agent"], f"{r['mu']:.1f}", f"{r['sigma']:.1f}", f"{r['ordinal']:.1f}")
    g = report["games"]
    summary = Text(f"{g['finished']} finished, {g['failed']} failed, {g['running']} running, "
                   f"{g['abandoned']} abandoned of {g['planned']} planned")
    return Group(summary, judges, ratings)


def _outcomes_by_agent(sessions: list[SessionRow], meta: dict[str, Any]) -> RenderableType:
    names = agent_names(meta.get("agents") or {}, (spec for s in sessions for spec in s.players.values()))
    by_agent: dict[str, Counter[str]] = defaultdict(Counter)
    for s in sessions:
        for agent in dict.fromkeys(names[spec] for spec in s.players.values()):
            by_agent[agent][outcome_label(s)] += 1
    labels = sorted({label for counts in by_agent.values() for label in counts})
    table = Table(title="Outcomes by agent (games played)", expand=True, title_justify="left")
    table.add_column("agent")
    for label in labels:
        table.add_column(label, justify="right")
    for agent, counts in sorted(by_agent.items()):
        table.add_row(agent, *(str(counts[label]) for label in labels))
    return table
