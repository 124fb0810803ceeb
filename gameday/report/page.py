"""report.html: one self-contained page for the people who were not in the room. The verdict and the
score first, then what broke, when and what users saw, the timeline, and the tables behind it (load
gates, chaos experiments, DR drills, the money audit), each linking the run's own files."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path
from typing import Any

from gameday.report import charts
from gameday.report.impact import FaultImpact, impacts, unexplained_alerts
from gameday.report.judge import CLASSES, OTHER, Judgement, checks_of, headline, money_findings
from gameday.report.rundir import RunDir, Step, seconds

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;
padding:24px;color:#1b1f23;background:#fff}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#586069}
.verdict{display:flex;gap:24px;align-items:center;padding:16px 20px;border-radius:8px;margin:16px 0}
.verdict.pass{background:#e6f4ea;border:2px solid #1e8449}
.verdict.fail{background:#fdecea;border:2px solid #c0392b}
.verdict.inconclusive{background:#fef5e7;border:2px solid #b9770e}
.badge-big{font-size:34px;font-weight:700;letter-spacing:1px}
.pass .badge-big{color:#1e8449}
.fail .badge-big{color:#c0392b}
.inconclusive .badge-big{color:#b9770e}
.score{font-size:28px;font-weight:600}
.formula{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;color:#333}
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:14px}
th,td{border:1px solid #e1e4e8;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}
.num{text-align:right;font-variant-numeric:tabular-nums}
.r{display:inline-block;padding:1px 7px;border-radius:10px;font-size:12px;font-weight:700;color:#fff}
.r.pass{background:#1e8449}
.r.fail,.r.error{background:#c0392b}
.r.inconclusive{background:#b9770e}
.r.not-run{background:#fff;color:#586069;border:1px dashed #888}
.note{color:#586069;font-size:13px}
.plot{display:block;margin:6px 0 2px}
.plot-title{font-size:13px;font-weight:600}
.tick{font-size:11px;fill:#586069}
.grid{stroke:#eee}
.fault-label,.alert-label{font-size:11px;font-weight:700}
.empty{font-size:14px;fill:#999}
.legend button{border:1px solid #ccc;background:#fff;border-radius:4px;margin:2px;
padding:2px 8px;cursor:pointer}
.legend button.off{opacity:.35}
.swatch{display:inline-block;width:12px;height:3px;margin-right:5px;vertical-align:middle}
div.headline{font-size:18px;font-weight:600;margin-bottom:4px}
ul.reasons{margin:6px 0 0 0;padding-left:20px}
"""

# Legend buttons hide or show a route group's lines in every plot (the page works without it).
SCRIPT = """
document.querySelectorAll('.legend button[data-series]').forEach(function (button) {
  button.addEventListener('click', function () {
    var key = button.getAttribute('data-series');
    var off = button.classList.toggle('off');
    document.querySelectorAll('path.series').forEach(function (path) {
      if (path.getAttribute('data-series') === key) { path.style.display = off ? 'none' : ''; }
    });
  });
});
"""

RULES_PROFILE = re.compile(r"\((\w[\w-]*) rules\)")


def render(run: RunDir, judgement: Judgement) -> str:
    day = run.day
    start, end = seconds(day["started_at"]), seconds(day["ended_at"])
    title = f"Game day ({day['name']}) on {day['target']}"
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<div class="sub">{escape(day["started_at"][:10])}, {charts.clock(start)} to {charts.clock(end)} '
        f"UTC ({_duration(end - start)}); {len(run.steps) - len(judgement.not_run)} steps ran, "
        f"{len(judgement.not_run)} not run</div>",
        _verdict(judgement),
        _story(run),
        _timeline(run),
        _steps(run),
        _load(run),
        _chaos(run),
        _drills(run),
        _money(run),
        _checks(judgement),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}: {judgement.verdict.upper()}</title><style>{STYLE}</style></head>\n"
        "<body>\n" + "\n".join(body) + f"\n<script>{SCRIPT}</script>\n</body></html>\n"
    )


