"""Citing the book (issue 18, items 2 and 3): figure citations at absolute addresses, written by the
bibliography's writer, each publisher once, with copy buttons; the "How to cite" page generated from
``CITATION.cff``; ``CITATION.cff`` valid and complete; one version everywhere; a CHANGELOG entry for it."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import bibtexparser
import jsonschema
import pytest
import yaml
from pybtex.backends.plaintext import Backend as TextBackend
from pybtex.database import parse_string
from pybtex.plugin import find_plugin

import analysis
from analysis import edition
from analysis.book import cite_page, figures
from analysis.book.citation import COPY_BUTTONS, Citation
from analysis.build import pipeline
from tests.conftest import ROOT

SCHEMA = json.loads((ROOT / "tests" / "fixtures" / "citation-file-format-1.2.0.schema.json").read_text())
CFF = json.loads(json.dumps(yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8")), default=str))
BOOK = edition.edition()
FIGURES = [(nb.stem, fig["label"], fig["title"]) for nb in pipeline.chapter_notebooks(ROOT)
           for fig in figures.iter_notebook_figures(json.loads(nb.read_text(encoding="utf-8")))]


def _formats(text: str) -> dict[str, str]:
    """Parse ``text`` with pybtex and bibtexparser 2 and format it with pybtex's plain and alpha styles."""
    library = bibtexparser.parse_string(text)
    assert library.failed_blocks == [], library.failed_blocks
    data = parse_string(text, "bibtex")
    assert sorted(e.key for e in library.entries) == sorted(data.entries)
    out = {}
    for style in ("plain", "alpha"):
        for entry in find_plugin("pybtex.style.formatting", style)().format_entries(data.entries.values()):
            out[f"{style}:{entry.key}"] = entry.text.render(TextBackend())
    return out


def _citation(chapter: str, label: str, title: str, sources: tuple[str, ...] = ("MLCommons",)) -> Citation:
    return figures.Figure(chart=figures.alt.Chart().mark_point(), label=label, title=title, chapter="A chapter",
                          sources=sources, version=BOOK.version, date=BOOK.date_released.isoformat(),
                          page=f"chapters/{chapter}.html").citation()


# ------------------------------------------------------------------ figure citations


@pytest.mark.parametrize("chapter,label,title", FIGURES, ids=[f[1] for f in FIGURES])
def test_every_figure_citation_is_absolute_and_formats(chapter: str, label: str, title: str) -> None:
    cite = _citation(chapter, label, title)
    assert cite.url == f"{BOOK.url}/chapters/{chapter}.html#{label}"
    assert cite.url.startswith("https://") and cite.url in cite.text()
    formatted = _formats(cite.bibtex())
    entry = parse_string(cite.bibtex(), "bibtex").entries[cite.key]
    assert entry.type == "misc" and entry.fields["url"] == cite.url and entry.fields["version"] == BOOK.version
    assert " ".join(title.split()) in formatted[f"plain:{cite.key}"]


def test_the_book_has_figures_to_cite() -> None:
    assert len(FIGURES) >= 10


def test_a_figure_citation_escapes_specials_and_keeps_capitals() -> None:
    cite = _citation("01-thesis", "fig-x", "R&D_spend #1: 50% of AMD's $ budget",
                     sources=("AT&T", "Vendor_B", "AT&T"))
    text = cite.bibtex()
    assert r"{R\&D\_spend} \#1: 50\% of {AMD's} \$ budget" in text and r"AT\&T (2 sources); Vendor\_B" in text
    formatted = _formats(text)[f"plain:{cite.key}"]
    assert "R&D_spend #1: 50% of AMD's" in formatted and "Data: AT&T (2 sources); Vendor_B." in formatted


def test_the_data_note_names_each_publisher_once() -> None:
    cite = _citation("01-thesis", "fig-x", "t", sources=("Meta",) * 12 + ("AI Wiki", "ai lab", "Meta"))
    assert cite.data_note() == "Data: ai lab; AI Wiki; Meta (13 sources)."
    assert cite.text().count("Meta") == 1
    assert _citation("01-thesis", "fig-x", "t", sources=()).data_note() == ""


def test_a_page_outside_the_book_is_refused() -> None:
    for page in ("https://evil.example/x.html", "/etc/passwd", "chapters/../../x.html"):
        with pytest.raises(ValueError):
            edition.page_url(page, "fig-x")


def test_the_citation_block_has_copy_buttons_and_no_handler_from_data() -> None:
    block = _citation("01-thesis", "fig-x", 'A "title" onclick=alert(1) <b>').html()
    buttons = re.findall(r"<button[^>]*>", block)
    assert len(buttons) == len(COPY_BUTTONS) == 2
    assert all('type="button"' in b and 'class="cite-copy"' in b for b in buttons)
    assert sorted(re.findall(r'data-copy="([a-z-]+)"', block)) == ["cite-bibtex", "cite-text"]
    assert not re.search(r"<[^>]*\son\w+=", block) and "<b>" not in block
    assert 'class="cite-text"' in block and 'class="cite-bibtex"' in block


