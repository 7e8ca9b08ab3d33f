"""`codecontext/report` and the `codecontext.report` command, from pytest-lsp; and the
page it makes, rendered by headless Chromium: it loads without a console message, each
section is there with its plot, and a screenshot is kept (target/client-tests/artifacts)."""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from harness import REPO, bounded
from test_context import plain

SECTIONS = ["hotspots", "risk", "tests", "verifications", "dependencies"]
ARTIFACTS = Path(os.environ.get("CODECONTEXT_ARTIFACTS", REPO / "target" / "client-tests" / "artifacts"))


async def report(client: LanguageClient, params) -> dict:
    return plain(
        await bounded(client.protocol.send_request_async("codecontext/report", params), "codecontext/report")
    )


async def test_the_report_ranks_the_fixed_file_first_and_draws_the_imports(
    report_client: LanguageClient, report_root: Path
):
    answer = await report(report_client, {})
    assert answer["project"] == str(report_root)
    assert answer["commits"] == 3
    # The model learns in the background: the first report says so.
    assert answer["riskStatus"] == "training"
    top = answer["hotspots"][0]
    assert (top["path"], top["changes"], top["fixes"]) == ("shop/pricing.py", 3, 2), answer["hotspots"]
    edges = {(e["importer"], e["imported"]) for e in answer["dependencies"]["edges"]}
    assert ("tests", "shop") in edges, edges
    assert [m["module"] for m in answer["modules"]][0] == "shop"
    assert answer["tests"] == [] and answer["verifications"] == []
    assert answer["html"].startswith("<!doctype html>")

    # The command writes the page where it is told, relative to the folder.
    written = plain(
        await bounded(
            report_client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="codecontext.report", arguments=[{"out": "report.html"}])
            ),
            "workspace/executeCommand codecontext.report",
        )
    )
    assert written["written"] == str(report_root / "report.html")
    assert "html" not in written
    assert 'id="hotspots"' in (report_root / "report.html").read_text()

    # A wrong argument is an error that names the command; the server goes on.
    with pytest.raises(Exception, match="codecontext.report: unknown field `nope`"):
        await report(report_client, {"nope": 1})
    with pytest.raises(Exception, match="is not a folder of this workspace"):
        await report(report_client, {"root": Path("/").as_uri()})
    assert (await report(report_client, None))["commits"] == 3


class Sections(HTMLParser):
    """Per section id, the SVG elements inside it, as Chromium's DOM has them."""

    def __init__(self) -> None:
        super().__init__()
        self.current: str | None = None
        self.shapes: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "section":
            self.current = dict(attrs).get("id")
            self.shapes[self.current] = 0
        elif self.current and tag in {"circle", "rect", "line", "polyline"}:
            self.shapes[self.current] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.current = None


def chromium(*args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "headless Chromium is needed (Debian: apt-get install chromium)"
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


async def test_chromium_renders_every_section_of_the_page(report_client: LanguageClient, report_root: Path):
    answer = await report(report_client, {"out": "report.html"})
    page = Path(answer["written"])
    text = page.read_text()
    # Each plot is well-formed SVG on its own, not only to the lenient HTML parser.
    plots = [text[start : text.index("</svg>", start) + 6] for start in range(len(text)) if text.startswith("<svg", start)]
    assert len(plots) >= 3, len(plots)
    for plot in plots:
        ElementTree.fromstring(plot)

    loaded = chromium("--dump-dom", page.as_uri())
    console = [line for line in loaded.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    sections = Sections()
    sections.feed(loaded.stdout)
    assert list(sections.shapes) == SECTIONS, sections.shapes
    # Hotspots, risk and dependencies have data here; tests and verifications say what
    # would fill them.
    for drawn in ["hotspots", "risk", "dependencies"]:
        assert sections.shapes[drawn] > 0, sections.shapes
    assert "No test duration is recorded yet" in loaded.stdout

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    chromium(f"--screenshot={shot}", "--window-size=1024,3000", page.as_uri())
    # A page with plots is far from a blank PNG of that size (a few kilobytes).
    assert shot.stat().st_size > 40_000, shot.stat().st_size