def _verdict(judgement: Judgement) -> str:
    weights = ", ".join(f"{kind} {weight}" for kind, weight, _ in CLASSES) + f", {OTHER[0]} {OTHER[1]}"
    reasons = "".join(f"<li>{escape(r)}</li>" for r in judgement.reasons[:12])
    more = len(judgement.reasons) - 12
    if more > 0:
        reasons += f"<li>... and {more} more (see all checks below)</li>"
    not_run = "".join(
        f'<li><span class="r not-run">NOT RUN</span> {escape(s.phase)}/{escape(s.name)}: '
        f"{escape(s.not_run or '')}</li>"
        for s in judgement.not_run
    )
    return (
        f'<section class="verdict {judgement.verdict}"><div><div class="badge-big">'
        f"{judgement.verdict.upper()}</div></div><div>"
        f'<div class="headline">{escape(headline(judgement))}</div>'
        f'<div class="score">Resilience score {judgement.score:.1f}%</div>'
        f'<div class="formula">{escape(judgement.formula())}</div>'
        f'<div class="note">Each check weighs by what it guards ({escape(weights)}); it earns its weight '
        "when it passed. Any money finding or missed RTO/RPO makes the day FAIL whatever the score. "
        "In the spirit of <a href=\"https://litmuschaos.io/blog/how-the-resilience-score-algorithm-works-in-litmus-1d22\">"
        "Litmus's resilience score</a> (fault weight x probe success, over the sum of weights).</div>"
        + (f'<ul class="reasons">{reasons}</ul>' if reasons else "")
        + (f'<div class="note">Not run (not counted, not passed):</div><ul class="reasons">{not_run}</ul>'
           if not_run else "")
        + "</div></section>"
    )  # fmt: skip


def _story(run: RunDir) -> str:
    """What broke, when, what users saw: one line per fault, then alerts no fault explains."""
    rows = []
    for f in impacts(run.timeline):
        alerts = "; ".join(
            f"A{a.number} {a.alertname} fired after {a.fired_after_s:.0f} s, "
            + (f"resolved {a.resolved_after_s:.0f} s after the fault ended" if a.resolved_after_s is not None
               else "still firing at the end")
            for a in f.alerts
        ) or "no alert fired"  # fmt: skip
        rows.append(
            f"<tr><td>F{f.number}</td><td>{charts.clock(f.started)} to {charts.clock(f.ended)}"
            f" ({_duration(f.ended - f.started)})</td><td>{escape(f.name)}"
            f"{'<br><span class=note>experiment ' + escape(f.experiment) + '</span>' if f.experiment else ''}"
            f"</td><td>{_saw(f)}</td><td>{escape(alerts)}</td></tr>"
        )
    stray = "".join(
        f"<li>A{n} {escape(a['alertname'])} fired at {charts.clock(seconds(a['fired_at']))} outside every "
        "fault window: noise to tune, or a problem the day did not cause on purpose</li>"
        for n, a in unexplained_alerts(run.timeline)
    )
    table = (
        _table(("", "when (UTC)", "what was broken", "what users saw", "alerts"), rows)
        if rows
        else '<p class="note">No fault was injected (the chaos phase did not run).</p>'
    )
    return "<h2>What broke, when, and what users saw</h2>" + table + (f"<ul>{stray}</ul>" if stray else "")


def _saw(f: FaultImpact) -> str:
    parts = []
    if f.error_ratio:
        before = f" (before: {f.error_ratio.before:.2%})" if f.error_ratio.before is not None else ""
        parts.append(f"errors peaked at {f.error_ratio.value:.2%} on {escape(f.error_ratio.group)}{before}")
    if f.p95_seconds:
        w = f.p95_seconds
        before = f" (before: {w.before * 1000:.0f} ms)" if w.before is not None else ""
        parts.append(f"p95 peaked at {w.value * 1000:.0f} ms on {escape(w.group)}{before}")
    return "; ".join(parts) or "no traffic was measured in this window"


