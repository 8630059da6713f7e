"""The benchmark suite behind `arena bench`: P1…P7 at full or quick size.

Each figure runs in this process against its own baseline measured in the same run, so a
shared, noisy machine moves both alike. A figure that cannot be measured (a missing optional
part, an error) is reported with its error instead of failing the others.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass

from persona_arena.bench.figures import Figure


@dataclass(frozen=True)
class Sizes:
    p1_games: int
    p2_events: int
    p3_games: int
    p3_concurrency: int
    p3_latency: float
    p4_prompts: int
    p4_max_tokens: int
    p5_seconds: float
    p6_games: int
    p6_events: int
    p7_games: int
    p3_workers: int = 1  # `arena bench --workers N`: P3's games shared among N processes
    p3_runs: int = 1  # P3 is timing against a clock on a shared machine: the median of this many runs


FULL = Sizes(p1_games=100, p2_events=3000, p3_games=1000, p3_concurrency=256, p3_latency=0.2,
             p4_prompts=18, p4_max_tokens=96, p5_seconds=1.0, p6_games=1000, p6_events=10_000, p7_games=200,
             p3_runs=3)
QUICK = Sizes(p1_games=20, p2_events=1000, p3_games=256, p3_concurrency=256, p3_latency=0.2,
              p4_prompts=2, p4_max_tokens=48, p5_seconds=0.3, p6_games=200, p6_events=2000, p7_games=60)


def p1(s: Sizes) -> Figure:
    from persona_arena.bench.persistence import measure_persistence
    return asyncio.run(measure_persistence(s.p1_games))


def p2(s: Sizes) -> Figure:
    from persona_arena.server.bench_mqtt import measure_spectator_publish
    r = asyncio.run(measure_spectator_publish(events=s.p2_events))
    return Figure.compare("P2", r["value"], r["baseline"], goal=0.5, unit=r["unit"], events=s.p2_events,
                          broker="embedded amqtt", baseline_what="raw aiomqtt publish of the same messages")


def p3(s: Sizes) -> Figure:
    """The run with the median ratio; every run's ratio is in `detail["runs"]`. A minute of a
    busy neighbour on a shared machine moves a single run by several hundredths."""
    from persona_arena.bench.concurrency import measure_concurrency
    runs = sorted((asyncio.run(measure_concurrency(s.p3_games, s.p3_concurrency, s.p3_latency, workers=s.p3_workers))
                   for _ in range(max(1, s.p3_runs))), key=lambda f: f.ratio or 0.0)
    median = runs[len(runs) // 2]
    median.detail["runs"] = [round(f.ratio or 0.0, 4) for f in runs]
    return median


def p4(s: Sizes) -> Figure:
    from persona_arena.bench.local_adapter import measure_local_adapter
    return asyncio.run(measure_local_adapter(s.p4_prompts, s.p4_max_tokens))


def p5(s: Sizes) -> Figure:
    from persona_arena.scoring.throughput import measure_rules_throughput
    r = measure_rules_throughput(seconds=s.p5_seconds)
    return Figure.alone("P5", float(r["value"]), goal=20_000, unit=str(r["unit"]), backend="rules", cores=1)


def p6(s: Sizes) -> Figure:
    from persona_arena.tui.bench import measure_first_paint
    r = measure_first_paint(games=s.p6_games, events=s.p6_events)
    worst = max(c["first_paint_s"] for c in r["cases"].values())
    return Figure.alone("P6", worst, goal=r["limits"]["first_paint_s"], unit="s", lower_is_better=True,
                        cases=r["cases"], memory_limit_mb=r["limits"]["peak_rss_mb"], within_limits=r["ok"])


def p7(s: Sizes) -> Figure:
    from persona_arena.bench.rate_limit import measure_rate_limit
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-fake")  # the fake server takes any key
    return asyncio.run(measure_rate_limit(s.p7_games, limit=20, latency=0.3))


FIGURES: dict[str, tuple[Callable[[Sizes], Figure], float, str]] = {
    # name: (measure, goal, unit) — goal and unit also label a figure that could not be measured
    "P1": (p1, 0.5, "turns/s"),
    "P2": (p2, 0.5, "events/s"),
    "P3": (p3, 0.87, "s"),
    "P4": (p4, 0.95, "tokens/s"),
    "P5": (p5, 20_000, "utterances/s"),
    "P6": (p6, 1.0, "s"),
    "P7": (p7, 0.8, "replies/s"),
}


def run_suite(sizes: Sizes, only: list[str] | None = None,
              on_figure: Callable[[Figure], None] | None = None) -> dict[str, Figure]:
    figures: dict[str, Figure] = {}
    for name, (measure, goal, unit) in FIGURES.items():
        if only and name not in only:
            continue
        try:
            figure = measure(sizes)
        except Exception as err:  # one broken figure must not hide the others
            figure = Figure.failed(name, f"{type(err).__name__}: {err}", goal=goal, unit=unit)
        figures[name] = figure
        if on_figure is not None:
            on_figure(figure)
    return figures
