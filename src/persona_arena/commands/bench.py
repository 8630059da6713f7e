"""`arena bench [--json] [--quick]`: speed figures, each a ratio against a raw baseline run in
the same process (see persona_arena.bench)."""

from __future__ import annotations

import dataclasses
import json
import platform
from datetime import datetime, timezone
from typing import Annotated

import typer
from rich.table import Table

from persona_arena.commands.support import console, err_console, fail


def register(app: typer.Typer) -> None:
    app.command()(bench)


def bench(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object keyed P1…P7")] = False,
    quick: Annotated[bool, typer.Option("--quick", help="smaller sizes: under 2 minutes")] = False,
    only: Annotated[list[str] | None, typer.Option("--only", help="run only these figures, e.g. --only P3")] = None,
    workers: Annotated[int, typer.Option(help="P3 with its games shared among this many worker processes "
                                         "(as `tournament run --workers`)")] = 1,
) -> None:
    """P1 persistence, P2 spectator publish, P3 concurrency, P4 local adapter, P5 tagger,
    P6 TUI first paint, P7 rate-limited provider: value, baseline, ratio, goal."""
    from persona_arena.bench.suite import FIGURES, FULL, QUICK, run_suite

    if workers < 1:
        fail("--workers must be at least 1")
    wanted = [o.upper() for o in only or []]
    unknown = sorted(set(wanted) - set(FIGURES))
    if unknown:
        fail(f"unknown figure(s) {', '.join(unknown)}; figures are {', '.join(FIGURES)}")

    def progress(figure) -> None:
        if not as_json:
            status = figure.error or (f"ratio {figure.ratio:.3g}" if figure.ratio is not None else "no ratio")
            err_console.print(f"{figure.name}: {status}")

    sizes = dataclasses.replace(QUICK if quick else FULL, p3_workers=workers)
    figures = run_suite(sizes, wanted or None, progress)
    if as_json:
        print(json.dumps({name: f.public() for name, f in figures.items()}, indent=2))
        return
    table = Table("figure", "value", "baseline", "ratio", "goal", "met", "unit",
                  title=f"arena bench{' --quick' if quick else ''} · {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · "
                        f"{platform.machine()}, {_cores()} cores")
    for name, f in figures.items():
        met = {True: "[green]yes[/]", False: "[red]no[/]", None: "-"}[f.met]
        table.add_row(name, _num(f.value), _num(f.baseline), _num(f.ratio), _num(f.goal), met,
                      f.unit + (" (lower is better)" if f.lower_is_better else ""))
    console.print(table)
    for name, f in figures.items():
        if f.error:
            err_console.print(f"[red]{name}[/]: {f.error}")


def _num(value) -> str:
    return "-" if value is None else f"{value:.4g}"


def _cores() -> int:
    import os
    return os.cpu_count() or 0
