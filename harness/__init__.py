"""The harness core that smoke, load, chaos, drills and audit share: clients for every control surface
(`harness.clients`), faults that always undo (`harness.faults`), background traffic (`harness.traffic`),
where the harness acts (`harness.target`), the objectives (`harness.objectives`) and a run's summary
(`harness.summary`). It reaches a service only through its contract: nothing here imports `service`."""
