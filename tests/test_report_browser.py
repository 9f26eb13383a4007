"""The HTML report in a real headless browser: Debian's Chromium, driven over the DevTools protocol (its
websocket, with the websocket-client package). The page loads from a file:// URL with no console error,
no script error and no request to any address but its own file; a screenshot is not blank; typing into
the filter reduces the rows; a row's explanation opens; the injection corpus opens no dialog and adds no
element.

Chromium is looked for on PATH (chromium, chromium-browser, google-chrome); when it is missing and this
runs as root where apt-get works (CI), ``apt-get install -y chromium`` is tried once; otherwise the tests
are skipped with the reason.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import struct
import subprocess
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from rules_engine import Report, evaluate, load_rules
from rules_engine.render.html import render_html

from .conftest import EXAMPLE, RULES

websocket = pytest.importorskip("websocket", reason="websocket-client is not installed (the dev extra has it)")
pytest.importorskip("jinja2")

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--window-size=1280,1600",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
]


def _find_browser() -> str | None:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def _install_browser() -> str:
    """Chromium from the system packages, when missing and apt-get can install it (as root)."""
    found = _find_browser()
    if found:
        return found
    if shutil.which("apt-get") is None:
        pytest.skip("no Chromium on PATH and no apt-get to install it")
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        pytest.skip("no Chromium on PATH; installing it needs root (apt-get install chromium)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "chromium"]
    for commands in ([install], [["apt-get", "update", "-q"], install]):  # the package lists may be empty
        for command in commands:
            try:
                subprocess.run(command, env=env, capture_output=True, timeout=900, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                pytest.skip(f"no Chromium on PATH, and {' '.join(command)} failed: {exc}")
        found = _find_browser()
        if found:
            return found
    pytest.skip("no Chromium on PATH, and apt-get could not install it (no package source reachable?)")


class Browser:
    """One headless Chromium and one page, driven over the DevTools protocol."""

    def __init__(self, binary: str, profile: Path) -> None:
        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        url = self._devtools_url()
        self.ws = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.call(f"{domain}.enable", session=True)

    def _devtools_url(self) -> str:
        assert self.proc.stderr is not None
        deadline = time.monotonic() + 60
        lines = []
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            if found:
                return found.group(1)
        raise RuntimeError("Chromium did not start: " + "".join(lines[-20:]))

    def call(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while time.monotonic() < deadline:
            event = json.loads(self.ws.recv())
            self.events.append(event)
            if event.get("method") == method:
                return event
        raise TimeoutError(method)

    def js(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def open(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")
        self.js("new Promise(r => setTimeout(r, 300))")  # late errors and requests have time to show

    def problems(self, own_url: str) -> list[str]:
        """Console errors, script errors, dialogs, and requests for anything but the page's own file."""
        out = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.append(f"console: {params.get('args')}")
            elif method == "Runtime.exceptionThrown":
                out.append(f"exception: {params.get('exceptionDetails')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                out.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
            elif method == "Page.javascriptDialogOpening":
                out.append(f"dialog: {params.get('message')}")
            elif method == "Network.requestWillBeSent" and params["request"]["url"] != own_url:
                out.append(f"request: {params['request']['url']}")
        return out

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    binary = _install_browser()
    b = Browser(binary, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def report() -> Report:
    return evaluate(
        load_rules(RULES),
        EXAMPLE / "roster.yaml",
        EXAMPLE / "records.jsonl",
        period="2024",
        as_of="2025-01-15",
        waivers=[EXAMPLE / "waivers.yaml"],
    )


def _png_colours(png: bytes) -> int:
    """The number of distinct colours in an 8-bit RGB or RGBA PNG (what Chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    channels = 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, _, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride = zlib.decompress(idat), width * channels
    previous, colours = bytearray(stride), set()
    for start in range(0, len(raw), stride + 1):
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        colours.update(bytes(line[i : i + 3]) for i in range(0, stride, channels * 7))  # every 7th pixel
        previous = line
    return len(colours)


VISIBLE_ROWS = "document.querySelectorAll('#rows tr.f').length"


@pytest.mark.slow
def test_the_page_loads_offline_without_errors_and_filters(browser: Browser, report: Report, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_bytes(render_html(report, EXAMPLE / "scoring.yaml", EXAMPLE / "roster.yaml"))
    url = page.as_uri()
    browser.open(url)
    assert browser.problems(url) == []
    assert browser.js("document.title").startswith("履责情况报告")
    # the table holds every finding that needs attention
    attention = sum(1 for f in report.findings if f.status.value in ("violated", "undeterminable", "pending", "waived"))
    assert browser.js(VISIBLE_ROWS) == attention
    assert browser.js("document.querySelectorAll('svg rect').length") > 20  # the charts are drawn
    shot = base64.b64decode(browser.call("Page.captureScreenshot", session=True, format="png")["data"])
    assert _png_colours(shot) > 10  # not blank
    # typing into the filter reduces the rows to those that match
    browser.js("document.getElementById('q').focus()")
    browser.call("Input.insertText", session=True, text="青山镇")
    shown = browser.js(VISIBLE_ROWS)
    expected = sum(
        1
        for f in report.findings
        if f.status.value in ("violated", "undeterminable", "pending", "waived") and f.organisation.name == "青山镇党委"
    )
    assert 0 < shown == expected < attention
    texts = browser.js("Array.from(document.querySelectorAll('#rows tr.f')).map(r => r.textContent)")
    assert all("青山镇" in t for t in texts)
    # the status filter, then a click opens the row's explanation
    browser.js(
        "document.getElementById('q').value = ''; document.getElementById('q').dispatchEvent(new Event('input'))"
    )
    browser.js(
        "const s = document.getElementById('status'); s.value = 'violated'; s.dispatchEvent(new Event('change'))"
    )
    assert browser.js(VISIBLE_ROWS) == report.summary["violated"]
    browser.js("document.querySelector('#rows tr.f td').click()")
    detail = browser.js("document.querySelector('#rows tr.detail').textContent")
    assert "应为 expected" in detail and "证据 evidence" in detail and "未计入的记录" in detail
    assert browser.problems(url) == []


def test_the_injection_corpus_runs_nothing_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    from .test_reports import CORPUS

    roster = yaml.safe_load((EXAMPLE / "roster.yaml").read_text(encoding="utf-8"))
    for i, org in enumerate(roster["organisations"]):
        org["name"] = CORPUS[(i + 7) % len(CORPUS)]
    for i, person in enumerate(roster["people"]):
        person["name"] = CORPUS[i % len(CORPUS)]
    (tmp_path / "roster.yaml").write_text(yaml.safe_dump(roster, allow_unicode=True), encoding="utf-8")
    report = evaluate(
        load_rules(RULES), tmp_path / "roster.yaml", EXAMPLE / "records.jsonl", period="2024", as_of="2025-01-15"
    )
    page = tmp_path / "hostile.html"
    page.write_bytes(render_html(report, EXAMPLE / "scoring.yaml", tmp_path / "roster.yaml", statuses=None))
    url = page.as_uri()
    browser.open(url)
    # open every explanation too: the texts they show are the corpus
    browser.js("document.querySelectorAll('#rows tr.f').forEach(r => r.querySelector('td').click())")
    assert browser.problems(url) == []  # no alert dialog, no request for an injected image, no error
    assert browser.js("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert browser.js("document.querySelectorAll('script').length") == 2
    names = browser.js("Array.from(document.querySelectorAll('#rows td')).map(td => td.textContent).join('\\n')")
    assert "</script><script>alert(1)</script>" in names and '"><img src=x onerror=alert(1)>' in names