def _timeline(run: RunDir) -> str:
    colour = charts.colours(run.timeline)
    legend = "".join(
        f'<button type="button" data-series="{escape(k)}"><span class="swatch" style="background:{c}">'
        f"</span>{escape(k)}</button>"
        for k, c in colour.items()
    )
    phases = ", ".join(
        f"{escape(p['name'])} {charts.clock(seconds(p['started_at']))}-{charts.clock(seconds(p['ended_at']))}"
        for p in run.timeline.get("phases", [])
    )
    alerts = "".join(
        f"<li>A{n} {escape(a['alertname'])} {escape(a.get('severity', ''))}: fired "
        f"{charts.clock(seconds(a['fired_at']))}, "
        + (f"resolved {charts.clock(seconds(a['resolved_at']))}" if a["resolved_at"] else "still firing")
        + "</li>"
        for n, a in enumerate(run.timeline["alerts"], 1)
    )
    return (
        "<h2>Timeline of the day</h2>"
        f'<div class="legend">Route groups (click to hide): {legend}</div>'
        + "".join(charts.timeline_svgs(run.timeline))
        + f'<p class="note">Shaded: fault windows (F1, F2, ...). Dashed lines: alerts firing (red, A1↑) and '
        f"resolving (green, A1↓), as the alert receiver saw them. Series from Prometheus, one point every "
        f"{run.timeline['step_seconds']:g} s. Phases: {phases or 'not recorded'}.</p>"
        + (f"<ul class='note'>{alerts}</ul>" if alerts else '<p class="note">No alert fired all day.</p>')
    )


def outcome(step: Step) -> str:
    """pass, fail, error, inconclusive or not-run: what the step's row shows."""
    if step.not_run:
        return "not-run"
    if "error" in step.raw:
        return "error"
    outcomes = {c.outcome for c in checks_of(step)}
    return "fail" if "fail" in outcomes else "inconclusive" if "inconclusive" in outcomes else "pass"


def _badge(result: str) -> str:
    return f'<span class="r {result}">{result.replace("-", " ").upper()}</span>'


def _links(run: RunDir, step: Step) -> str:
    links = []
    for name, path in step.artefacts.items():
        relative = _relative(run, path)
        if relative:
            links.append(f'<a href="{escape(relative)}">{escape(name)}</a>')
    return " ".join(links)


def _relative(run: RunDir, path: str) -> str | None:
    """A link that works from report.html wherever DIR is copied: relative, inside DIR, or none."""
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            return candidate.resolve().relative_to(run.path.resolve()).as_posix()
        except ValueError:
            return None
    return candidate.as_posix()


def _steps(run: RunDir) -> str:
    rows = [
        _row(
            escape(s.phase),
            escape(s.name),
            _badge(outcome(s)),
            Num("-" if s.not_run else _duration(s.duration_s)),
            escape(s.not_run or "; ".join(s.errors())[:300]),
            _links(run, s),
        )
        for s in run.steps
    ]
    headers = ("phase", "step", "result", "took", "why not run / what broke", "files")
    return "<h2>Everything the day ran</h2>" + _table(headers, rows)


def _load(run: RunDir) -> str:
    rows = []
    for step in run.phase("load"):
        if step.not_run or not step.linked:
            rows.append(f"<tr><td colspan=9>{escape(step.name)}: {_badge(outcome(step))} "
                        f"{escape(step.not_run or 'no summary')}</td></tr>")  # fmt: skip
            continue
        for group in step.linked_steps():
            m = group.get("measured", {})
            gates = _verdict_lines(group.get("verdicts", []))
            rows.append(
                f"<tr><td>{escape(group['name'])}</td>{_num(m, 'requests', '{:.0f}')}"
                f"{_num(m, 'req_per_s', '{:.1f}')}{_num(m, 'p95_ms', '{:.0f} ms')}"
                f"{_num(m, 'server_p95_ms', '{:.0f} ms')}{_num(m, 'p99_ms', '{:.0f} ms')}"
                f"{_num(m, 'error_ratio', '{:.2%}')}{_num(m, 'server_error_ratio', '{:.2%}')}"
                f"<td>{gates}</td></tr>"
            )
    return _section(
        "Load gates per route group",
        "Client p95 is what the load generator measured end to end; server p95 is what the service's own "
        "histograms say over the same window (Prometheus). A gap between them is time spent outside the "
        "service (mesh, network, the generator itself).",
        ("route group", "requests", "req/s", "p95 client", "p95 server", "p99 client", "errors client",
         "errors server", "gates"),
        rows,
        "No load step in this day.",
    )  # fmt: skip


