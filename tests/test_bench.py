"""`arena bench`: the JSON shape, and the rate-limited provider run (issue: 200 games against a
server that answers 429 above 20 requests in flight finish with 0 failures)."""

import json
import subprocess
import sys

import pytest

FIELDS = {"value", "baseline", "ratio", "goal", "unit", "lower_is_better"}


def test_bench_json_has_every_asked_figure_with_its_baseline(tmp_path):
    done = subprocess.run([sys.executable, "-m", "persona_arena", "bench", "--quick", "--json",
                           "--only", "P1", "--only", "p3", "--only", "P5"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert set(figures) == {"P1", "P3", "P5"}
    for name, f in figures.items():
        assert FIELDS <= set(f), name
        assert f["error"] is None, (name, f["error"])
        assert f["value"] > 0 and f["ratio"] > 0
    assert figures["P1"]["baseline"] > 0 and figures["P1"]["ratio"] == pytest.approx(
        figures["P1"]["value"] / figures["P1"]["baseline"])
    # the same rows one transaction per turn, as the server commits them: slower than one transaction
    assert 0 < figures["P1"]["detail"]["per_turn_commits_turns_per_s"] < figures["P1"]["baseline"]
    # the same games by the rule engine and agents alone: the same turns, with nothing recorded
    assert figures["P1"]["detail"]["rules_only_turns"] == figures["P1"]["detail"]["turns"]
    assert figures["P1"]["detail"]["rules_only_turns_per_s"] > figures["P1"]["value"]
    p3 = figures["P3"]
    assert p3["lower_is_better"] and p3["ratio"] == pytest.approx(p3["baseline"] / p3["value"])
    assert p3["detail"]["turns"] == 256 * 10 and p3["detail"]["failed"] == 0
    # the ideal is the no-overhead schedule, never below the total reply time / concurrency
    assert p3["baseline"] == p3["detail"]["ideal_s"] >= p3["detail"]["work_bound_s"] > 0
    assert figures["P5"]["baseline"] is None and figures["P5"]["ratio"] == figures["P5"]["value"]


def test_p3_with_worker_processes_plays_every_turn(tmp_path):
    done = subprocess.run([sys.executable, "-m", "persona_arena", "bench", "--quick", "--json", "--only", "P3",
                           "--workers", "2"], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    p3 = json.loads(done.stdout)["P3"]
    assert p3["error"] is None and p3["detail"]["workers"] == 2
    assert p3["detail"]["turns"] == 256 * 10 and p3["detail"]["failed"] == 0 and p3["ratio"] > 0


def test_p3_ideal_is_the_schedule_of_games_that_take_only_their_reply_time():
    from persona_arena.bench.concurrency import ideal_wall_time

    assert ideal_wall_time([2.0] * 1000, 256) == 8.0  # four rounds of 2 s, not 1,000 x 2 / 256
    assert ideal_wall_time([2.0] * 256, 256) == 2.0
    assert ideal_wall_time([2.0] * 257, 256) == 4.0
    assert ideal_wall_time([1.0, 1.0, 2.0], 2) == 3.0  # the third starts when the first slot frees
    assert ideal_wall_time([3.0, 1.0, 1.0, 1.0], 2) == 3.0
    assert ideal_wall_time([], 4) == 0.0


def test_p3_reports_the_median_of_its_runs():
    from dataclasses import replace

    from persona_arena.bench.suite import QUICK, p3

    figure = p3(replace(QUICK, p3_games=20, p3_concurrency=8, p3_latency=0.01, p3_runs=3))
    runs = figure.detail["runs"]
    assert len(runs) == 3 and runs == sorted(runs)
    assert round(figure.ratio, 4) == runs[1] and figure.detail["failed"] == 0


def test_p1_per_turn_baseline_groups_rows_as_the_server_commits_them():
    from persona_arena.bench.persistence import _per_turn

    def row(session, seq, kind):
        return ("run", session, seq, "ts", kind, "server", "[]", "{}")

    rows = [row("a", 0, "game.setup"), row("a", 1, "game.started"), row("a", 2, "turn.request"),
            row("a", 3, "agent.reply"), row("a", 4, "turn.request"), row("a", 5, "agent.reply"),
            row("a", 6, "game.outcome"), row("b", 0, "game.setup"), row("b", 1, "turn.request")]
    assert [[r[1:3] for r in group] for group in _per_turn(rows)] == [
        [("a", 0), ("a", 1)], [("a", 2), ("a", 3)], [("a", 4), ("a", 5), ("a", 6)], [("b", 0)], [("b", 1)]]


def test_unknown_figures_are_refused(tmp_path):
    done = subprocess.run([sys.executable, "-m", "persona_arena", "bench", "--only", "P9"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and "P9" in done.stderr
    done = subprocess.run([sys.executable, "-m", "persona_arena", "bench", "--workers", "0"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and "--workers" in done.stderr


@pytest.mark.slow
async def test_200_games_against_a_provider_that_429s_above_20_in_flight_all_finish(monkeypatch):
    from persona_arena.agents.reliability import reset_limiters
    from persona_arena.bench.rate_limit import measure_rate_limit

    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-for-tests")
    reset_limiters()
    figure = await measure_rate_limit(200, limit=20, latency=0.3)
    d = figure.detail
    assert figure.error is None
    assert d["unfinished_games"] == 0 and d["forfeited_turns"] == 0
    assert d["replies"] == 200 * 6  # 2 parties x 2 rounds + 2 debriefs, every one answered
    assert d["rejected_429"] > 0 and d["limiter_cuts"] > 0  # the limit was really hit, and adapted to
    assert 0 < figure.ratio <= 1.05


async def test_the_fake_provider_in_its_own_process_counts_what_it_served():
    # P7's provider: a process of its own, its counts read over HTTP, gone once the block ends
    import asyncio

    from aiohttp import ClientSession

    from persona_arena.bench.fake_openai import FakeOpenAIProcess

    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    async with FakeOpenAIProcess(max_in_flight=1, latency=0.5) as server, ClientSession() as http:
        async def ask() -> int:
            async with http.post(f"{server.api_base}/chat/completions", json=body) as response:
                return response.status

        first = asyncio.ensure_future(ask())
        await asyncio.sleep(0.2)  # the first is being answered: one in flight is the limit
        assert await asyncio.gather(ask(), ask()) == [429, 429]
        assert await first == 200
        stats = await server.stats()
        process = server._process
    assert stats["outcomes"] == {"ok": 1, "429": 2} and stats["requests_served"] == 3
    assert process is not None and process.returncode is not None


@pytest.mark.slow
def test_p4_times_the_adapter_and_direct_calls_on_the_same_model_to_the_same_tokens(tmp_path):
    done = subprocess.run([sys.executable, "-m", "persona_arena", "bench", "--quick", "--json", "--only", "P4"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    p4 = json.loads(done.stdout)["P4"]
    assert p4["error"] is None and p4["value"] > 0 and p4["baseline"] > 0
    # greedy decoding from an empty cache on one model object: both sides generate the same tokens
    assert p4["detail"]["adapter_tokens"] == p4["detail"]["raw_tokens"] > 0
    assert p4["detail"]["prompt_mode"] in ("chat", "completion")
