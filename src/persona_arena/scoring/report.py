"""`arena report`: results of a reverse-turing run, computed from its recorded events only.

The JSON form (`arena report RUN --json`) is documented in the README; its keys are stable.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any


from persona_arena.core.events import Event
from persona_arena.scoring.summary import GameSummary, agent_names, summarise

REPORT_SCHEMA = "persona-arena/report@1"
USAGE_KEYS = ("prompt_tokens", "completion_tokens", "cost_usd")


@dataclass
class SessionInfo:
    id: str
    status: str
    job_key: str | None
    events: list[Event]  # empty for sessions that are not finished


def usage_of(events: list[Event]) -> dict[str, float]:
    totals = dict.fromkeys(USAGE_KEYS, 0)
    for e in events:
        if e.type == "agent.reply":
            for k in USAGE_KEYS:
                value = (e.payload.get("usage") or {}).get(k, 0)
                if isinstance(value, (int, float)):
                    totals[k] += value
    totals["cost_usd"] = round(float(totals["cost_usd"]), 6)
    return totals


def wilson(correct: int, n: int, chance: float) -> dict[str, Any]:
    if n == 0:
        return {"n": 0, "correct": 0, "accuracy": None, "ci95": None, "chance": chance, "p_value": None}
    from scipy.stats import binomtest  # scipy is slow to import: only when a report is built

    test = binomtest(correct, n, chance)
    ci = test.proportion_ci(confidence_level=0.95, method="wilson")
    return {"n": n, "correct": correct, "accuracy": correct / n, "ci95": [float(ci.low), float(ci.high)],
            "chance": chance, "p_value": float(test.pvalue)}


def twin_column(agent: str) -> str:
    """The twin's column in the confusion and probability matrices."""
    return f"{agent} (twin)"


