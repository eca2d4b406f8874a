"""axe-core on every page of the built book, offline, on a desktop and on a phone screen.

axe-core (Deque's accessibility engine, MPL-2.0) comes from the pinned PyPI package
``axe-playwright-python``, which ships ``axe.min.js`` inside its wheel: the script is read from the
installed package and evaluated in the page, so nothing is fetched (the page runs in the offline
context of ``analysis.build.offline``, where every off-machine request is aborted and recorded).

Each page is checked at 1280 px and at 375 px wide, after its charts are drawn, with axe's default
rule set (its WCAG level A and AA rules and its best-practice rules) and, on top of it,
axe's experimental rules (``label-content-name-mismatch``, ``td-has-header``, ``p-as-heading`` and
the others tagged ``experimental``, which axe leaves off unless asked). No violation of impact
``serious`` or ``critical`` is allowed; every violation found, of any impact, is written to
``test-artifacts/axe/<page>-<width>.json``. The last test gives the check teeth: a small page with
known serious violations, served the same way, must be reported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis.build import offline
from tests.test_browser import ARTIFACTS, HTML, PAGES, browser, open_page, server, wait_for_charts

pytestmark = pytest.mark.browser

__all__ = ["browser", "server"]  # the fixtures of the browser tests, shared (one server, one Chromium)

AXE_REPORTS = ARTIFACTS / "axe"
WIDTHS = (1280, 375)
BLOCKING = ("serious", "critical")
REDIRECT = re.compile(r"^\s*<meta http-equiv=\"Refresh\"", re.IGNORECASE)
# the built pages but the front door (index.html only sends the reader on to intro.html)
AXE_PAGES = [p for p in PAGES if not REDIRECT.match((HTML / p).read_text(encoding="utf-8")[:200])]
AXE_OPTIONS = {"resultTypes": ["violations"]}
"""axe's defaults; only violations are reported in full (the experimental rules are added in the page)."""
AXE_RUN = """options => {
  const rules = Object.fromEntries(axe.getRules(["experimental"]).map(r => [r.ruleId, {enabled: true}]));
  return axe.run(document, {...options, rules});
}"""


SETTLED = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
"""Two frames after the charts are drawn: vega-embed adds each chart's action menu just after its marks."""


def axe_script() -> str:
    """The minified axe-core that the pinned package ships (read from disk, never downloaded)."""
    from axe_playwright_python.base import AXE_SCRIPT

    return AXE_SCRIPT


def run_axe(page: Any) -> dict[str, Any]:
    """Inject axe-core into ``page`` and run it with the default and the experimental rules; return
    its result object."""
    page.evaluate(axe_script())
    return page.evaluate(AXE_RUN, AXE_OPTIONS)  # type: ignore[no-any-return]


def summarise(violations: list[dict[str, Any]], *, targets: int = 3) -> list[str]:
    """One line for each violation: its rule, impact, help text, node count and first targets."""
    lines = []
    for v in violations:
        first = [" ".join(map(str, n["target"])) for n in v["nodes"][:targets]]
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} [{len(v['nodes'])} nodes] e.g. {first}")
    return lines


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v.get("impact") in BLOCKING]


def save_report(path: str, width: int, result: dict[str, Any]) -> Path:
    """Write the violations of one page at one width (all impacts) to ``test-artifacts/axe/``."""
    AXE_REPORTS.mkdir(parents=True, exist_ok=True)
    name = path.removesuffix(".html").replace("/", "-")
    report = {
        "page": path, "width": width, "axe": result.get("testEngine", {}).get("version"),
        "counts": {impact: sum(1 for v in result["violations"] if v.get("impact") == impact)
                   for impact in ("critical", "serious", "moderate", "minor")},
        "violations": [{"id": v["id"], "impact": v["impact"], "help": v["help"], "helpUrl": v["helpUrl"],
                        "tags": v["tags"],
                        "nodes": [{"target": n["target"], "html": n["html"][:400],
                                   "summary": n.get("failureSummary", "")} for n in v["nodes"]]}
                       for v in result["violations"]],
    }
    out = AXE_REPORTS / f"{name}-{width}.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def test_the_pages_to_check_are_the_book() -> None:
    assert "intro.html" in AXE_PAGES and "chapters/appendix-bibliography.html" in AXE_PAGES
    assert sum(p.startswith("chapters/0") for p in AXE_PAGES) == 7, AXE_PAGES


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", AXE_PAGES)
def test_page_has_no_serious_accessibility_violation(browser: object, server: str, path: str,
                                                      width: int) -> None:
    page, problems = open_page(browser, server, path, width=width)
    wait_for_charts(page)
    page.evaluate(SETTLED)  # type: ignore[attr-defined]
    result = run_axe(page)
    page.context.close()  # type: ignore[attr-defined]
    save_report(path, width, result)
    assert problems["offsite"] == [], f"axe or the page reached off the machine: {problems['offsite']}"
    found = blocking(result["violations"])
    assert not found, f"{path} at {width} px:\n" + "\n".join(summarise(found))


TEETH_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>A page with known faults</title></head>
<body><main><h1>Known faults</h1>
<img src="missing.png">
<button type="button"></button>
<div style="overflow:auto; height:3em; width:10em"><p style="width:40em">A region that scrolls
sideways and that a keyboard cannot reach, with nothing in it to focus.</p><p>More.</p><p>More.</p></div>
</main></body></html>
"""


@pytest.fixture
def faulty_site(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "faults.html").write_text(TEETH_PAGE, encoding="utf-8")
    with offline.serve(tmp_path) as base:
        yield base


def test_the_axe_check_sees_known_violations(browser: object, faulty_site: str) -> None:
    """The check has teeth: an image without a text alternative, a button without a name and a
    scrolling region out of the keyboard's reach are each reported as serious or critical."""
    page, problems = open_page(browser, faulty_site, "faults.html", width=375)
    result = run_axe(page)
    page.context.close()  # type: ignore[attr-defined]
    found = {v["id"]: v["impact"] for v in blocking(result["violations"])}
    expected = {"image-alt", "button-name", "scrollable-region-focusable"}
    assert expected <= set(found), summarise(result["violations"])
    assert result["testEngine"]["version"].startswith("4.")
    assert problems["offsite"] == []
