"""A local Alertmanager webhook receiver that records every alert, so tests and drills can ask what fired."""