def _chaos(run: RunDir) -> str:
    rows, profiles = [], set()
    seen = {f.experiment: f for f in impacts(run.timeline)}
    for step in run.phase("chaos"):
        if step.not_run:
            rows.append(f"<tr><td>{escape(step.name)}</td><td colspan=5>{escape(step.not_run)}</td>"
                        f"<td>{_badge('not-run')}</td><td></td></tr>")  # fmt: skip
            continue
        detection: list[dict[str, Any]] = []
        others: list[dict[str, Any]] = []
        for v in step.verdicts():
            found = RULES_PROFILE.search(v["name"])
            if found:
                profiles.add(found.group(1))
            (detection if re.search(r"fired|received|resolved", v["name"]) else others).append(v)
        held = sum(v["outcome"] == "pass" for v in others)
        users = (
            f"F{seen[step.name].number}: users saw {_saw(seen[step.name])}<br>" if step.name in seen else ""
        )
        rows.append(
            f"<tr><td>{escape(step.name)}</td><td>{_hypothesis(step, 'before')}</td>"
            f"<td>{users}{held} of {len(others)} expectations held<br>{_verdict_lines(others)}</td>"
            f"<td>{_hypothesis(step, 'after')}</td>"
            f"<td>{_verdict_lines(detection) or 'no alert expected'}</td>"
            f"<td>{escape('; '.join(step.errors())[:400])}</td><td>{_badge(outcome(step))}</td>"
            f"<td>{_links(run, step)}</td></tr>"
        )
    profile = ", ".join(sorted(profiles)) or "unknown"
    return _section(
        "Chaos experiments: hypothesis before, during and after",
        f"Detection and resolution times were measured under the {profile} rule profile. The local "
        "profile scales the alert windows down so a game day fits in minutes: these are not production "
        "MTTD, they prove each alert fires and resolves within its scaled bound.",
        ("experiment", "before", "during", "after", "time to detect / resolve (bound)", "what broke",
         "result", "files"),
        rows,
        "No chaos step in this day.",
    )  # fmt: skip


def _hypothesis(step: Step, when: str) -> str:
    """Whether the steady state held `before` the fault or `after` the rollback (the chaos journal's)."""
    phases = {p["name"]: p["steps"] for p in (step.linked or {}).get("phases", [])}
    probes = phases.get(f"steady state {when}")
    if probes is None:
        return "not checked"
    broken = [f"{p['name']}: {p['error']}" for p in probes if "error" in p]
    return _badge("fail") + " " + escape("; ".join(broken)[:300]) if broken else _badge("pass") + " held"


def _drills(run: RunDir) -> str:
    rows = []
    for step in run.phase("drills"):
        if step.not_run:
            rows.append(f"<tr><td>{escape(step.name)}</td><td colspan=4>{escape(step.not_run)}</td>"
                        f"<td>{_badge('not-run')}</td></tr>")  # fmt: skip
            continue
        verdicts = step.verdicts()
        rto = [
            f"{_badge(v['outcome'])} {_figure(v)}" for v in verdicts if v["name"].upper().startswith("RTO")
        ]
        rpo = [
            f"{_badge(v['outcome'])} {escape(v['name'][3:].strip() or 'RPO')}: {_figure(v)}"
            for v in verdicts
            if v["name"].upper().startswith("RPO")
        ]
        measured = step.measured()
        lost = [v for k, v in measured.items() if k.startswith("lost_")]
        rows.append(
            f"<tr><td>{escape(step.name)}</td><td>{'<br>'.join(rto) or 'not measured'}</td>"
            f"<td>{'<br>'.join(rpo) or 'not measured'}</td>"
            f'<td class="num">{f"{sum(lost):.0f}" if lost else "-"}</td>'
            f"<td>{escape('; '.join(step.errors())[:400])}</td><td>{_badge(outcome(step))}</td></tr>"
        )
    return _section(
        "DR drills: recovery time and data lost against the targets",
        "RTO: from the loss until clients were served within the SLO again. RPO: the age of the newest "
        "write lost, per kind of write. Writes lost: acknowledged writes the restore did not bring back.",
        ("drill", "RTO (target)", "RPO per kind (target)", "writes lost", "what broke", "result"),
        rows,
        "No drill in this day.",
    )


