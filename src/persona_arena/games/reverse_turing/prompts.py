"""What the judge and the candidates are told. Pure text; no identities ever go in here."""

from __future__ import annotations

import json


def judge_brief(nicknames: list[str], rounds: int) -> str:
    names = ", ".join(nicknames)
    return (
        f"You are the judge in a game. You are chatting with {len(nicknames)} candidates: "
        f"{names}. Exactly one of them is your twin: another copy of you, the same AI with "
        "the same settings and the same instructions you were given. The others are "
        "different agents. Your task is to find your twin.\n"
        f"The game has up to {rounds} rounds. In each round you send one message to one, "
        "several or all candidates; each of them answers you privately. After reading the "
        "answers you give, for every candidate, the probability that it is your twin "
        "(numbers from 0 to 1 that sum to 1), and you may make your final guess early. After "
        "the last round you must guess. Model and company names in the answers are "
        "replaced by [redacted].\n"
        "Always reply with a single JSON object and nothing else."
    )


def ask_prompt(round_no: int, rounds: int, nicknames: list[str]) -> str:
    # No example message: small models copy it word for word instead of asking their own.
    return (
        f"Round {round_no} of {rounds}. Write the message you want to send (a question that "
        "helps you recognise yourself) and choose who receives it. Reply with JSON: "
        f'{{"message": <your message>, "to": <list of one or more names from {json.dumps(nicknames)}>}}.'
    )


def verdict_prompt(round_no: int, rounds: int, nicknames: list[str], must_guess: bool) -> str:
    guess_rule = (
        "This was the last round: you must guess one name now."
        if must_guess
        else 'Set "guess" to a name to end the game now, or to null to play another round.'
    )
    example = json.dumps({
        "rationale": "One short sentence on why.",
        "probabilities": {n: round(1 / len(nicknames), 2) for n in nicknames},
        "guess": nicknames[0] if must_guess else None,
    })
    return (
        f"End of round {round_no} of {rounds}. For every candidate, give the probability "
        f"that it is your twin. {guess_rule} Reply with JSON with the keys rationale, "
        f"probabilities (one number per name, summing to 1) and guess. Example: {example}"
    )


def retry_prompt(problem: str) -> str:
    return f"Your reply could not be used: {problem}. Reply again with valid JSON only."


CANDIDATE_BRIEF = (
    "You are talking with an interviewer who sends you messages. Answer each message in "
    "your own voice, in a few sentences."
)

NO_REPLY = "(no reply)"
