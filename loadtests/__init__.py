"""Benchmarks: one service replica against a bare Quart app, and a memory soak (`tronops bench`)."""
