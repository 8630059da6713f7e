"""`eliza`: Weizenbaum's 1966 ELIZA running the DOCTOR script, as a baseline candidate.

The engine follows the CACM paper (J. Weizenbaum, "ELIZA", CACM 9(1), 1966) and the details
that the MAD-SLIP source later found in Weizenbaum's MIT archive settles:

- the input is read as 7094 BCD text in capitals; "?" and "!" (and here ";") count as periods;
- it is scanned left to right; a period, a comma or the word BUT ends the first clause that
  holds a keyword (the rest is dropped) or, before any keyword, drops the clause before it;
- each word of the script's dictionary is replaced by its substitute (I -> YOU, MY -> YOUR,
  ME -> YOU, AM -> ARE, ...); words with rules go on the keystack, on top when their rank
  is higher than every rank seen so far, at the bottom otherwise;
- the top keyword's decompositions are tried in order; the first that matches gives its
  next reassembly (each decomposition cycles through its reassemblies, in order, for the
  whole conversation), which may instead be a goto `(=KEY)`, `(NEWKEY)` or `(PRE ...)`;
- when the keyword is MY, one of the four MEMORY transformations, chosen by the SLIP
  `HASH` of the text's last word, is applied and queued; a text without keywords gets the
  oldest queued memory when the LIMIT counter (1, 2, 3, 4, 1, ...) stands at 4, and
  otherwise the next NONE remark;
- a keyword none of whose decompositions matches gives one of the four remarks built into
  the program (PLEASE CONTINUE, HMMM, ...), chosen by LIMIT;
- a `(*A B C)` group compares the word's first six characters with each six-character cell
  of the listed words, as SLIP's cell-wise comparison did (so DEPRESSION matches DEPRESSED).

Nothing is random: the same conversation always gets the same replies. The agent rebuilds
the conversation state from the observation (it replays the earlier user messages through a
fresh engine), so a reply depends only on what the player has been shown.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Union

from persona_arena.agents.base import AgentResponse, turn_seed
from persona_arena.agents.eliza_script import DOCTOR_SCRIPT
from persona_arena.agents.scripted import sample
from persona_arena.core.observations import Message, Observation
from persona_arena.core.specs import AgentSpec

__all__ = [
    "Eliza", "ElizaAgent", "Script", "ScriptError", "doctor_script", "match", "parse_script",
    "reassemble", "render", "reply_to_conversation", "slip_hash", "words_of",
]


# -- the script, as data ---------------------------------------------------------------------
class ScriptError(ValueError):
    """An ELIZA script that cannot be read."""


@dataclass(frozen=True)
class Alternatives:
    """`(*WANT NEED)`: any one of the words."""

    words: tuple[str, ...]


@dataclass(frozen=True)
class Tagged:
    """`(/FAMILY)`: any word carrying one of the tags (the script's DLISTs)."""

    tags: tuple[str, ...]


Element = Union[str, int, Alternatives, Tagged]  # a word, 0 (any words), n (n words), a group


@dataclass(frozen=True)
class NewKey:
    """`(NEWKEY)`: go on to the next keyword of the keystack."""


@dataclass(frozen=True)
class Goto:
    """`(=KEY)`: answer with the rules of keyword KEY."""

    keyword: str


@dataclass(frozen=True)
class Pre:
    """`(PRE (reassembly) (=KEY))`: rewrite the text, then answer with the rules of KEY."""

    reassembly: tuple[str | int, ...]
    keyword: str


Reassembly = Union[tuple[Union[str, int], ...], NewKey, Goto, Pre]


@dataclass(frozen=True)
class Transformation:
    decomposition: tuple[Element, ...]
    reassemblies: tuple[Reassembly, ...]


@dataclass(frozen=True)
class Keyword:
    word: str
    substitute: str | None = None
    rank: int = 0
    tags: tuple[str, ...] = ()
    transformations: tuple[Transformation, ...] = ()
    goto: str | None = None  # used when no decomposition matches

    @property
    def has_rules(self) -> bool:
        return bool(self.transformations) or self.goto is not None


@dataclass(frozen=True)
class Script:
    greeting: tuple[str, ...]
    keywords: dict[str, Keyword]
    none: Keyword
    memory_keyword: str
    memory: tuple[Transformation, ...]  # exactly four, one reassembly each
    tags: dict[str, frozenset[str]] = field(default_factory=dict)  # tag -> words (synonym groups)


def parse_script(text: str) -> Script:
    """Reads a script in the notation of the 1966 paper's appendix (see `eliza_script`)."""
    items = _read_sexprs(text)
    if not items or not isinstance(items[0], list):
        raise ScriptError("a script starts with the greeting, e.g. (HOW DO YOU DO.)")
    greeting = tuple(_atoms(items[0]))
    keywords: dict[str, Keyword] = {}
    none: Keyword | None = None
    memory_keyword, memory = "", ()
    for entry in items[1:]:
        if entry == "START" or entry == []:
            continue
        if not isinstance(entry, list) or not isinstance(entry[0], str):
            raise ScriptError(f"not a rule: {entry!r}")
        if entry[0] == "MEMORY":
            memory_keyword = _atom(entry[1])
            memory = tuple(_memory_rule(rule) for rule in entry[2:])
        elif entry[0] == "NONE":
            none = _keyword(entry)
        else:
            keyword = _keyword(entry)
            keywords[keyword.word] = keyword
    if none is None or not none.transformations:
        raise ScriptError("the script has no NONE rule")
    if len(memory) != 4 or memory_keyword not in keywords:
        raise ScriptError("the script needs a MEMORY rule for a keyword, with four transformations")
    tags: dict[str, set[str]] = {}
    for keyword in keywords.values():
        for tag in keyword.tags:
            tags.setdefault(tag, set()).add(keyword.word)
    return Script(greeting, keywords, none, memory_keyword, memory,
                  {tag: frozenset(words) for tag, words in tags.items()})


@lru_cache(maxsize=1)
def doctor_script() -> Script:
    return parse_script(DOCTOR_SCRIPT)


_SExpr = Union[str, list["_SExpr"]]


def _read_sexprs(text: str) -> list[_SExpr]:
    text = "\n".join(line.split(";", 1)[0] for line in text.splitlines())  # ; comments
    stack: list[list[_SExpr]] = [[]]
    for token in re.findall(r"\(|\)|[^\s()]+", text):
        if token == "(":
            stack.append([])
        elif token == ")":
            if len(stack) == 1:
                raise ScriptError("unbalanced ')'")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token)
    if len(stack) != 1:
        raise ScriptError("unbalanced '('")
    return stack[0]


