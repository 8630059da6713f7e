"""How fast the TUI shows its first screen on big inputs, and how much memory it takes.

`measure_first_paint()` builds a run of 1,000 reverse-turing games in a fresh SQLite database
and one transcript of 10,000 events (both from the real sample game in
transcripts/samples/), then opens each in the TUI in a child process, headless at 80×24, and
reports the seconds until the first screen is drawn with its data (imports included, since a
user waits for those too) and the child's peak resident memory. A child process per case
keeps one measurement's memory out of the other's.

    python -m persona_arena.tui.bench            # prints the JSON report
"""

from __future__ import annotations

import time

_STARTED = time.perf_counter()  # before the heavy imports: they are part of what a user waits for

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

if TYPE_CHECKING:  # the child process measures the TUI's own imports, not the bench's
    from persona_arena.core.events import Event

SAMPLE = Path(__file__).resolve().parents[3] / "transcripts" / "samples" / "quickstart-gemma-judge.jsonl"
RUN_ID = "bench-tui"
FIRST_PAINT_LIMIT_S = 1.0   # the bars
MEMORY_LIMIT_MB = 300.0


def _sample_events(sample: Path) -> list[Event]:
    from persona_arena.transcripts.jsonl import read_jsonl

    return read_jsonl(sample)


def long_transcript(sample: Path, n_events: int, session_id: str = "bench-long") -> list[Event]:
    """One game of `n_events` events: the sample's first round repeated as rounds 1, 2, …,
    renumbered so that `seq` stays gapless, and the sample's setup and outcome around them."""
    events = _sample_events(sample)
    setup, started = events[0], events[1]
    first_round_end = next(i for i, e in enumerate(events) if i > 2 and e.type == "round.started")
    round_block = events[2:first_round_end]
    outcome = events[-1]
    out: list[Event] = []

    def add(e: Event, payload: dict[str, Any] | None = None) -> None:
        out.append(e.model_copy(update={"seq": len(out), "session_id": session_id, "run_id": RUN_ID,
                                        "ts": setup.ts + timedelta(seconds=len(out)),
                                        "payload": payload if payload is not None else e.payload}))

    add(setup)
    add(started)
    round_no = 0
    while len(out) + len(round_block) + 1 <= n_events:
        round_no += 1
        for e in round_block:
            payload = dict(e.payload)
            if "round" in payload:
                payload["round"] = round_no
            add(e, payload)
    while len(out) < n_events - 1:  # pad with turn requests so the count is exact
        add(events[3])
    add(outcome)
    return out


def write_long_transcript(path: Path, n_events: int, sample: Path = SAMPLE) -> Path:
    from persona_arena.transcripts.jsonl import write_jsonl

    return write_jsonl(long_transcript(sample, n_events), path)


async def build_run_db(db_path: Path, n_games: int, sample: Path = SAMPLE) -> str:
    """A run of `n_games` finished games in a new SQLite database, written in one transaction;
    returns the run id. Each game is the sample game under its own session id."""
    from sqlmodel.ext.asyncio.session import AsyncSession

    from persona_arena.server.store import EventRow, RunRow, SessionRow, Store

    events = _sample_events(sample)
    setup = events[0].payload
    players = {"judge": setup["judge"], **{c["player"]: c["agent"] for c in setup["candidates"]}}
    results = ("correct", "wrong", "no-guess")
    store = await Store.open(f"sqlite:///{db_path}")
    try:
        async with AsyncSession(store.engine) as s:
            s.add(RunRow(id=RUN_ID, created_at=events[0].ts, meta={"game": "reverse-turing", "planned": n_games}))
            session_ids = [f"{RUN_ID}-g{g:04d}" for g in range(n_games)]
            outcomes = [dict(events[-1].payload, result=results[g % len(results)]) for g in range(n_games)]
            for g, (session_id, outcome) in enumerate(zip(session_ids, outcomes)):
                s.add(SessionRow(id=session_id, run_id=RUN_ID, job_key=f"g{g:04d}", game="reverse-turing", seed=g,
                                 status="finished", config=setup.get("config", {}), players=players,
                                 outcome=outcome, started_at=events[0].ts, finished_at=events[-1].ts))
            await s.flush()  # sessions before their events (foreign keys; no ORM relationship orders them)
            for session_id, outcome in zip(session_ids, outcomes):
                for e in events:
                    payload = outcome if e.type == "game.outcome" else e.payload
                    s.add(EventRow.of(e.model_copy(update={"session_id": session_id, "run_id": RUN_ID,
                                                           "payload": payload})))
            await s.commit()
    finally:
        await store.close()
    return RUN_ID


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM starts afresh at exec, whereas
    ru_maxrss keeps the high-water mark of the parent that forked us."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# -- the child process: open one case, wait for the first paint ----------------------------------
async def _open(case: str, target: Path) -> dict[str, float]:
    from persona_arena.tui.app import ArenaApp
    from persona_arena.tui.sources import JsonlSource

    app = ArenaApp.runs(f"sqlite:///{target}") if case == "run" else ArenaApp.replay(JsonlSource(target))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.first_paint.wait()
        painted = time.perf_counter() - _STARTED
        result = {"first_paint_s": round(painted, 3), "peak_rss_mb_at_paint": peak_rss_mb()}
        if case == "run":
            # The leaderboard needs every game's events: measured too, since it shares the memory bar.
            await pilot.press("l")
            await app.screen.leaderboard_ready.wait()
            result["leaderboard_s"] = round(time.perf_counter() - _STARTED, 3)
        else:
            await pilot.press("end")  # the whole transcript folded
            result["end_s"] = round(time.perf_counter() - _STARTED, 3)
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def _child(case: str, target: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "persona_arena.tui.bench", "--child", case, str(target)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_first_paint(*, games: int = 1000, events: int = 10_000, work_dir: Path | None = None,
                        sample: Path = SAMPLE) -> dict[str, Any]:
    """Time to first paint and peak memory of the TUI on a `games`-game run (Runs screen) and an
    `events`-event transcript (Replay screen). Returns a JSON-ready report with the limits."""
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        folder = Path(tmp)
        db = folder / "run.db"
        asyncio.run(build_run_db(db, games, sample))
        transcript = write_long_transcript(folder / "long.jsonl", events, sample)
        run = {"games": games, **_child("run", db)}
        replay = {"events": events, **_child("transcript", transcript)}
    cases = {"runs_screen": run, "replay_screen": replay}
    return {
        "cases": cases,
        "limits": {"first_paint_s": FIRST_PAINT_LIMIT_S, "peak_rss_mb": MEMORY_LIMIT_MB},
        "ok": all(c["first_paint_s"] < FIRST_PAINT_LIMIT_S and c["peak_rss_mb"] < MEMORY_LIMIT_MB
                  for c in cases.values()),
        "terminal": "80x24, headless",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", nargs=2, metavar=("CASE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--games", type=int, default=1000)
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    if args.child:
        case, target = args.child
        print(json.dumps(asyncio.run(_open(case, Path(target)))))
        return
    print(json.dumps(measure_first_paint(games=args.games, events=args.events), indent=2))


if __name__ == "__main__":
    main()
