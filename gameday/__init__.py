"""The game day: one run of smoke, load, chaos, drills and the money audit, and the report of it."""
