"""The report in a real browser (Debian's headless Chromium): it renders without script errors, asks
nothing from the network, and its plots hold drawn data. The screenshot is kept as a CI artefact."""

from __future__ import annotations

from pathlib import Path

from gameday.report import build_report
from gameday.report.browser import check_in_browser
from tests.gameday.report_dirs import passing_steps, timeline, write_day

ARTEFACTS = Path(__file__).parents[2] / "var" / "artefacts" / "gameday"
PNG = b"\x89PNG\r\n\x1a\n"


def test_the_report_renders_its_plots_without_script_errors(tmp_path: Path) -> None:
    report = build_report(write_day(tmp_path, passing_steps(tmp_path)))
    check = check_in_browser(report.html, ARTEFACTS / "hand-built-report.png")
    print(f"screenshot: {check.screenshot}")
    assert check.script_errors == []
    assert check.external_requests == []
    assert check.plots_with_data == 3
    assert check.screenshot.read_bytes().startswith(PNG)


def test_the_check_sees_a_script_error_a_request_out_and_plots_without_data(tmp_path: Path) -> None:
    empty = timeline(faults=[], alerts=[])
    for series in empty["series"]:
        series["points"] = [[t, None] for t, _ in series["points"]]
    report = build_report(write_day(tmp_path, passing_steps(tmp_path), empty))
    broken = '<img src="http://127.0.0.1:9/logo.png" alt=""><script>noSuchThing();</script></body>'
    page = report.html.read_text().replace("</body>", broken)
    report.html.write_text(page)
    check = check_in_browser(report.html, tmp_path / "broken.png")
    assert check.plots_with_data == 0
    assert any("noSuchThing is not defined" in e for e in check.script_errors), check.script_errors
    assert check.external_requests == ["http://127.0.0.1:9/logo.png"]