def _atom(item: _SExpr) -> str:
    if not isinstance(item, str):
        raise ScriptError(f"expected a word, got {item!r}")
    return item


def _atoms(items: _SExpr) -> list[str]:
    if not isinstance(items, list):
        raise ScriptError(f"expected a list of words, got {items!r}")
    return [_atom(item) for item in items]


def _goto(item: _SExpr) -> str | None:
    """`(=KEY)` or `(= KEY)` -> KEY."""
    if not isinstance(item, list) or not all(isinstance(a, str) for a in item):
        return None
    words = " ".join(item)
    if not words.startswith("="):
        return None
    target = words[1:].split()
    if len(target) != 1:
        raise ScriptError(f"bad reference: ({words})")
    return target[0]


def _keyword(entry: list[_SExpr]) -> Keyword:
    word, i = _atom(entry[0]), 1
    substitute, tags, rank = None, (), 0
    if i < len(entry) and entry[i] == "=":
        substitute, i = _atom(entry[i + 1]), i + 2
    if i < len(entry) and entry[i] == "DLIST":
        tags = tuple(t for t in (a.lstrip("/") for a in _atoms(entry[i + 1])) if t)
        i += 2
    if i < len(entry) and isinstance(entry[i], str) and entry[i].isdigit():
        rank, i = int(entry[i]), i + 1
    transformations, goto = [], None
    for part in entry[i:]:
        if isinstance(part, list) and part and isinstance(part[0], list):
            transformations.append(Transformation(
                _decomposition(part[0]), tuple(_reassembly(r) for r in part[1:])))
        elif (target := _goto(part)) is not None:
            goto = target
        else:
            raise ScriptError(f"keyword {word}: cannot read {part!r}")
    return Keyword(word, substitute, rank, tags, tuple(transformations), goto)


