"""The harness core: what smoke, load, chaos and drills share, reaching a service only through its
contract: clients (`harness.clients`), faults that always undo (`harness.faults`), traffic, targets,
objectives and a run's summary."""
