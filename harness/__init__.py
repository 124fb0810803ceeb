"""The harness core: what smoke, load, chaos and drills share; it reaches a service only by its contract."""
