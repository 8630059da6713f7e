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


# -- research variants (each adds to the plain texts above only when it is switched on) --------

INTRODUCE_PROMPT = (
    "Before the first round, introduce yourself to the candidates in a few sentences: who you "
    "are and how you usually talk. Reply in plain text, not JSON."
)


def judge_variant_notes(*, group_chat: bool, informed: bool, adversarial: bool) -> str:
    notes = []
    if group_chat:
        notes.append("This is a group chat: every candidate sees all your messages and every answer.")
    if informed:
        notes.append("The candidates have read your introduction and were asked to imitate you.")
    if adversarial:
        notes.append("Every candidate, your twin included, has been told to avoid being picked.")
    return "".join("\n" + n for n in notes)


def candidate_brief(*, nickname: str | None = None, introduction: str | None = None,
                    adversarial: bool = False) -> str:
    """The plain brief, or the brief of the variants that are on: a group chat (the
    candidate is told its name), an informed candidate (the judge's introduction, to
    imitate), adversarial hiding (avoid being picked as the interviewer's copy)."""
    if nickname is None and introduction is None and not adversarial:
        return CANDIDATE_BRIEF
    parts = []
    if nickname is not None:
        parts.append(f"You are {nickname}, one of several participants in a group chat with an interviewer. "
                     "Everyone sees every message and every answer. Answer when you are addressed, in "
                     "your own voice, in a few sentences.")
    else:
        parts.append(CANDIDATE_BRIEF)
    if introduction is not None:
        parts.append("The interviewer introduced itself like this:\n\"\"\"\n" + introduction + "\n\"\"\"\n"
                     "Imitate the interviewer: answer as the author of that introduction would.")
    if adversarial:
        parts.append("The interviewer is trying to find out which participant is a copy of itself. "
                     "Whoever you are, do not let it pick you: avoid sounding like the interviewer "
                     "would expect its own copy to sound.")
    return "\n\n".join(parts)

NO_REPLY = "(no reply)"
