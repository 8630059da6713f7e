"""Small widgets the screens share: a footer that wraps (every binding stays visible in 80
columns) and a clickable position bar."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.message import Message
from textual.binding import Binding
from textual.markup import escape
from textual.screen import Screen
from textual.containers import VerticalScroll
from textual.widgets import Static

GAP = 2  # cells between footer items


class KeyBar(Static):
    """The footer: every binding of the screen, wrapped onto as many rows as the width needs
    (Textual's own footer keeps one row and cuts keys off at 80 columns). Keys are clickable."""

    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: auto; background: $footer-background; color: $footer-foreground; }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        self.update(self.markup(self.size.width or self.app.size.width))

    def on_resize(self) -> None:
        self._bindings_changed(self.screen)

    def items(self) -> list[tuple[str, int]]:
        """(markup, width in cells) of every item: one per group (←→ step), one key per
        distinct key display ("plus,equals_sign" shows one +)."""
        items_by_key: dict[object, dict[str, Binding]] = {}
        for node, binding, _enabled, _tooltip in self.screen.active_bindings.values():
            if binding.show and binding.description and node in (self.screen, self.app):
                items_by_key.setdefault(binding.group or binding.action, {}).setdefault(
                    self.app.get_key_display(binding), binding)
        items = []
        for by_display in items_by_key.values():
            separator = "/" if any(cell_len(d) > 1 for d in by_display) else ""
            keys = separator.join(f"[@click=app.simulate_key({b.key!r})]{escape(display)}[/]"
                                  for display, b in by_display.items())
            first = next(iter(by_display.values()))
            description = first.group.description if first.group else first.description
            width = (sum(cell_len(d) for d in by_display) + cell_len(separator) * (len(by_display) - 1)
                     + 1 + cell_len(description))
            items.append((f"[b $footer-key-foreground]{keys}[/] {escape(description)}", width))
        return items

    def markup(self, width: int) -> str:
        # Wrapped here, between items, so that a key is never parted from its description.
        lines: list[list[str]] = [[]]
        used = 0
        for markup, cells in self.items():
            if lines[-1] and used + GAP + cells > width:
                lines.append([])
                used = 0
            used += (GAP if lines[-1] else 0) + cells
            lines[-1].append(markup)
        return "\n".join((" " * GAP).join(line) for line in lines)


class PositionBar(Static):
    """Where the cursor is in the session; a click seeks to that point."""

    class Seek(Message):
        def __init__(self, fraction: float) -> None:
            super().__init__()
            self.fraction = fraction

    DEFAULT_CSS = """
    PositionBar { height: 1; }
    """

    _bar_start, _bar_width = 0, 1

    def show(self, position: int, total: int, label: str) -> None:
        width = max(self.size.width - len(label) - 1, 10)
        self._bar_start, self._bar_width = len(label) + 1, width
        filled = round(width * (position / total)) if total else 0
        text = Text(label + " ", style="bold")
        text.append("━" * filled, style="green")
        text.append("─" * (width - filled), style="dim")
        self.update(text)

    def on_click(self, event: events.Click) -> None:
        fraction = (event.x - self._bar_start) / self._bar_width
        self.post_message(self.Seek(min(max(fraction, 0.0), 1.0)))


class Pane(VerticalScroll, can_focus=False):
    """A scrolling area that never takes focus, so the screen's keys (←/→, Home/End) stay the
    screen's; the mouse wheel still scrolls it."""
