"""Observability as code: the SLOs, the alert rules generated from them, their tests and lint."""