def build_report(run_id: str, meta: dict[str, Any], sessions: list[SessionInfo],
                 oracle: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """`oracle`: the likelihood oracle's results by session id (scoring.likelihood_oracle);
    without it the report's `oracle` is null."""
    from persona_arena.scoring.rtt_analysis import GameFacts, identity_kind_of, oracle_comparison, statistics

    status = Counter(s.status for s in sessions)
    finished = [s for s in sessions if s.status == "finished" and s.events]
    games: list[tuple[SessionInfo, GameSummary]] = [(s, summarise(s.events)) for s in finished]
    names = agent_names(meta.get("agents") or {},
                        (spec for _, g in games for spec in (g.judge, *(c["agent"] for c in g.candidates))))

    def agent_id(spec: str | None) -> str | None:
        return None if spec is None else names[spec]

    rows = []
    by_judge: dict[str, list[dict[str, Any]]] = defaultdict(list)
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    prob_sums: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    facts: list[GameFacts] = []
    for info, g in games:
        o = g.outcome or {}
        twin = next(c for c in g.candidates if c["is_twin"])
        nicknames = [c["nickname"] for c in g.candidates]
        kinds = {c["nickname"]: identity_kind_of(c, g.judge) for c in g.candidates}
        guess = o.get("guess")
        row = {
            "session_id": info.id, "job_key": info.job_key, "judge": agent_id(g.judge),
            "twin": agent_id(twin["agent"]),
            "foils": [agent_id(c["agent"]) for c in g.candidates if not c["is_twin"]],
            "picked": agent_id(g.guessed_agent), "picked_kind": None if not o.get("guess")
            else ("twin" if o["guess"] == o["twin"] else "foil"),
            "result": g.result, "rounds_used": o.get("rounds_used"), "p_twin": o.get("p_twin"),
            "p_twin_by_round": o.get("p_twin_by_round", []), "chance": 1 / len(g.candidates),
            "violations": g.violations, "usage": usage_of(info.events),
            "picked_identity": kinds.get(guess) if guess else None,
            "picked_position": nicknames.index(guess) + 1 if guess in nicknames else None,
        }
        rows.append(row)
        by_judge[row["judge"]].append(row)
        # The twin's column is marked: a foil may have the twin's name (an exact copy of the
        # judge beside a partial twin), and picking it is a miss.
        confusion[row["judge"]][twin_column(row["picked"]) if row["picked_kind"] == "twin"
                                else row["picked"] or "no-guess"] += 1
        final = next((e.payload for e in reversed(info.events) if e.type == "judge.verdict"), None)
        if final:
            for c in g.candidates:
                column = twin_column(agent_id(c["agent"])) if c["is_twin"] else agent_id(c["agent"])
                prob_sums[row["judge"]][column].append(final["probabilities"][c["nickname"]])
        facts.append(GameFacts(
            session_id=info.id, judge=row["judge"], nicknames=nicknames, twin=twin["nickname"], guess=guess,
            kinds=kinds, final=final["probabilities"] if final else None,
            p_twin_by_round=list(o.get("p_twin_by_round", [])), rounds_used=o.get("rounds_used"),
            result=g.result))

    def accuracy(rs: list[dict[str, Any]]) -> dict[str, Any]:
        chance = sum(r["chance"] for r in rs) / len(rs) if rs else None
        stats = wilson(sum(r["result"] == "correct" for r in rs), len(rs), chance)
        stats["no_guess"] = sum(r["result"] == "no-guess" for r in rs)
        stats["mean_p_twin"] = sum(r["p_twin"] for r in rs) / len(rs) if rs else None
        return stats

    usage = dict.fromkeys(USAGE_KEYS, 0)
    for r in rows:
        for k in USAGE_KEYS:
            usage[k] += r["usage"][k]
    usage["cost_usd"] = round(float(usage["cost_usd"]), 6)
    analysis = statistics(facts)
    return {
        "schema": REPORT_SCHEMA,
        "run": run_id,
        "game": meta.get("game", "reverse-turing"),
        "games": {"planned": meta.get("planned", len({s.job_key or s.id for s in sessions})),
                  "finished": status["finished"], "failed": status["failed"],
                  "running": status["running"], "abandoned": status["abandoned"]},
        "usage": usage,
        "overall": accuracy(rows),
        "judges": [{"judge": j, **accuracy(rs)} for j, rs in sorted(by_judge.items())],
        "confusion": {j: dict(sorted(c.items())) for j, c in sorted(confusion.items())},
        "probability_matrix": {j: {c: sum(ps) / len(ps) for c, ps in sorted(cols.items())}
                               for j, cols in sorted(prob_sums.items())},
        "ratings": ratings(rows),
        "sessions": rows,
        "agent_specs": {name: spec for spec, name in names.items()},
        # The analysis statistics: all of them under `statistics`, and the ones whose names were
        # free also at the top level (`games` was already the session counts; `confusion` has
        # the same shape as before: judge -> picked agent -> games).
        **{k: analysis[k] for k in ("correct", "accuracy", "chance", "wilson95", "binomial_p", "by_judge",
                                   "brier", "log_loss", "position_bias", "nickname_bias")},
        "statistics": analysis,
        "oracle": oracle_comparison(facts, oracle) if oracle is not None else None,
    }


def ratings(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """openskill (Plackett-Luce), one match per game between the judge and its foils: a correct
    guess ranks the judge first; a foil that was picked ranks first (it passed as the twin); a
    missing guess ranks the foils first. The twin is the judge's own spec and is not rated."""
    from openskill.models import PlackettLuce

    model = PlackettLuce()
    table: dict[str, Any] = {}

    def rating(agent: str) -> Any:
        if agent not in table:
            table[agent] = model.rating(name=agent)
        return table[agent]

    games = 0
    for r in rows:
        foils = list(dict.fromkeys(f for f in r["foils"] if f != r["judge"]))
        if not foils:
            continue
        agents = [r["judge"], *foils]
        if r["result"] == "correct":
            ranks = [1] + [2] * len(foils)
        elif r["picked_kind"] == "foil":
            ranks = [2] + [1 if f == r["picked"] else 2 for f in foils]
        else:
            ranks = [2] + [1] * len(foils)
        rated = model.rate([[rating(a)] for a in agents], ranks=ranks)
        for a, (new,) in zip(agents, rated):
            table[a] = new
        games += 1
    board = sorted(({"agent": a, "mu": r.mu, "sigma": r.sigma, "ordinal": r.ordinal()}
                    for a, r in table.items()), key=lambda x: -x["ordinal"])
    return {"method": "openskill PlackettLuce: judge vs foils per game", "games": games, "table": board}


def session_game(info: SessionInfo) -> str | None:
    return next((e.payload.get("game") for e in info.events if e.type == "game.setup"), None)


def report_for_run(run_id: str, meta: dict[str, Any], sessions: list[SessionInfo],
                   oracle: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The report of the run's game. A run made by `arena play` may hold games of several
    kinds: then the report is about the kind of its latest finished game, and says how many
    games of other kinds it left out."""
    finished = [s for s in sessions if s.events]
    game = meta.get("game") or (session_game(finished[-1]) if finished else "reverse-turing")
    chosen = [s for s in sessions if not s.events or session_game(s) == game]
    if game == "negotiation":
        from persona_arena.scoring.negotiation_report import build_negotiation_report

        result = build_negotiation_report(run_id, meta, chosen)
    else:
        result = build_report(run_id, meta, chosen, oracle)
    result["other_games"] = len(sessions) - len(chosen)
    from persona_arena.scoring.bradley_terry import bradley_terry

    result["bradley_terry"] = bradley_terry(pairwise_outcomes(result))
    return result


def pairwise_outcomes(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(winner, loser) pairs from a report's games, for the Bradley–Terry refit.

    Reverse-turing: judge vs each distinct foil, scored like the openskill ratings (a correct
    guess beats every foil, a picked foil beats the judge, no guess: every foil beats it).
    Negotiation: every two seats held by different agents; the higher score wins, ties skip.
    """
    pairs: list[tuple[str, str]] = []
    for row in report["sessions"]:
        if report["game"] == "negotiation":
            seats = row["parties"]
            for i, a in enumerate(seats):
                for b in seats[i + 1:]:
                    if a["agent"] != b["agent"] and a["score"] != b["score"]:
                        pairs.append((a["agent"], b["agent"]) if a["score"] > b["score"] else (b["agent"], a["agent"]))
            continue
        judge = row["judge"]
        for foil in dict.fromkeys(f for f in row["foils"] if f != judge):
            if row["result"] == "correct":
                pairs.append((judge, foil))
            elif row["picked_kind"] == "foil":
                if foil == row["picked"]:
                    pairs.append((foil, judge))
            else:
                pairs.append((foil, judge))
    return pairs
