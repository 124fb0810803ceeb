"""`tronops`: the one operator CLI in front of the service, the stack and the harness."""
