"""`tronops lint PATH...`: check a team's deployment config, the way istioctl analyze and pint do.

Each file's documents are recognised by content (registry.py), and every check registered for
their kind runs: kubernetes.py and workloads.py (any object with apiVersion and kind), istio.py,
rules.py (Prometheus rules), dashboards.py (Grafana JSON), compose.py, operations.py (scripts and
DR plans); live.py asks a Prometheus for every series read. run.py ties them together.
"""
