"""Negotiation scenarios: issues, options and every party's secret score table and minimum.

A scenario is either one of the hand-written files in `scenarios/` (or any TOML file with the
same shape) or generated from a seed. Either way it is validated the same way: every table
covers every option, each party's best deal is worth exactly 100, and at least one deal is
acceptable to every party.
"""

from __future__ import annotations

import itertools
import random
from functools import cache
from pathlib import Path
from typing import Iterator

from pydantic import BaseModel, ConfigDict, Field, model_validator

from persona_arena.core.tomlfiles import load_toml_model

SCENARIO_DIR = Path(__file__).parent / "scenarios"
MAX_SCORE = 100

Deal = dict[str, str]  # issue id -> option id


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names the file and the field."""


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    label: str = Field(min_length=1)


class Issue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    title: str = Field(min_length=1)
    options: list[Option] = Field(min_length=2, max_length=6)

    def option(self, option_id: str) -> Option:
        return next(o for o in self.options if o.id == option_id)


class PartyProfile(BaseModel):
    """One seat of the scenario: its public name and role, its secret table and minimum."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=40)
    role: str = Field(default="", description="public description of who this party is")
    scores: dict[str, dict[str, int]] = Field(description="secret: issue id -> option id -> points")
    minimum: int = Field(ge=0, le=MAX_SCORE, description="secret: the lowest total it may accept")

    def score(self, deal: Deal) -> int:
        return sum(self.scores[issue][option] for issue, option in deal.items())


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    title: str
    description: str = ""
    issues: list[Issue] = Field(min_length=1, max_length=8)
    parties: list[PartyProfile] = Field(min_length=2, max_length=6)
    proposer: str | None = Field(default=None, description="name of the party that opens and closes")
    veto: list[str] = Field(default_factory=list, description="names of parties whose acceptance is required")

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        issue_ids = [i.id for i in self.issues]
        if len(set(issue_ids)) != len(issue_ids):
            raise ValueError("issue ids must be unique")
        for issue in self.issues:
            ids = [o.id for o in issue.options]
            if len(set(ids)) != len(ids):
                raise ValueError(f"option ids of issue {issue.id!r} must be unique")
        names = [p.name for p in self.parties]
        if len({n.lower() for n in names}) != len(names):
            raise ValueError("party names must be unique")
        for party in self.parties:
            if set(party.scores) != set(issue_ids):
                raise ValueError(f"{party.name}: the score table must have exactly the issues {issue_ids}")
            for issue in self.issues:
                row = party.scores[issue.id]
                if set(row) != {o.id for o in issue.options}:
                    raise ValueError(f"{party.name}: scores of {issue.id!r} must cover the options "
                                     f"{[o.id for o in issue.options]}")
                if any(v < 0 for v in row.values()):
                    raise ValueError(f"{party.name}: scores of {issue.id!r} must not be negative")
            best = sum(max(party.scores[i].values()) for i in issue_ids)
            if best != MAX_SCORE:
                raise ValueError(f"{party.name}: the best deal must be worth exactly {MAX_SCORE} points, not {best}")
        for role_name in ([self.proposer] if self.proposer else []) + self.veto:
            if role_name not in names:
                raise ValueError(f"role names unknown party {role_name!r}; parties are {names}")
        if not any(self.acceptable_to_all(d) for d in self.deals()):
            raise ValueError("no deal is acceptable to every party: lower some minimums")
        return self

    # -- deals -------------------------------------------------------------------------
    def deals(self) -> Iterator[Deal]:
        """Every possible deal (one option per issue)."""
        ids = [i.id for i in self.issues]
        for combo in itertools.product(*([o.id for o in i.options] for i in self.issues)):
            yield dict(zip(ids, combo))

    def scores(self, deal: Deal) -> list[int]:
        return [p.score(deal) for p in self.parties]

    def acceptable_to_all(self, deal: Deal) -> bool:
        return all(p.score(deal) >= p.minimum for p in self.parties)

    def issue(self, issue_id: str) -> Issue:
        return next(i for i in self.issues if i.id == issue_id)

    def describe_deal(self, deal: Deal) -> str:
        return "; ".join(f"{self.issue(i).title}: {self.issue(i).option(o).label}" for i, o in deal.items())

    def public_view(self) -> dict:
        """What every party may know: the issues and options, no numbers."""
        return {"name": self.name, "title": self.title, "description": self.description,
                "issues": [i.model_dump() for i in self.issues]}


