"""The local mesh: a reverse proxy that applies the production Istio VirtualService and DestinationRule.

Routes, timeouts, retries, fault injection, connection-pool limits and outlier detection behave the way
Istio configures Envoy to; `python -m stack.mesh --help` starts it, its admin API changes faults live.
"""
