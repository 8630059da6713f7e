"""Pure, synchronous rule engines. A game never touches time, I/O or concurrency."""
