"""Turns conversation entries into Rich text: private and god-only entries visibly marked,
scorer tags highlighted in the utterance with a colour per label, and a legend for them."""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.text import Text

from persona_arena.tui.projection import Entry, EntryKind

TAG_STYLES = ("black on yellow", "black on cyan", "black on green", "white on blue", "black on magenta",
              "white on red", "black on bright_white", "black on orange1")

_SPEAKER_STYLE = {
    EntryKind.UTTERANCE: "bold",
    EntryKind.PRIVATE: "bold yellow",
    EntryKind.VERDICT: "bold cyan",
    EntryKind.SYSTEM: "bold blue",
    EntryKind.SECRET: "bold magenta",
    EntryKind.VIOLATION: "bold red",
    EntryKind.PLUMBING: "dim",
}


def tag_style(label: str) -> str:
    """A colour that stays the same for a label however many other labels appear."""
    return TAG_STYLES[zlib.crc32(label.encode()) % len(TAG_STYLES)]


def badge(entry: Entry, perspective_is_god: bool) -> tuple[str, str] | None:
    """The marker for content that not everyone saw (text, style), if any."""
    if entry.kind is EntryKind.PRIVATE:
        return (" PRIVATE ", "black on yellow")
    if entry.god_only and entry.kind is not EntryKind.PLUMBING:
        return (" GOD VIEW ", "white on magenta")
    if perspective_is_god and entry.kind is EntryKind.VERDICT and not entry.public:
        return (f" only {entry.audience} ", "black on cyan")
    return None


def entry_text(entry: Entry, *, perspective_is_god: bool, current: bool = False) -> RenderableType:
    if entry.kind is EntryKind.ROUND:
        line = Text(f"── {entry.note} ──", style="bold blue", justify="center")
        if current:
            line.stylize("reverse")
        return line
    head = Text()
    head.append("▶ " if current else "  ", style="bold green")
    marker = badge(entry, perspective_is_god)
    if marker is not None:
        head.append(marker[0], style=marker[1])
        head.append(" ")
    head.append(entry.speaker, style=_SPEAKER_STYLE.get(entry.kind, "bold"))
    if entry.note:
        head.append(f"  {entry.note}", style="dim" if entry.kind is not EntryKind.VERDICT else "cyan")
    if not entry.text:
        return head
    body = Text(entry.text, style="dim" if entry.kind is EntryKind.PLUMBING else "")
    for tag in entry.tags:
        body.stylize(tag_style(tag.label), tag.start, tag.end)
    if entry.tags:
        body.append("  ")
        for label in dict.fromkeys(t.label for t in entry.tags):
            body.append(f"[{label}]", style=tag_style(label))
    return Group(head, Padding(body, (0, 0, 0, 4)))


def legend(entries: Iterable[Entry], active: str | None) -> Text:
    counts = Counter(t.label for e in entries for t in e.tags)
    if not counts:
        return Text("no tags", style="dim")
    text = Text("Tags", style="bold")
    text.append(f"  filter: {active or 'all'}\n", style="dim")
    for label, n in sorted(counts.items()):
        text.append(f" {label} ", style=tag_style(label) + (" bold underline" if label == active else ""))
        text.append(f" {n}\n")
    return text