def test_the_copy_script_is_loaded_and_loads_nothing() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert "cite-copy.js" in config["sphinx"]["config"]["html_js_files"]
    script = (ROOT / "_static" / "cite-copy.js").read_text(encoding="utf-8")
    code = re.sub(r"/\*.*?\*/", "", script, flags=re.S)
    for remote in ("http:", "https:", "//cdn", "fetch(", "XMLHttpRequest", "import(", "src ="):
        assert remote not in code
    for target, _ in COPY_BUTTONS:
        assert f'"{target}": ".{target}"' in script
    assert "navigator.clipboard" in script and "execCommand" in script


# ------------------------------------------------------------------ the How-to-cite page and CITATION.cff


def test_the_committed_cite_page_is_the_one_citation_cff_gives() -> None:
    assert cite_page.page_is_current(ROOT), "run `python -m analysis cite --write`"


def test_the_cite_page_follows_citation_cff(tmp_path: Path) -> None:
    shutil.copy(ROOT / "CITATION.cff", tmp_path / "CITATION.cff")
    (tmp_path / "chapters").mkdir()
    cite_page.write_page(tmp_path)
    assert cite_page.page_is_current(tmp_path)
    cff = tmp_path / "CITATION.cff"
    cff.write_text(cff.read_text(encoding="utf-8").replace(f'version: "{BOOK.version}"', 'version: "9.9.9"', 1))
    assert not cite_page.page_is_current(tmp_path)
    assert "9\\.9\\.9" in cite_page.page_text(tmp_path)


def test_the_cite_page_entry_parses_and_formats() -> None:
    page = (ROOT / cite_page.PAGE).read_text(encoding="utf-8")
    block = re.search(r"```bibtex\n(.*?)\n```", page, re.S)
    assert block, "the page shows no BibTeX entry"
    formatted = _formats(block.group(1))
    key = f"inferencecostbook{BOOK.year}"
    assert parse_string(block.group(1), "bibtex").entries[key].type == "book"
    for style in ("plain", "alpha"):
        text = formatted[f"{style}:{key}"]
        assert BOOK.title in text and str(BOOK.year) in text and BOOK.url in text
    assert f"edition {BOOK.version.replace('.', chr(92) + '.')} of the book" in page


def test_citation_cff_is_valid_and_complete() -> None:
    jsonschema.validate(CFF, SCHEMA, format_checker=jsonschema.FormatChecker())
    for key in ("url", "repository-code", "abstract", "keywords", "license", "preferred-citation", "version",
                "date-released", "authors", "title"):
        assert CFF.get(key), f"CITATION.cff has no {key}"
    assert set(CFF["license"]) == set(edition.LICENCE_ROLES) == {"CC-BY-4.0", "MIT"}
    preferred = CFF["preferred-citation"]
    for key in ("title", "version", "date-released", "url", "repository-code", "authors", "license"):
        assert preferred[key] == CFF[key], f"preferred-citation's {key} differs from CITATION.cff's"


@pytest.mark.parametrize("change", [
    lambda c: c.pop("authors"),
    lambda c: c.update(version=[1]),
    lambda c: c.update({"date-released": "29 November 2026"}),
    lambda c: c["preferred-citation"].pop("type"),
    lambda c: c.update(license="CC BY 4.0"),
])
def test_the_schema_check_has_teeth(change: object) -> None:
    cff = json.loads(json.dumps(CFF))
    change(cff)  # type: ignore[operator]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(cff, SCHEMA, format_checker=jsonschema.FormatChecker())


def test_one_version_and_one_address_everywhere() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert analysis.__version__ == BOOK.version == CFF["version"] == pyproject["project"]["version"]
    assert BOOK.date_released.isoformat() == CFF["date-released"]
    assert config["html"]["baseurl"].rstrip("/") == BOOK.url == CFF["url"].rstrip("/")
    cite = _citation("01-thesis", "fig-x", "t")
    assert f"version {BOOK.version}" in cite.text() and cite.url.startswith(BOOK.url + "/")
    assert BOOK.title.startswith(figures.BOOK_TITLE) and BOOK.authors == (figures.BOOK_AUTHOR,)


def test_the_changelog_has_an_entry_for_this_edition() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (\S+) \u2014 (\d{4}-\d{2}-\d{2})$", changelog, re.M)
    assert headings, "CHANGELOG.md has no '## <version> \u2014 <date>' heading"
    assert headings[0] == (BOOK.version, BOOK.date_released.isoformat()), "the newest entry is not this edition"
