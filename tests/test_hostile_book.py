"""The whole book built from hostile data, read in Chromium: markup from data stays text everywhere.

One build serves every assertion (it is the slowest test of the suite): a copy of the book whose
``data/`` has ``HOSTILE`` appended to every value of every free-text column of every table (string
columns without a pattern, allowed set, key or reference role) and to the column descriptions of every
contract; the book's own forecasts' rules carry a comment that tries to close their code fence and open
a raw HTML block; one source's URL tries to break out of its BibTeX entry; one event title starts
with a spreadsheet formula. The columns left out, and why, are in ``NOT_HOSTILE``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis.build import offline
from analysis.data.contracts import load_schema
from tests.conftest import ROOT

pytestmark = [pytest.mark.build, pytest.mark.slow]

BOOK_FILES = ["_config.yml", "_toc.yml", "_static", "_ext", "chapters", "analyses", "data", "intro.md"]
HOSTILE = (" <script>alert(1)</script><img src=x onerror=alert(2)> {raw:html}`<b>raw</b>` "
           "$\\href{javascript:alert(3)}{m}$ \\(\\href{javascript:alert(4)}{n}\\) [l](javascript:alert(5)) "
           "<a href=\"javascript:alert(6)\">a</a> ```{eval-rst} {")
RULE_COMMENT = "\n/* ```\n```{raw} html\n<script>alert(7)</script>\n```\n*/"
BIB_BREAKOUT = "https://example.com/}}@misc{x,title={Injected},url={javascript:alert(8)}}@comment{"
FORMULA = "=HYPERLINK(\"https://example.com\",\"x\") "
# Category values that the chapters select rows by (a chapter asks for the 70B class, or for the
# model named 'Llama 2 70B'); text appended there changes which rows exist, not how text is shown.
NOT_HOSTILE = {("models", "capability_class"), ("models", "name"), ("forecasts", "rule")}


def _free_text_columns(meta: Path) -> tuple[str, list[str]]:
    s = load_schema(meta)
    return s.name, [c.name for c in s.columns
                    if c.type == "string" and c.pattern is None and c.allowed is None and c.references is None
                    and c.name not in s.primary_key and (s.name, c.name) not in NOT_HOSTILE]


def make_hostile(data: Path) -> dict[str, list[str]]:
    """Rewrite ``data`` in place as described in the module docstring; the free-text columns by table."""
    touched: dict[str, list[str]] = {}
    for meta in sorted(data.glob("*.meta.yml")):
        name, free = _free_text_columns(meta)
        touched[name] = free
        path = data / f"{name}.csv"
        text = path.read_text(encoding="utf-8")
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        for r in rows:
            for c in free:
                if r[c]:
                    r[c] += HOSTILE
            if name == "forecasts" and r["source"] == "book":
                r["rule"] += RULE_COMMENT
        if name == "sources":
            rows[0]["url"] = BIB_BREAKOUT
        if name == "events":
            rows[0]["title"] = FORMULA + rows[0]["title"]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n" if "\r\n" in text else "\n")
        writer.writeheader()
        writer.writerows(rows)
        path.write_text(out.getvalue(), encoding="utf-8")
        lines = meta.read_text(encoding="utf-8").splitlines(keepends=True)
        for i, line in enumerate(lines):
            m = re.fullmatch(r"(    description: )([^>|\"'\n][^\n]*)\n", line)
            if m:
                lines[i] = m.group(1) + json.dumps(m.group(2) + HOSTILE) + "\n"
        meta.write_text("".join(lines), encoding="utf-8")
    return touched


@pytest.fixture(scope="module")
def hostile_book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, list[str]]]]:
    root = tmp_path_factory.mktemp("hostile-book")
    for name in BOOK_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns(".*", "__pycache__", "*.duckdb", "*.wal"))
        else:
            shutil.copy(src, root / name)
    touched = make_hostile(root / "data")
    done = subprocess.run([sys.executable, "-m", "analysis", "build", "--root", str(root)],
                          capture_output=True, text=True, cwd=root, timeout=1200)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert "Traceback" not in done.stderr
    yield root, touched


def test_every_table_had_hostile_text(hostile_book: tuple[Path, dict[str, list[str]]]) -> None:
    root, touched = hostile_book
    assert all(touched.values()), {k: v for k, v in touched.items() if not v}
    assert sum(len(v) for v in touched.values()) >= 35
    assert "<script>alert(1)</script>" in (root / "data" / "sources.csv").read_text()


def test_bibliography_and_exports_of_the_hostile_book(hostile_book: tuple[Path, dict[str, list[str]]]) -> None:
    from pybtex.database import parse_string

    root, _ = hostile_book
    bib = (root / "_bibliography" / "sources.bib").read_text(encoding="utf-8")
    entries = parse_string(bib, "bibtex").entries
    n_sources = len((root / "data" / "sources.csv").read_text().splitlines()) - 1
    assert len(entries) == n_sources and "x" not in entries
    exported = (root / "_build" / "html" / "figures" / "fig-prediction-evidence.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK(" in exported and ",=HYPERLINK(" not in exported


@pytest.fixture(scope="module")
def hostile_pages(hostile_book: tuple[Path, dict[str, list[str]]]) -> Iterator[tuple[object, str, list[str]]]:
    html = hostile_book[0] / "_build" / "html"
    pages = sorted(p.relative_to(html).as_posix() for p in html.glob("**/*.html")
                   if not p.relative_to(html).as_posix().startswith(("_", "figures/")))
    with offline.serve(html) as base, offline.browser() as browser:
        yield browser, base, pages


def test_no_script_from_data_runs_in_any_page(hostile_pages: tuple[object, str, list[str]]) -> None:
    browser, base, pages = hostile_pages
    assert len(pages) >= 12
    shown: dict[str, str] = {}
    for path in pages:
        context = offline.offline_context(browser, [], viewport={"width": 1200, "height": 900})
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{base}/{path}", wait_until="load")
        offline.wait_for_charts(page)
        bad = page.evaluate("""() => ({
            scripts: [...document.scripts].filter(s => /^\\s*alert\\(/.test(s.textContent)).length,
            images: document.querySelectorAll("img[src='x'], [onerror]").length,
            js_links: [...document.querySelectorAll('a[href], [href]')]
                .filter(a => /^\\s*(javascript|data):/i.test(a.getAttribute('href'))).length,
            raw_b: [...document.querySelectorAll('b')].filter(b => b.textContent === 'raw').length,
        })""")
        for link in page.locator("mjx-container a, a.reference.external").all()[:40]:
            href = link.get_attribute("href") or ""
            assert not re.match(r"\s*(javascript|data):", href, re.I), (path, href)
        shown[path] = page.inner_text("body")
        context.close()
        assert dialogs == [], (path, dialogs)
        assert bad == {"scripts": 0, "images": 0, "js_links": 0, "raw_b": 0}, (path, bad)
    for path in ("chapters/06-predictions.html", "chapters/appendix-data.html", "chapters/appendix-bibliography.html",
                 "chapters/03-players.html"):
        assert "<script>alert(1)</script>" in shown[path], f"{path} does not show the hostile text as text"
    assert "<script>alert(7)</script>" in shown["chapters/06-predictions.html"], "the rule is not shown verbatim"
