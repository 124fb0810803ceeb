"""The on-call Grafana dashboard as code (grafanalib), its generated JSON and its lint."""
