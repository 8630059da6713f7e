"""`arena score`: tag a run's utterances, a JSONL file, or measure a backend on a gold set.

    arena score RUN [--backend B]                      tags every utterance, stores the tags
    arena score --input F.jsonl --output G.jsonl       {"id","text"} lines -> {"id","tags"} lines
    arena score --evaluate GOLD.jsonl [--backend B] [--compare B2] [--family F]
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich import box
from rich.table import Table

from persona_arena.commands.support import DEFAULT_OUT, DbOption, console, err_console, fail, llm_cache
from persona_arena.core.specs import SpecError


def register(app: typer.Typer) -> None:
    app.command()(score)


def score(
    run: Annotated[str | None, typer.Argument(help="the run whose utterances are tagged and stored")] = None,
    backend: Annotated[str, typer.Option(
        help="'rules' (deterministic) or an LLM judge's agent spec, e.g. local/qwen2.5-0.5b")] = "rules",
    input: Annotated[Path | None, typer.Option(
        "--input", help="JSONL file of {\"id\", \"text\"} lines (optional \"kind\": an event type)")] = None,
    output: Annotated[Path | None, typer.Option("--output", help="where --input's tags are written")] = None,
    evaluate: Annotated[Path | None, typer.Option(
        "--evaluate", help="gold JSONL ({\"id\", \"text\", \"labels\"}): print precision, recall, F1, kappa")] = None,
    compare_with: Annotated[str | None, typer.Option(
        "--compare", help="with --evaluate: a second backend, scored too; prints its kappa with --backend")] = None,
    split: Annotated[str | None, typer.Option(
        help="with --evaluate: only gold lines of this split (dev, heldout-1, heldout-2)")] = None,
    sample: Annotated[int | None, typer.Option(
        min=1, help="with --evaluate: N gold lines spread evenly over the file")] = None,
    family: Annotated[list[str] | None, typer.Option(
        "--family", help="with --evaluate: only the labels of this family (repeatable): boundary, "
                         "self-concept, tactic, strategy")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="with --evaluate: the full result as JSON")] = False,
    cache: Annotated[bool, typer.Option(
        "--cache/--no-cache", help="reuse recorded LLM-judge replies (OUT/llm-cache.sqlite)")] = True,
    out: Annotated[Path, typer.Option("--out", help="folder of the LLM response cache")] = DEFAULT_OUT,
    db: DbOption = None,
) -> None:
    """Tag utterances with self-concept, identity-boundary and tactic labels, and the judge's
    messages with question strategies."""
    modes = [name for name, given in (("RUN", run is not None), ("--input", input is not None),
                                      ("--evaluate", evaluate is not None)) if given]
    if len(modes) != 1:
        fail("give exactly one of RUN, --input FILE (with --output FILE) or --evaluate GOLD"
             + (f" (got {' and '.join(modes)})" if modes else ""))
    if (input is None) != (output is None):
        fail("--input and --output go together")
    if output is not None and output.is_dir():
        fail(f"--output: {output} is a folder, not a file")
    if evaluate is None and (compare_with or split or sample or as_json or family):
        fail("--compare, --split, --sample, --family and --json only apply to --evaluate")
    from persona_arena.scoring.tagging import make_tagger

    try:
        tagger = make_tagger(backend)
        other = make_tagger(compare_with) if compare_with else None
    except SpecError as err:
        fail(f"--backend: {err}")
    if cache and (backend != "rules" or compare_with not in (None, "rules")):
        from persona_arena.agents.cache import ResponseCache, use_cache

        use_cache(ResponseCache(llm_cache(out)))
    try:
        if run is not None:
            asyncio.run(_score_run(run, tagger, db))
        elif input is not None and output is not None:
            asyncio.run(_score_file(input, output, tagger))
        elif evaluate is not None:
            asyncio.run(_evaluate(evaluate, tagger, other, split, sample, as_json, family or None))
    finally:
        asyncio.run(_close(tagger, other))


async def _close(*taggers: Any) -> None:
    for tagger in taggers:
        if tagger is not None:
            await tagger.close()


def _progress(label: str) -> Progress:
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=True)


async def _score_run(run: str, tagger: Any, db: str | None) -> None:
    from persona_arena.scoring.scorer import RunNotFound, score_run
    from persona_arena.server.store import Store

    store = await Store.open(db, existing=True)
    try:
        with _progress(f"scoring {run} ({tagger.backend})") as bar:
            task = bar.add_task("score", total=None)
            result = await score_run(store, run, tagger,
                                     lambda done, total: bar.update(task, completed=done, total=total))
    except RunNotFound:
        fail(f"no run {run!r} (or it has no sessions); see `arena runs`")
    finally:
        await store.close()
    line = (f"{result['utterances']} utterances in {result['sessions']} sessions of {run}: "
            f"{result['tags']} tags stored (backend {result['backend']})")
    judge = result.get("judge")
    if judge and judge["failures"]:
        line += f"; {judge['failures']} of {judge['calls']} judge replies were unusable"
    console.print(line)


async def _score_file(input: Path, output: Path, tagger: Any) -> None:
    from persona_arena.scoring.scorer import InputError, score_file

    try:
        with _progress(f"scoring {input.name} ({tagger.backend})") as bar:
            task = bar.add_task("score", total=None)
            n = await score_file(input, output, tagger,
                                 lambda done, total: bar.update(task, completed=done, total=total))
    except InputError as err:
        fail(f"--input {err}")
    console.print(f"{n} lines tagged → {output}")


async def _evaluate(gold: Path, tagger: Any, other: Any, split: str | None, sample: int | None,
                    as_json: bool, families: list[str] | None = None) -> None:
    from persona_arena.scoring.evaluate import GoldError
    from persona_arena.scoring.scorer import evaluate_gold

    try:
        with _progress(f"evaluating {tagger.backend}") as bar:
            task = bar.add_task("evaluate", total=None)
            result = await evaluate_gold(gold, tagger, other=other, split=split, sample_size=sample,
                                         families=families, on_progress=lambda done, total: bar.update(task, completed=done, total=total))
    except GoldError as err:
        fail(f"--evaluate {err}")
    if as_json:
        print(json.dumps(result, indent=2))
        return
    _print_evaluation(result)


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def _print_evaluation(result: dict[str, Any]) -> None:
    vs = result["vs_gold"]
    where = f"{result['gold']}" + (f" (split {result['split']})" if result["split"] else "")
    table = Table(title=f"{result['backend']} vs gold: {result['n']} utterances of {where}",
                  box=box.SIMPLE_HEAD, caption="gold: utterances with the label; pred: predicted; "
                  "P, R, F1: precision, recall, F1; kappa: Cohen's kappa")
    for column in ("label", "gold", "pred", "P", "R", "F1", "kappa"):
        table.add_column(column, justify="left" if column == "label" else "right", no_wrap=True)
    for label, m in vs["labels"].items():
        table.add_row(label, str(m["support"]), str(m["predicted"]), _fmt(m["precision"]),
                      _fmt(m["recall"]), _fmt(m["f1"]), _fmt(m["kappa"]))
    console.print(table)
    console.print(f"macro-F1 {_fmt(vs['macro_f1'])}  micro-F1 {_fmt(vs['micro_f1'])}  "
                  f"Cohen's kappa {_fmt(vs['kappa'])}  exact match {_fmt(vs['exact_match'])}")
    if len(vs["families"]) > 1:
        console.print("by family: " + " · ".join(
            f"{family} macro-F1 {_fmt(f['macro_f1'])}, kappa {_fmt(f['kappa'])}" for family, f in vs["families"].items()))
    judge = result.get("judge")
    if judge:
        console.print(f"judge calls {judge['calls']}, unusable replies {judge['failures']}, "
                      f"unknown labels dropped {judge['unknown_labels']}")
    other = result.get("other")
    if other:
        console.print(f"{other['backend']} vs gold: macro-F1 {_fmt(other['vs_gold']['macro_f1'])}  "
                      f"kappa {_fmt(other['vs_gold']['kappa'])}")
        console.print(f"agreement {result['backend']} vs {other['backend']}: "
                      f"Cohen's kappa {_fmt(other['agreement']['kappa'])}")
