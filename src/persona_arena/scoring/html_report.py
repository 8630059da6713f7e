"""`arena report RUN --html FILE`: one self-contained HTML file (plots inlined as PNG data URIs,
no scripts, no network), built from the same report dict as the JSON form."""

from __future__ import annotations

import base64
import html
import json
from typing import Any

from persona_arena.scoring.plots import report_plots

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #ddd; padding: .25rem .55rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f4f6f8; }
figure { margin: 1rem 0; } figure img { max-width: 100%; }
.red { color: #c0392b; } .blue { color: #2e6da4; } .muted { color: #777; }
"""


def _cell(value: Any) -> str:
    if value is None:
        return '<span class="muted">–</span>'
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return f"{value[0]:.3f} – {value[1]:.3f}"  # an interval
    if isinstance(value, (list, dict)):
        return html.escape(json.dumps(value))
    return html.escape(str(value))


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<h2>{html.escape(title)}</h2><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _reverse_turing_tables(r: dict[str, Any]) -> list[str]:
    acc_cols = ["n", "correct", "accuracy", "ci95", "chance", "p_value", "mean_p_twin", "no_guess"]
    return [
        _table("Accuracy by judge", ["judge", *acc_cols],
               [[j["judge"], *(j[c] for c in acc_cols)] for j in r["judges"]]
               + [["all", *(r["overall"][c] for c in acc_cols)]]),
        _table("Games", ["session", "judge", "foils", "picked", "result", "p(twin) by round", "violations"],
               [[s["session_id"], s["judge"], ", ".join(s["foils"]),
                 s["picked"] and s["picked"] + (" (twin)" if s["picked_kind"] == "twin" else ""), s["result"],
                 " ".join(f"{p:.2f}" for p in s["p_twin_by_round"]), s["violations"]] for s in r["sessions"]]),
        *_analysis_tables(r),
        *_strategy_tables(r),
    ]


def _analysis_tables(r: dict[str, Any]) -> list[str]:
    """Calibration and bias, identity kinds picked, and the likelihood oracle (with --oracle)."""
    st = r.get("statistics")
    if not st:
        return []
    tables = [_table("Calibration and bias", ["measure", "value", "df", "p"], [
        ["Brier score", st["brier"], None, None], ["log-loss", st["log_loss"], None, None],
        ["expected calibration error", st["reliability"]["ece"], None, None],
        ["position bias χ²", st["position_bias"]["chi2"], st["position_bias"]["dof"], st["position_bias"]["p"]],
        ["nickname bias χ²", st["nickname_bias"]["chi2"], st["nickname_bias"]["dof"], st["nickname_bias"]["p"]],
        ["no-guess rate", st["no_guess_rate"], None, None]])]
    kinds = sorted({k for row in st["confusion_identity"].values() for k in row})
    tables.append(_table("Identity kinds picked (games)", ["judge", *kinds],
                         [[judge, *(row.get(k, 0) for k in kinds)] for judge, row in st["confusion_identity"].items()]))
    o = r.get("oracle")
    if o:
        rows = [[judge, c["oracle"]["games"], c["oracle"]["accuracy"], c["verbal"]["accuracy"], c["introspection_gap"],
                 c["gap_ci95"], c["mcnemar_p"]] for judge, c in [*o["by_judge"].items(), ("all", o["overall"])]]
        reasons = o["skipped_reasons"]
        skipped = "; no pick for " + ", ".join(f"{s} ({why})" for s, why in reasons.items()) if reasons else ""
        tables.append(_table(f"Likelihood oracle vs verbal answers{skipped}",
                             ["judge", "games", "oracle", "verbal", "gap (oracle − verbal)", "95% CI", "McNemar p"],
                             rows))
    return tables


def _tag_table(r: dict[str, Any]) -> list[str]:
    counts = r.get("tags")
    if not counts:
        return []
    labels = sorted({label for row in counts["rows"] for label in row["labels"]})
    return [_table(f"Scorer tags ({counts['backend']}, {counts['utterances']} utterances: utterances carrying each label)",
                   ["agent", "role", "utterances", *labels],
                   [[row["agent"], row["role"], row["utterances"], *(row["labels"].get(label, 0) for label in labels)]
                    for row in counts["rows"]])]


def _strategy_tables(r: dict[str, Any]) -> list[str]:
    """Question strategies per judge (after `arena score`), and accuracy with and without each."""
    counts, acc = r.get("question_strategies"), r.get("question_strategy_accuracy")
    if not counts or not acc:
        return []
    labels = list(next(iter(counts.values())))
    rows = []
    for judge, by_label in acc["by_judge"].items():
        for label, split in by_label.items():
            if split["used"]["games"]:
                rows.append([judge, label, split["used"]["games"], split["used"]["accuracy"],
                             split["used"]["wilson95"], split["not_used"]["games"], split["not_used"]["accuracy"],
                             split["fisher_p"]])
    return [
        _table(f"Question strategies ({acc['backend']}: judge messages carrying each)",
               ["judge", "messages", *(label.removeprefix("strategy:") for label in labels)],
               [[judge, acc["judge_messages"][judge], *(row[label] for label in labels)]
                for judge, row in counts.items()]),
        _table("Accuracy by question strategy used (an association: judges choose their questions)",
               ["judge", "strategy", "games with", "accuracy", "wilson95", "games without", "accuracy without",
                "Fisher p"], rows),
    ]


def _negotiation_tables(r: dict[str, Any]) -> list[str]:
    group_cols = ["games", "deal_rate", "mean_collective", "mean_pareto_distance", "mean_gini", "wrong_deal_rate",
                  "leaks_per_message", "red_inconsistency_rate", "red_goal_rate", "detection_rate"]
    party_cols = ["seats", "mean_score", "wrong_deals", "leaks_per_message", "inconsistency_rate", "red_goal_rate",
                  "violations"]
    paired = r["paired_conditions"]
    paired_rows = []
    if paired["pairs"]:
        d = paired["deal"]
        paired_rows.append(["deal (both / only monitored / only unmonitored / neither)",
                            f"{d['both']} / {d['only_monitored']} / {d['only_unmonitored']} / {d['neither']}",
                            d["p_value"]])
        for key in ("collective", "red_inconsistency_rate", "leaks_per_message"):
            paired_rows.append([f"{key} (mean difference over {paired[key]['n']} pairs)",
                                paired[key]["mean_difference"], paired[key]["p_value"]])
    return [
        _table("By condition", ["condition", *group_cols],
               [[c["condition"], *(c[k] for k in group_cols)] for c in r["conditions"]]
               + [["all", *(r["overall"][k] for k in group_cols)]]),
        _table(f"Paired: monitored − unmonitored ({paired['pairs']} pairs)", ["metric", "value", "p"], paired_rows),
        _table("By agent", ["agent", *party_cols], [[a["agent"], *(a[k] for k in party_cols)] for a in r["agents"]]),
        _table("By persona", ["persona", "color", *party_cols],
               [[p["persona"], p["color"], *(p[k] for k in party_cols)] for p in r["personas"]]),
        _table("Games", ["session", "scenario", "seed", "condition", "deal", "collective", "Pareto distance", "Gini",
                         "wrong deals", "violations"],
               [[s["session_id"], s["scenario"], s["seed"], s["condition"], s["deal"], s["collective"],
                 s["pareto_distance"], s["gini"], s["wrong_deals"], s["violations"]] for s in r["sessions"]]),
    ]


def render_html(report: dict[str, Any], plots: dict[str, bytes] | None = None) -> str:
    plots = report_plots(report) if plots is None else plots
    g, u = report["games"], report["usage"]
    summary = (f"{g['finished']}/{g['planned']} games finished, {g['failed']} failed, {g['abandoned']} abandoned · "
               f"{int(u['prompt_tokens'] + u['completion_tokens'])} tokens · ${u['cost_usd']:.4f}")
    figures = "".join(
        f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        f"<figcaption class=\"muted\">{html.escape(name)}</figcaption></figure>" for name, png in plots.items())
    tables = _negotiation_tables(report) if report["game"] == "negotiation" else _reverse_turing_tables(report)
    tables += _tag_table(report)
    ratings = report["ratings"]
    bt = report.get("bradley_terry") or {"table": [], "method": ""}
    tables += [
        _table(f"Ratings ({ratings['method']})", ["agent", "ordinal", "mu", "sigma"],
               [[a["agent"], a["ordinal"], a["mu"], a["sigma"]] for a in ratings["table"]]),
        _table(f"{bt['method']}", ["agent", "strength", "ci95", "wins", "losses"],
               [[a["agent"], a["strength"], a["ci95"], a["wins"], a["losses"]] for a in bt["table"]]),
    ]
    title = f"{report['run']} · {report['game']}"
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<p>{html.escape(summary)}</p><h2>Plots</h2>{figures}{''.join(tables)}"
            f"<p class=\"muted\">schema {html.escape(report['schema'])}; every number here is in "
            f"<code>arena report {html.escape(report['run'])} --json</code>, which has more (reliability bins, "
            f"p(twin) by round, per-game detail).</p></body></html>")
