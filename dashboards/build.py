"""Write the on-call dashboard's JSON: `python -m dashboards.build [--check]`.

The JSON is committed (Grafana provisioning reads it), so `--check` tells CI when it is stale.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from grafanalib._gen import write_dashboard

from alerts import slos
from alerts.slos import SloFile
from dashboards import oncall

OUTPUT = Path(__file__).parent / "generated" / f"{oncall.UID}.json"


def render(slo_file: SloFile | None = None) -> str:
    """The dashboard as JSON, byte for byte the same for the same SLO file."""
    stream = io.StringIO()
    write_dashboard(oncall.build(slo_file or slos.load()), stream)
    return stream.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards.build", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed JSON is out of date")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not args.output.exists() or args.output.read_text() != text:
            print(f"{args.output} is out of date: run python -m dashboards.build", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