def _decomposition(items: _SExpr) -> tuple[Element, ...]:
    if not isinstance(items, list):
        raise ScriptError(f"a decomposition is a list, not {items!r}")
    pattern: list[Element] = []
    for item in items:
        if isinstance(item, list):
            words = " ".join(_atoms(item))
            if words.startswith("*"):
                pattern.append(Alternatives(tuple(words[1:].split())))
            elif words.startswith("/"):
                pattern.append(Tagged(tuple(words[1:].split())))
            else:
                raise ScriptError(f"bad group in a decomposition: ({words})")
        else:
            pattern.append(int(item) if item.isdigit() else item)
    return tuple(pattern)


def _reassembly(items: _SExpr) -> Reassembly:
    if items == ["NEWKEY"]:
        return NewKey()
    if (target := _goto(items)) is not None:
        return Goto(target)
    if isinstance(items, list) and items and items[0] == "PRE":
        target = _goto(items[2]) if len(items) == 3 else None
        if target is None:
            raise ScriptError(f"bad PRE rule: {items!r}")
        return Pre(tuple(int(a) if a.isdigit() else a for a in _atoms(items[1])), target)
    return tuple(int(a) if a.isdigit() else a for a in _atoms(items))


def _memory_rule(items: _SExpr) -> Transformation:
    words = _atoms(items)
    if "=" not in words:
        raise ScriptError(f"a MEMORY rule reads (decomposition = reassembly): {words!r}")
    cut = words.index("=")
    return Transformation(_decomposition(words[:cut]),
                          (tuple(int(a) if a.isdigit() else a for a in words[cut + 1:]),))


# -- the IBM 7094 details that decide which MEMORY transformation is used ---------------------
# 7090/7094 BCD ("Hollerith") codes: the character at index i has the 6-bit code i; "~" = unused.
_BCD = ("0123456789~='~~~" "+ABCDEFGHI~.)~~~" "-JKLMNOPQR~$*~~~" " /STUVWXYZ~,(~~~")
_BCD_CODE = {c: i for i, c in enumerate(_BCD) if c != "~"}