def _section(title: str, note: str, headers: tuple[str, ...], rows: list[str], empty: str) -> str:
    if not rows:
        return f"<h2>{escape(title)}</h2><p class='note'>{escape(empty)}</p>"
    return f'<h2>{escape(title)}</h2><p class="note">{escape(note)}</p>' + _table(headers, rows)


class Num(str):
    """A table cell to align right (figures)."""


def _row(*cells: str) -> str:
    return (
        "<tr>"
        + "".join(f'<td class="num">{c}</td>' if isinstance(c, Num) else f"<td>{c}</td>" for c in cells)
        + "</tr>"
    )


def _table(headers: tuple[str, ...], rows: list[str]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _money(run: RunDir) -> str:
    audit = run.phase("audit")
    findings = [f"<li>{escape(line)}</li>" for s in run.steps if not s.not_run for line in money_findings(s)]
    ran = [s for s in audit if not s.not_run]
    if not audit:
        head = "<p>No money audit step in this day: the money was not reconciled.</p>"
    elif not ran:
        head = f"<p>{_badge('not-run')} {escape('; '.join(s.not_run or '' for s in audit))}</p>"
    else:
        figures = "; ".join(
            f"{escape(k.replace('_', ' '))} {v:g}" for s in ran for k, v in s.measured().items()
        )
        head = f"<p>{' '.join(_badge(outcome(s)) for s in ran)} {figures}</p>"
    body = (
        f"<ul>{''.join(findings)}</ul>"
        if findings
        else "<p><b>Zero findings</b>: nothing paid twice, nothing accepted and lost, every amount as "
        "recorded.</p>"
        if ran
        else ""
    )
    return "<h2>Money audit: ledger against the chain</h2>" + head + body


def _checks(judgement: Judgement) -> str:
    rows = [
        _row(
            f"{escape(c.step.phase)}/{escape(c.step.name)}",
            escape(c.name),
            escape(c.kind),
            Num(c.weight),
            _badge(c.outcome),
            Num(c.earned),
            escape(c.detail),
        )
        for c in judgement.checks
    ]
    headers = ("step", "check", "kind", "weight", "result", "earned", "measured")
    return (
        f"<h2>Every check behind the score</h2><details><summary>{len(judgement.checks)} checks, "
        f"{judgement.earned_total} of {judgement.weight_total} weight earned</summary>"
        f"{_table(headers, rows)}</details>"
    )


def _verdict_lines(verdicts: list[dict[str, Any]]) -> str:
    return "<br>".join(f"{_badge(v['outcome'])} {escape(v['name'])}: {_figure(v)}" for v in verdicts)


def _figure(v: dict[str, Any]) -> str:
    unit = v.get("unit", "")
    measured = "not measured" if v["measured"] is None else f"{v['measured']:g} {unit}".strip()
    return escape(f"{measured} ({v['comparison']} {v['threshold']:g} {unit})".replace(" )", ")"))


def _num(measured: dict[str, float], key: str, shape: str) -> str:
    return f'<td class="num">{shape.format(measured[key]) if key in measured else "-"}</td>'


def _duration(total_s: float) -> str:
    minutes, rest = divmod(round(total_s), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"
