"""The only part that touches time, I/O and concurrency: runner, batches, storage."""
