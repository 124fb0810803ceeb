"""Game-day chaos: Chaos Toolkit experiments (chaos/experiments/*.yaml) and the extension they call.

The extension is plain functions taking `configuration`/`secrets`, raising chaoslib's ActivityFailed:
`chaos.actions` (faults, traffic), `chaos.probes` (steady state, expectations), `chaos.control` (an
experiment control: background traffic, the safeguard, the clean-target guard). Every experiment runs
on the local stack or a Kubernetes target, chosen by configuration only (chaos.settings)."""
