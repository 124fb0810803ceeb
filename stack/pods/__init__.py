"""The pods of the service's Kubernetes Deployment, run as local processes by a supervisor (`python -m
stack.pods`): probes as the manifest says, restarts with CrashLoopBackOff, list and kill over HTTP."""
