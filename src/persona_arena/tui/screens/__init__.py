"""The TUI's screens: Runs, Replay, Watch, and the human player's turn."""