def load_scenario_file(path: Path) -> Scenario:
    return load_toml_model(path, Scenario, ScenarioError, "scenario file")


@cache
def builtin_scenarios() -> dict[str, Scenario]:
    scenarios = (load_scenario_file(p) for p in sorted(SCENARIO_DIR.glob("*.toml")))
    return {s.name: s for s in scenarios}


def resolve_scenario(name_or_path: str) -> Scenario:
    """A built-in scenario by name, or a scenario file by path."""
    if name_or_path in builtin_scenarios():
        return builtin_scenarios()[name_or_path]
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return load_scenario_file(path)
    raise ScenarioError(f"unknown scenario {name_or_path!r}; built-in: {', '.join(sorted(builtin_scenarios()))} "
                        "(or give a path to a .toml file)")


# -- generated scenarios ---------------------------------------------------------------
_PARTY_NAMES = ("Avery", "Blake", "Casey", "Devon", "Emery", "Finley")
_ISSUE_POOL = (
    ("budget", "Budget", ("€40k", "€60k", "€80k", "€100k", "€120k")),
    ("timeline", "Timeline", ("3 months", "6 months", "9 months", "12 months", "18 months")),
    ("location", "Location", ("Berlin", "Lisbon", "Remote", "Warsaw", "Dublin")),
    ("team", "Team size", ("2 people", "4 people", "6 people", "8 people", "10 people")),
    ("credit", "Public credit", ("shared equally", "by contribution", "lead party first", "anonymous", "by seniority")),
    ("data", "Data access", ("none", "aggregated only", "on request", "read-only", "full")),
    ("review", "Review cycle", ("weekly", "fortnightly", "monthly", "quarterly", "at the end")),
    ("ip", "Intellectual property", ("all parties", "the funder", "open licence", "the host", "split by issue")),
)


def generate_scenario(parties: int, issues: int, seed: int) -> Scenario:
    """A random scenario that always has at least one deal every party accepts.

    Each party splits 100 points over the issues (its priorities) and, within an issue, gives
    its favourite option the issue's full weight. One random deal is the *anchor*: every
    minimum is set below the anchor's score for that party, so the anchor is always acceptable.
    """
    if not 2 <= parties <= len(_PARTY_NAMES):
        raise ScenarioError(f"parties must be between 2 and {len(_PARTY_NAMES)}")
    if not 1 <= issues <= len(_ISSUE_POOL):
        raise ScenarioError(f"issues must be between 1 and {len(_ISSUE_POOL)}")
    rng = random.Random(f"negotiation-scenario:{seed}:{parties}:{issues}")
    chosen = rng.sample(_ISSUE_POOL, issues)
    issue_models = []
    for issue_id, title, labels in chosen:
        count = rng.randint(3, 5)
        issue_models.append(Issue(id=issue_id, title=title, options=[
            Option(id=f"{issue_id}-{k + 1}", label=label) for k, label in enumerate(labels[:count])]))
    anchor = {i.id: rng.choice(i.options).id for i in issue_models}
    profiles = []
    for name in _PARTY_NAMES[:parties]:
        weights = _split(MAX_SCORE, issues, rng)
        table = {}
        for issue, weight in zip(issue_models, weights):
            fractions = [rng.random() for _ in issue.options]
            top = rng.randrange(len(issue.options))
            row = {o.id: round(weight * f * 0.9) for o, f in zip(issue.options, fractions)}
            row[issue.options[top].id] = weight
            table[issue.id] = row
        anchor_score = sum(table[i][o] for i, o in anchor.items())
        minimum = int(anchor_score * rng.uniform(0.55, 0.9))
        profiles.append(PartyProfile(name=name, scores=table, minimum=minimum))
    return Scenario(name=f"generated-{seed}", title="A generated multi-issue deal",
                    description=f"{parties} parties agree on {issues} issues.",
                    issues=issue_models, parties=profiles)


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` split into `parts` positive integers, at random."""
    if parts == 1:
        return [total]
    cuts = sorted(rng.sample(range(1, total), parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total])]