def slip_hash(datum: int, bits: int) -> int:
    """SLIP's HASH(D, N): the middle N bits of D squared (D taken as 35-bit magnitude)."""
    datum &= 0o377777777777
    return ((datum * datum) >> (35 - bits // 2)) & ((1 << bits) - 1)


def _last_cell(word: str) -> int:
    """The 36-bit BCD word SLIP stores a word's last (up to) six characters in."""
    chunk = word[(max(len(word) - 1, 0) // 6) * 6:].ljust(6)
    value = 0
    for char in chunk:
        value = value << 6 | _BCD_CODE.get(char, _BCD_CODE["-"])
    return value


# -- the engine ------------------------------------------------------------------------------
_DELIMITERS = (".", ",", "BUT")
# Built into the program (not the script): said when no decomposition of a keyword matches.
_NOMATCH = ("PLEASE CONTINUE", "HMMM", "GO ON , PLEASE", "I SEE")


def words_of(text: str) -> list[str]:
    """The input as ELIZA read it: BCD capitals, with '.' and ',' as words of their own."""
    chars = []
    for char in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(char):
            continue
        if char in "‘’ʼ`":
            char = "'"
        elif char in "?!;":
            char = "."
        char = char.upper()
        chars.append(char if char in _BCD_CODE else " ")
    return re.findall(r"[.,]|[^\s.,]+", "".join(chars))


class Eliza:
    """One conversation with ELIZA. `respond` gives the classic upper-case reply, `reply` the
    same reply in sentence case."""

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or doctor_script()
        self._limit = 1                                # "a certain counting mechanism"
        self._next: dict[tuple[str, int], int] = {}    # (keyword, decomposition) -> reassembly
        self._memories: deque[str] = deque()
        self._casing: dict[str, str] = {}              # e.g. PARIS -> Paris, as the user wrote it

    @property
    def greeting(self) -> str:
        return render(" ".join(self.script.greeting))

    def reply(self, text: str) -> str:
        self._learn_casing(text)
        return render(self.respond(text), self._casing)

    def respond(self, text: str) -> str:
        words = words_of(text)
        self._limit = self._limit % 4 + 1
        keywords = self.script.keywords

        # Scan: keep the first clause holding a keyword, substitute, build the keystack.
        keystack: deque[str] = deque()
        top_rank, i = 0, 0
        while i < len(words):
            word = words[i]
            if word in _DELIMITERS:
                if not keystack:
                    del words[:i + 1]
                    i = 0
                    continue
                del words[i:]
                break
            keyword = keywords.get(word)
            if keyword is not None:
                if keyword.has_rules:
                    if keyword.rank > top_rank:
                        keystack.appendleft(word)
                        top_rank = keyword.rank
                    else:
                        keystack.append(word)
                if keyword.substitute:
                    words[i] = keyword.substitute
            i += 1

        if not keystack and self._limit == 4 and self._memories:
            return self._memories.popleft()

        while keystack:
            key = keystack.popleft()
            keyword = keywords.get(key)
            if keyword is None:  # a goto to a word the script does not define
                return _NOMATCH[self._limit - 1]
            if key == self.script.memory_keyword:
                self._remember(words)
            outcome = self._transform(keyword, words)
            if isinstance(outcome, list):
                return " ".join(outcome)
            if outcome is None:  # no decomposition matched
                return _NOMATCH[self._limit - 1]
            if isinstance(outcome, Goto):
                keystack.appendleft(outcome.keyword)
            # NewKey: go on with the next keyword, if any
        outcome = self._transform(self.script.none, words)
        return " ".join(outcome) if isinstance(outcome, list) else _NOMATCH[self._limit - 1]

    def _transform(self, keyword: Keyword, words: list[str]) -> list[str] | Goto | NewKey | None:
        """A reply (list of words), a keyword to go to, NEWKEY, or None if nothing matched.
        A PRE rule rewrites `words` in place."""
        for index, rule in enumerate(keyword.transformations):
            parts = match(rule.decomposition, words, self.script.tags)
            if parts is not None:
                break
        else:
            return Goto(keyword.goto) if keyword.goto else None
        n = self._next.get((keyword.word, index), 0)
        self._next[(keyword.word, index)] = (n + 1) % len(rule.reassemblies)
        reassembly = rule.reassemblies[n]
        if isinstance(reassembly, (NewKey, Goto)):
            return reassembly
        if isinstance(reassembly, Pre):
            words[:] = reassemble(reassembly.reassembly, parts)
            return Goto(reassembly.keyword)
        return reassemble(reassembly, parts)

    def _remember(self, words: list[str]) -> None:
        if not words:
            return
        rule = self.script.memory[slip_hash(_last_cell(words[-1]), 2)]
        parts = match(rule.decomposition, words, self.script.tags)
        if parts is not None:
            self._memories.append(" ".join(reassemble(rule.reassemblies[0], parts)))

    def _learn_casing(self, text: str) -> None:
        """Remembers how the user capitalised words inside sentences (names, acronyms), so
        echoed words keep it. Script vocabulary and shouted (all-capitals) input are ignored."""
        if not any(c.islower() for c in text):
            return
        for found in re.finditer(r"[^\s.,;:!?()\"“”]+", text):
            token = found.group().strip("'‘’")
            before = text[:found.start()].rstrip()
            if not token or not any(c.isupper() for c in token) or not before \
                    or before[-1] in ".!?;:\"“(":
                continue
            read = words_of(token)
            if len(read) != 1 or read[0] in self.script.keywords or read[0] in _SCRIPT_WORDS:
                continue
            self._casing[read[0]] = unicodedata.normalize("NFC", token.replace("’", "'"))


def match(pattern: tuple[Element, ...], words: list[str],
          tags: dict[str, frozenset[str]]) -> list[list[str]] | None:
    """Decomposes `words` by `pattern`: one list of words per element, or None. Like SLIP's
    YMATCH, each `0` takes as few words as it can."""

    def fits(element: Element, word: str) -> bool:
        if isinstance(element, str):
            return element == word
        if isinstance(element, Alternatives):
            # SLIP compares the word's first cell (6 characters) with every cell of the
            # listed words, so a long word can match on its first six characters.
            head = word[:6]
            return any(alt[i:i + 6] == head for alt in element.words for i in range(0, len(alt), 6))
        return any(word in tags.get(tag, ()) for tag in element.tags)

    def walk(p: int, w: int) -> list[list[str]] | None:
        if p == len(pattern):
            return [] if w == len(words) else None
        element = pattern[p]
        if element == 0:
            for end in range(w, len(words) + 1):
                rest = walk(p + 1, end)
                if rest is not None:
                    return [words[w:end], *rest]
            return None
        if isinstance(element, int):
            if w + element > len(words):
                return None
            rest = walk(p + 1, w + element)
            return None if rest is None else [words[w:w + element], *rest]
        if w >= len(words) or not fits(element, words[w]):
            return None
        rest = walk(p + 1, w + 1)
        return None if rest is None else [[words[w]], *rest]

    return walk(0, 0)


def reassemble(rule: tuple[str | int, ...], parts: list[list[str]]) -> list[str]:
    out: list[str] = []
    for item in rule:
        if isinstance(item, int):
            out += parts[item - 1] if 0 < item <= len(parts) else ["SCRIPT-ERROR"]
        else:
            out.append(item)
    return out


# -- presentation ----------------------------------------------------------------------------
_SCRIPT_WORDS = frozenset(w for w in re.findall(r"[^\s()]+", DOCTOR_SCRIPT) if w.isalpha())
_QUESTION_OPENERS = frozenset("""WHAT WHY HOW WHO WHEN WHERE WHICH DO DOES DID DON'T CAN CAN'T
    COULD WOULD SHOULD ARE IS WAS WERE HAVE HAS HAD WILL REALLY YOUR""".split())
_QUESTION_TAGS = (("DON'T", "YOU"), ("ARE", "YOU"))


def render(reply: str, casing: dict[str, str] | None = None) -> str:
    """ELIZA's upper-case reply as readable text: sentence case, 'I' kept, the user's own
    capitalisation of names kept, and a closing '?' or '.'."""
    casing = casing or {}
    tokens = reply.split()
    out: list[str] = []
    quote_open = False
    for token in tokens:
        if token in (",", ".") and out:
            out[-1] += token
            continue
        if token == "'":  # the script's ' 4 ' quotes
            if quote_open and out:
                out[-1] += "'"
            else:
                out.append("'")
            quote_open = not quote_open
            continue
        if token == "I" or token.startswith("I'"):
            word = "I" + token[1:].lower()
        else:
            word = casing.get(token, token.lower())
        if out and out[-1] == "'" and quote_open:
            out[-1] += word
        else:
            out.append(word)
    capital = True
    for i, word in enumerate(out):
        if capital:
            # the word's first letter (after a quote, say): "I've" stays, not "I'Ve"
            out[i] = re.sub(r"[A-Za-z]", lambda m: m.group().upper(), word, count=1)
        capital = word.endswith(".")
    text = " ".join(out)
    if not text:
        return text
    if text[-1] in ".?!":
        return text
    last = reply.replace(" .", ".").split(". ")[-1].split()
    first = last[0].strip(",.'") if last else ""
    question = (first in _QUESTION_OPENERS or tuple(last[1:2]) in (("WHAT",), ("WHICH",))
                or tuple(last[-2:]) in _QUESTION_TAGS)
    return text + ("?" if question else ".")


# -- the agent -------------------------------------------------------------------------------
def reply_to_conversation(messages: list[Message], script: Script | None = None) -> str:
    """ELIZA's answer to the last user message, the earlier ones replayed first."""
    eliza = Eliza(script)
    said = [m.content for m in messages if m.role == "user"]
    if not said:
        return eliza.greeting
    for text in said[:-1]:
        eliza.reply(text)
    return eliza.reply(said[-1])


class ElizaAgent:
    """Answers free-text turns with ELIZA/DOCTOR. A structured turn (a judge's) gets a legal
    value sampled from the schema, seeded per turn, with ELIZA's reply as its "message"."""

    def __init__(self, spec: AgentSpec, seed: int) -> None:
        self.spec = spec
        self.seed = spec.seed if spec.seed is not None else seed

    async def act(self, observation: Observation) -> AgentResponse:
        text = reply_to_conversation(observation.messages)
        schema = observation.reply_schema
        if schema is None:
            return AgentResponse(text[:observation.max_reply_chars])
        rng = random.Random(turn_seed(self.seed, observation.player, observation.turn_number))
        value = sample(schema, rng)
        message = schema.get("properties", {}).get("message")
        if isinstance(value, dict) and isinstance(message, dict) and message.get("type") == "string":
            limit = message.get("maxLength")
            text = text[:limit] if limit is not None else text
            value["message"] = text.ljust(message.get("minLength", 0), ".")
        return AgentResponse(json.dumps(value))

    async def close(self) -> None:
        return None

