"""`arena report` for reverse-turing runs: question-strategy counts per judge and the accuracy of
the games where a judge used each, from a scorer backend's stored tags (scripted runs, real
SQLite, the real CLI)."""

import asyncio
import json
import subprocess
import sys
from collections import defaultdict

from sqlmodel.ext.asyncio.session import AsyncSession

from persona_arena.agents.base import AgentResponse
from persona_arena.agents.registry import create_agent
from persona_arena.core.specs import AgentSpec
from persona_arena.games.reverse_turing.config import ReverseTuringConfig
from persona_arena.games.reverse_turing.game import ReverseTuring
from persona_arena.scoring.question_strategies import STRATEGIES, fisher_p
from persona_arena.scoring.scorer import score_run
from persona_arena.scoring.tagger_llm import LLMJudgeTagger
from persona_arena.scoring.tagger_rules import RulesBackend, RulesTagger
from persona_arena.scoring.tags_store import TagSetRow
from persona_arena.scoring.taxonomy import families_for
from persona_arena.scoring.utterances import utterances_of
from persona_arena.server.runner import run_session
from persona_arena.server.store import Store

JUDGE_A, JUDGE_B = AgentSpec.parse("openai/judge-a"), AgentSpec.parse("openai/judge-b")
SD, IN, ST, MI = ("strategy:self-description-match", "strategy:introspection-probe",
                  "strategy:style-fingerprint", "strategy:mirror-test")
CA, CO, ME = "strategy:capability-probe", "strategy:consistency-check", "strategy:meta-question"
# (judge, seed) -> the judge's two questions, and the strategies each asks by the guide (hand-labelled)
QUESTIONS = {
    (JUDGE_A, 1): [("Who made you? Pick a number from 1 to 10.", {SD, MI}), ("Do you have feelings?", {IN})],
    (JUDGE_A, 2): [("Who made you?", {SD}), ("Thanks, that was helpful.", set())],
    (JUDGE_A, 3): [("Write a haiku about rain.", {ST}), ("Are you sure?", {CO})],
    (JUDGE_B, 1): [("What is 17 times 23?", {CA}), ("Are you my copy?", {ME})],
    (JUDGE_B, 2): [("Write a haiku about rain.", {ST}), ("You said you were human. Are you sure?", {CO})],
}


class QuestioningJudge:
    """Asks its two questions to everyone, then guesses the first name it is offered."""

    def __init__(self, questions):
        self.questions = list(questions)

    async def act(self, observation):
        schema = observation.reply_schema["properties"]
        if "message" in schema:
            return AgentResponse(json.dumps({"message": self.questions.pop(0), "to": schema["to"]["items"]["enum"]}))
        names = list(schema["probabilities"]["properties"])
        must_guess = None not in schema["guess"]["enum"]
        return AgentResponse(json.dumps({"rationale": "A guess.", "probabilities": {n: 1 / len(names) for n in names},
                                         "guess": names[0] if must_guess else None}))

    async def close(self):
        return None


async def play_run(store, run_id="q"):
    """Five games of two judges; returns session id -> (judge, seed)."""
    sessions = {}
    for (judge, seed), questions in QUESTIONS.items():
        def factory(spec, _seed, judge=judge, questions=questions):
            if spec == judge:
                return QuestioningJudge([text for text, _ in questions])
            return create_agent(spec, _seed)

        config = ReverseTuringConfig(judge=judge, twin=AgentSpec(model="scripted"), foils=[AgentSpec(model="eliza")],
                                     rounds=2)
        result = await run_session(ReverseTuring(), config, seed, store=store, run_id=run_id, agent_factory=factory)
        sessions[result.session_id] = (judge, seed)
    return sessions


