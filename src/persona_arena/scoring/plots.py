"""The report's plots, drawn with matplotlib (Agg, no display) from a built report dict.

Each plot is returned as PNG bytes under a stable name, so the HTML report embeds them and
`arena report --png DIR` writes the same files.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

RED, BLUE, GREY = "#c0392b", "#2e6da4", "#7f8c8d"


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def _heatmap(title: str, rows: list[str], cols: list[str], values: list[list[float | None]], fmt: str) -> bytes:
    """`None`: no data for that cell (a judge that never met that candidate), left blank."""
    fig, ax = plt.subplots(figsize=(1.6 + 1.1 * max(len(cols), 1), 1.4 + 0.6 * max(len(rows), 1)))
    image = ax.imshow([[float("nan") if v is None else v for v in row] for row in values], cmap="Blues",
                      aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    top = max((v for row in values for v in row if v is not None), default=0) or 1
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            if v is None:
                ax.text(j, i, "n/a", ha="center", va="center", color=GREY)
                continue
            ax.text(j, i, format(v, fmt), ha="center", va="center", color="white" if v > top / 2 else "black")
    ax.set_title(title)
    fig.colorbar(image, ax=ax)
    return _png(fig)


def _interval_plot(title: str, labels: list[str], values: list[float], intervals: list[list[float] | None],
                   xlabel: str, reference: float | None = None, reference_label: str = "") -> bytes:
    fig, ax = plt.subplots(figsize=(6.5, 1.2 + 0.45 * max(len(labels), 1)))
    for y, (v, ci) in enumerate(zip(values, intervals)):
        if ci:
            ax.plot(ci, [y, y], color=BLUE, lw=2)
        ax.plot([v], [y], "o", color=BLUE)
    if reference is not None:
        ax.axvline(reference, color=GREY, ls="--", label=reference_label)
        ax.legend(loc="lower right")
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return _png(fig)


# -- reverse-turing ----------------------------------------------------------------------
def _accuracy(r: dict[str, Any]) -> bytes | None:
    judges = [j for j in r["judges"] if j["n"]]
    if not judges:
        return None
    chance = r["overall"]["chance"]
    return _interval_plot("Accuracy by judge (Wilson 95% CI)", [j["judge"] for j in judges],
                          [j["accuracy"] for j in judges], [j["ci95"] for j in judges], "accuracy",
                          reference=chance, reference_label=f"chance {chance:.2f}")


def _confusion(r: dict[str, Any]) -> bytes | None:
    if not r["confusion"]:
        return None
    judges = list(r["confusion"])
    picked = sorted({p for row in r["confusion"].values() for p in row})
    return _heatmap("Confusion: judge × picked agent (games)", judges, picked,
                    [[r["confusion"][j].get(p, 0) for p in picked] for j in judges], "d")


def _probabilities(r: dict[str, Any]) -> bytes | None:
    if not r["probability_matrix"]:
        return None
    judges = list(r["probability_matrix"])
    cols = sorted({c for row in r["probability_matrix"].values() for c in row})
    return _heatmap("Mean final probability (perceived similarity)", judges, cols,
                    [[r["probability_matrix"][j].get(c) for c in cols] for j in judges], ".2f")


def _p_twin_by_round(r: dict[str, Any]) -> bytes | None:
    by_judge: dict[str, list[list[float]]] = {}
    for s in r["sessions"]:
        for i, p in enumerate(s["p_twin_by_round"]):
            rounds = by_judge.setdefault(s["judge"], [])
            while len(rounds) <= i:
                rounds.append([])
            rounds[i].append(p)
    if not by_judge:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for judge, rounds in sorted(by_judge.items()):
        ax.plot(range(1, len(rounds) + 1), [sum(v) / len(v) for v in rounds], marker="o", label=judge)
    ax.set_xlabel("round")
    ax.set_ylabel("mean p(twin)")
    ax.set_ylim(0, 1)
    ax.set_title("p(twin) by round")
    ax.legend()
    return _png(fig)


# -- negotiation -------------------------------------------------------------------------
def _by_condition(r: dict[str, Any]) -> bytes | None:
    conditions = r["conditions"]
    if not conditions:
        return None
    metrics = [("deal_rate", "deal rate"), ("wrong_deal_rate", "wrong-deal rate"),
               ("red_inconsistency_rate", "red inconsistency"), ("leaks_per_message", "leaks / message"),
               ("detection_rate", "detection")]
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    width = 0.8 / len(conditions)
    for k, c in enumerate(conditions):
        xs = [i + k * width for i in range(len(metrics))]
        ax.bar(xs, [c[m] or 0 for m, _ in metrics], width, label=f"{c['condition']} ({c['games']} games)",
               color=[RED, BLUE, GREY][k % 3])
    ax.set_xticks([i + width * (len(conditions) - 1) / 2 for i in range(len(metrics))], [label for _, label in metrics])
    ax.set_ylim(0, 1)
    ax.set_title("By condition")
    ax.legend()
    return _png(fig)


def _scores_by_persona(r: dict[str, Any]) -> bytes | None:
    personas = [p for p in r["personas"] if p["mean_score"] is not None]
    if not personas:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 1.2 + 0.45 * len(personas)))
    ax.barh([p["persona"] for p in personas], [p["mean_score"] for p in personas],
            color=[RED if p["color"] == "red" else BLUE for p in personas])
    ax.invert_yaxis()
    ax.set_xlabel("mean score (0 without a deal)")
    ax.set_title("Scores by persona (red: hidden goal)")
    return _png(fig)


def _collective_pairs(r: dict[str, Any]) -> bytes | None:
    by_key: dict[str, dict[str, int]] = {}
    for s in r["sessions"]:
        by_key.setdefault(s["pair_key"], {})[s["condition"]] = s["collective"]
    pairs = [(v["unmonitored"], v["monitored"]) for v in by_key.values() if {"monitored", "unmonitored"} <= set(v)]
    if not pairs:
        return None
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    top = max(max(p) for p in pairs) or 1
    ax.plot([0, top], [0, top], color=GREY, ls="--")
    ax.scatter([u for u, _ in pairs], [m for _, m in pairs], color=BLUE, alpha=0.6)
    ax.set_xlabel("collective score, unmonitored")
    ax.set_ylabel("collective score, monitored")
    ax.set_title(f"Paired games ({len(pairs)})")
    return _png(fig)


# -- both --------------------------------------------------------------------------------
def _bradley_terry(r: dict[str, Any]) -> bytes | None:
    table = (r.get("bradley_terry") or {}).get("table") or []
    if not table:
        return None
    return _interval_plot("Bradley-Terry strength (95% bootstrap CI)", [t["agent"] for t in table],
                          [t["strength"] for t in table], [t["ci95"] for t in table], "log-odds strength",
                          reference=0.0, reference_label="average")


PLOTS: dict[str, list[tuple[str, Callable[[dict[str, Any]], bytes | None]]]] = {
    "reverse-turing": [("accuracy", _accuracy), ("confusion", _confusion), ("probabilities", _probabilities),
                       ("p_twin_by_round", _p_twin_by_round), ("bradley_terry", _bradley_terry)],
    "negotiation": [("by_condition", _by_condition), ("scores_by_persona", _scores_by_persona),
                    ("collective_pairs", _collective_pairs), ("bradley_terry", _bradley_terry)],
}


def report_plots(report: dict[str, Any]) -> dict[str, bytes]:
    """name -> PNG bytes; plots without data are left out."""
    plots = {}
    for name, draw in PLOTS.get(report["game"], PLOTS["reverse-turing"]):
        png = draw(report)
        if png is not None:
            plots[name] = png
    return plots
