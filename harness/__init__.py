"""The harness core: what smoke, load, chaos and drills share, reaching a service only through its contract."""