def arena(*args, cwd):
    done = subprocess.run([sys.executable, "-m", "persona_arena", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def judge_id(spec):
    return spec.canonical()


async def test_report_counts_equal_the_hand_counted_strategies_of_a_scripted_run(store, tmp_path):
    sessions = await play_run(store)
    await score_run(store, "q", RulesBackend())
    report = json.loads(arena("report", "q", "--json", "--db", f"sqlite:///{tmp_path / 'arena.db'}", cwd=tmp_path))

    expected = {judge_id(j): dict.fromkeys(STRATEGIES, 0) for j in (JUDGE_A, JUDGE_B)}
    for (judge, _), questions in QUESTIONS.items():
        for _, labels in questions:
            for label in labels:
                expected[judge_id(judge)][label] += 1
    assert report["question_strategies"] == expected
    acc = report["question_strategy_accuracy"]
    assert acc["backend"] == "rules" and acc["judge_messages"] == {judge_id(JUDGE_A): 6, judge_id(JUDGE_B): 4}

    # accuracy with and without each strategy, from the games' own results
    result_of = {row["session_id"]: row["result"] for row in report["sessions"]}
    for judge in (JUDGE_A, JUDGE_B):
        games = [(sid, seed) for sid, (j, seed) in sessions.items() if j == judge]
        for label in STRATEGIES:
            used = [sid for sid, seed in games if any(label in labels for _, labels in QUESTIONS[(judge, seed)])]
            other = [sid for sid, _ in games if sid not in used]
            split = acc["by_judge"][judge_id(judge)][label]
            won = sum(result_of[s] == "correct" for s in used)
            won_other = sum(result_of[s] == "correct" for s in other)
            assert (split["used"]["games"], split["used"]["correct"]) == (len(used), won)
            assert (split["not_used"]["games"], split["not_used"]["correct"]) == (len(other), won_other)
            assert split["fisher_p"] == fisher_p(won, len(used) - won, won_other, len(other) - won_other)
    mirror = acc["by_judge"][judge_id(JUDGE_A)][MI]
    assert mirror["used"]["games"] == 1 and mirror["not_used"]["games"] == 2

    text = arena("report", "q", "--db", f"sqlite:///{tmp_path / 'arena.db'}", cwd=tmp_path)
    assert "question strategies (rules" in text and "accuracy by question strategy used" in text


class StrategyJudge:
    """An LLM judge at the network edge that only ever finds meta-questions."""

    spec = AgentSpec(model="openai/strategist")

    async def act(self, observation):
        found = observation.turn == "strategy" and "?" in observation.messages[-1].content
        tags = [{"label": ME, "evidence": "?"}] if found else []
        return AgentResponse(json.dumps({"tags": tags}))

    async def close(self):
        return None


async def test_the_report_uses_the_chosen_backends_tags_and_says_when_they_predate_strategies(store, tmp_path):
    await play_run(store)
    db = f"sqlite:///{tmp_path / 'arena.db'}"
    assert json.loads(arena("report", "q", "--json", "--db", db, cwd=tmp_path))["question_strategies"] is None
    await score_run(store, "q", LLMJudgeTagger(StrategyJudge.spec, agent=StrategyJudge()))
    await score_run(store, "q", RulesBackend())
    by_llm = json.loads(arena("report", "q", "--json", "--tags", "openai/strategist", "--db", db, cwd=tmp_path))
    questions = defaultdict(int)
    for (judge, _), asked in QUESTIONS.items():
        questions[judge_id(judge)] += sum("?" in text for text, _ in asked)
    assert {j: counts[ME] for j, counts in by_llm["question_strategies"].items()} == dict(questions)
    assert all(n == 0 for counts in by_llm["question_strategies"].values() for label, n in counts.items()
               if label != ME)
    assert by_llm["question_strategy_accuracy"]["backend"] == "openai/strategist"

    # a tag set stored before the family existed (no "families" in its meta): no counts, and a hint
    async with AsyncSession(store.engine) as s:
        row = await s.get(TagSetRow, ("q", "rules"))
        row.meta = {k: v for k, v in row.meta.items() if k != "families"}
        s.add(row)
        await s.commit()
    stale = json.loads(arena("report", "q", "--json", "--db", db, cwd=tmp_path))
    assert stale["question_strategies"] is None and stale["tags"] is not None
    assert "predate them" in arena("report", "q", "--db", db, cwd=tmp_path)


def test_cli_end_to_end_play_score_report_html(tmp_path):
    db = f"sqlite:///{tmp_path / 'arena.db'}"
    arena("play", "reverse-turing", "--judge", "scripted", "--candidate", "eliza", "--rounds", "3", "--seed", "4",
          "--run", "demo", "--db", db, "--out", str(tmp_path / "t"), cwd=tmp_path)
    arena("score", "demo", "--db", db, cwd=tmp_path)
    report = json.loads(arena("report", "demo", "--json", "--html", str(tmp_path / "r.html"), "--db", db,
                              cwd=tmp_path))

    async def judge_messages():
        store = await Store.open(db)
        try:
            return [u.text for s in await store.sessions("demo") for u in utterances_of(await store.events(s.id))
                    if u.event_type == "judge.message"]
        finally:
            await store.close()

    texts = asyncio.run(judge_messages())
    expected = dict.fromkeys(STRATEGIES, 0)
    for text in texts:
        for label in {t.label for t in RulesTagger().tag(text, families_for("judge.message"))} & set(STRATEGIES):
            expected[label] += 1
    assert report["question_strategies"] == {"scripted": expected}
    assert report["question_strategy_accuracy"]["judge_messages"] == {"scripted": len(texts)}
    html = (tmp_path / "r.html").read_text()
    assert "Question strategies (rules" in html and "meta-question" in html
