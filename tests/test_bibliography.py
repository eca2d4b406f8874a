"""The generated bibliography (issue 18, item 1): every source of ``data/sources.csv`` written by the one
BibTeX writer, parsed back by pybtex and by bibtexparser 2, formatted by pybtex's plain and alpha styles
(alpha is the one sphinxcontrib-bibtex uses on the bibliography page), with capitals kept, the
publication date only when known, the access date as ``urldate``, and in-text labels that tell one
author's entries of one year apart."""

from __future__ import annotations

import datetime as dt
import re
import types
from collections import Counter

import bibtexparser
import pandas as pd
import pybtex_docutils
import pytest
import yaml
from pybtex.backends.html import Backend as HtmlBackend
from pybtex.backends.plaintext import Backend as TextBackend
from pybtex.database import BibliographyData, parse_string
from pybtex.plugin import find_plugin
from sphinxcontrib.bibtex.style import template as sphinx_template
from sphinxcontrib.bibtex.style.template import SphinxReferenceInfo

from analysis.book import bibliography, bibtex, citestyle
from tests.conftest import ROOT

SOURCES = pd.read_csv(ROOT / "data" / "sources.csv", dtype=str, keep_default_na=False)
STYLES = ("plain", "alpha")
UNDECODED = re.compile(r"[$^{}\\]")
"""Characters whose LaTeX form pybtex shows as written (latexcodec 3.0.1 decodes ``\\&``, ``\\_``,
``\\#``, ``\\%`` and ``\\textasciitilde{}``, not ``\\$``, ``\\textasciicircum{}`` or the braces)."""
TEXT_FIELDS = ("title", "note", "howpublished", "publisher", "version")
UNESCAPED = re.compile(r"(?<!\\)[&_#%$]")


@pytest.fixture(scope="module")
def bib() -> str:
    return bibliography.bib_text(SOURCES)


@pytest.fixture(scope="module")
def parsed(bib: str) -> BibliographyData:
    return parse_string(bib, "bibtex")


def _formatted(data: BibliographyData, style: str) -> dict[str, str]:
    """Each entry formatted by a pybtex style, as plain text (rendered also as HTML and as docutils
    nodes, the backend sphinxcontrib-bibtex renders with)."""
    out = {}
    for entry in find_plugin("pybtex.style.formatting", style)().format_entries(data.entries.values()):
        entry.text.render(HtmlBackend())
        entry.text.render(pybtex_docutils.Backend())
        out[entry.key] = entry.text.render(TextBackend())
    return out


def test_every_source_is_one_entry_for_pybtex_and_bibtexparser(bib: str, parsed: BibliographyData) -> None:
    assert len(SOURCES) > 250
    assert sorted(parsed.entries.keys()) == sorted(SOURCES["source_id"])
    library = bibtexparser.parse_string(bib)
    assert library.failed_blocks == []
    assert sorted(e.key for e in library.entries) == sorted(SOURCES["source_id"])
    assert {e.entry_type for e in library.entries} <= bibtex.ENTRY_TYPES


@pytest.mark.parametrize("style", STYLES)
def test_every_entry_formats_in_pybtex_plain_and_alpha(parsed: BibliographyData, style: str) -> None:
    formatted = _formatted(parsed, style)
    assert len(formatted) == len(SOURCES)


def test_the_bibliography_page_uses_a_style_tested_here() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["sphinx"]["config"]
    assert config.get("bibtex_default_style", "alpha") in STYLES
    assert config["bibtex_reference_style"] == citestyle.STYLE_NAME


def test_every_entry_type_has_a_pybtex_template() -> None:
    for style in STYLES:
        formatter = find_plugin("pybtex.style.formatting", style)()
        for kind in bibtex.ENTRY_TYPES:
            assert callable(getattr(formatter, f"get_{kind}_template", None)), f"{style} cannot format @{kind}"


def test_titles_keep_their_capitals(parsed: BibliographyData) -> None:
    formatted = _formatted(parsed, "plain")
    assert "MLPerf Inference v4.1 results" in formatted["mlperf-inference-v4.1"]
    assert "AMD Instinct MI300X accelerator data sheet" in formatted["amd-mi300x-datasheet"]
    lost = [key for key, title in zip(SOURCES["source_id"], SOURCES["title"])
            if not UNDECODED.search(title) and " ".join(title.split()) not in formatted[key]]
    assert lost == [], f"{len(lost)} titles changed by pybtex's plain style, e.g. {lost[:3]}"


def test_an_archive_id_and_a_lower_case_first_word_survive_sentence_case() -> None:
    text = bibtex.bib_string([bibtex.Record("online", "k", "Archive", "llama-models copy miFcW of the MI300X page",
                                            url="https://example.org/miFcW")])
    formatted = _formatted(parse_string(text, "bibtex"), "plain")["k"]
    assert "llama-models copy miFcW of the MI300X page" in formatted


def test_dates_only_when_published_and_urldate_is_the_access_date(parsed: BibliographyData) -> None:
    rows = SOURCES.set_index("source_id")
    undated = rows.index[rows["date_published"] == ""]
    assert len(undated) > 10
    for key, row in rows.iterrows():
        fields = parsed.entries[key].fields
        assert fields["urldate"] == row["date_accessed"]
        if row["date_published"]:
            assert (fields["year"], fields["date"]) == (row["date_published"][:4], row["date_published"])
        else:
            assert "year" not in fields and "date" not in fields
            assert row["date_accessed"][:4] not in str(fields.get("year", ""))
    article = parsed.entries["article-ainews-inference-collapse"]
    assert str(sphinx_template.year.format_data({"entry": article})) == "n.d."


def test_the_access_date_hides_nowhere_else(parsed: BibliographyData) -> None:
    assert not [k for k, e in parsed.entries.items() if "Accessed" in e.fields.get("note", "")]


def test_text_fields_have_no_unescaped_latex_specials(parsed: BibliographyData) -> None:
    found = [(k, name) for k, e in parsed.entries.items() for name in TEXT_FIELDS
             if UNESCAPED.search(e.fields.get(name, ""))]
    found += [(k, "author") for k, e in parsed.entries.items() if UNESCAPED.search(str(e.persons["author"][0]))]
    assert found == []
    assert UNESCAPED.search("summary_results.json & #1"), "the check finds an unescaped special"
    assert any("\\_" in e.fields["title"] for e in parsed.entries.values()), "the data has a '_' to escape"


def test_a_title_with_specials_and_capitals_round_trips() -> None:
    title = "R&D_costs #1 at 50% of MLPerf's total ~ AMD"
    text = bibtex.bib_string([bibtex.Record("online", "teeth", "AT&T Labs_x", title, url="https://example.org/a_b&c#d",
                                            published=dt.date(2024, 5, 1), accessed=dt.date(2026, 1, 2))])
    assert r"{R\&D\_costs} \#1" in text and r"50\%" in text and r"{AT\&T Labs\_x}" in text
    assert 'url = "https://example.org/a_b&c#d"' in text
    library = bibtexparser.parse_string(text)
    assert library.failed_blocks == [] and [e.key for e in library.entries] == ["teeth"]
    for style in STYLES:
        formatted = _formatted(parse_string(text, "bibtex"), style)["teeth"]
        assert title in formatted and "AT&T Labs_x" in formatted and "2024" in formatted
        assert "(visited on 2026-01-02)" in formatted


def test_an_unescaped_writer_would_fail_the_round_trip() -> None:
    """pybtex's writer encodes text itself (latexcodec); given the escaper's LaTeX it doubles every
    backslash, which is why the book's writer keeps the quoting and leaves the encoding out."""
    from pybtex.database import Entry
    from pybtex.database.output.bibtex import Writer

    escaped = bibtex.protected_title("R&D_costs #1")
    doubled = Writer().to_string(BibliographyData(entries={"x": Entry("online", fields={"title": escaped})}))
    formatted = _formatted(parse_string(doubled, "bibtex"), "plain")["x"]
    assert "R&D_costs #1" not in formatted


@pytest.mark.parametrize("row", [
    {"title": "Open { brace and } }} close", "producer": "A}B{"},
    {"url": "https://example.com/}}@misc{x,title={Injected},url={javascript:alert(3)}}@comment{"},
    {"url": "javascript:alert(1)"},
    {"title": "\\input{/etc/passwd} \\def\\x{y}", "licence": "50% $ ^ ~"},
])
def test_hostile_sources_stay_one_entry(row: dict[str, str]) -> None:
    source = {"source_id": "s1", "title": "T", "producer": "P", "url": "https://example.org/a", "date_published": "",
              "date_accessed": "2026-01-01", "licence": "CC0-1.0", "kind": "paper", "note": ""} | row
    text = bibliography.bib_text(pd.DataFrame([source]))
    assert list(parse_string(text, "bibtex").entries) == ["s1"]
    library = bibtexparser.parse_string(text)
    assert library.failed_blocks == [] and [e.key for e in library.entries] == ["s1"]
    assert "javascript" not in text.split("%7D", 1)[0] and "\\input" not in text


def test_entry_types_follow_the_kind_of_source(parsed: BibliographyData) -> None:
    kinds = dict(zip(SOURCES["source_id"], SOURCES["kind"]))
    for key, entry in parsed.entries.items():
        assert entry.type == ("dataset" if kinds[key] in ("dataset", "benchmark") else "online")


def test_the_writer_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ValueError):
        bibtex.bib_string([bibtex.Record("article", "k", "A", "T")])
    with pytest.raises(ValueError):
        bibtex.bib_string([bibtex.Record("misc", "bad key", "A", "T")])
    with pytest.raises(ValueError):
        bibtex.bib_string([bibtex.Record("misc", "k", "A", "T", extra=(("url", "x"),))])
    with pytest.raises(ValueError):
        bibtex.bib_string([bibtex.Record("misc", "k", "A", "T"), bibtex.Record("misc", "k", "B", "U")])


# ------------------------------------------------------------------ labels of one author's entries of one year


def _info(data: BibliographyData) -> SphinxReferenceInfo:
    """What a reference of sphinxcontrib-bibtex carries, with a stand-in for the builder whose cite
    domain holds ``data`` (the style reads the whole bibliography from there)."""
    domain = types.SimpleNamespace(bibdata=types.SimpleNamespace(data=data))
    env = types.SimpleNamespace(get_domain=lambda name: domain)
    builder = types.SimpleNamespace(env=env, name="html")
    return SphinxReferenceInfo(builder=builder, fromdocname="a", todocname="b", citation_id="id", title=None,
                               pre_text="", post_text="")


def _labels(data: BibliographyData, year_node: object) -> dict[str, str]:
    info = _info(data)
    return {key: f"{citestyle.author_text(e)} [{year_node.format_data({'entry': e, 'reference_info': info})}]"
            for key, e in data.entries.items()}


def test_in_text_labels_tell_every_entry_apart(parsed: BibliographyData) -> None:
    labels = _labels(parsed, citestyle.distinct_year)
    twice = [label for label, n in Counter(labels.values()).items() if n > 1]
    assert twice == []
    meta_2024 = sorted(v for k, v in labels.items() if v.startswith("Meta [2024"))
    assert len(meta_2024) >= 4 and meta_2024[:2] == ["Meta [2024a]", "Meta [2024b]"]
    assert labels["article-ainews-inference-collapse"] == "AINews [n.d.]"


def test_sphinxcontrib_bibtex_year_alone_repeats_labels(parsed: BibliographyData) -> None:
    plain = _labels(parsed, sphinx_template.year)
    assert Counter(plain.values())["Meta [2024]"] >= 4, "without the letters the labels repeat"


def test_letters_follow_titles_and_undated_entries_get_a_dash() -> None:
    text = bibtex.bib_string([
        bibtex.Record("online", "b", "Org", "Beta", url="https://e.org/b", published=dt.date(2024, 1, 1)),
        bibtex.Record("online", "a", "Org", "Alpha", url="https://e.org/a", published=dt.date(2024, 6, 1)),
        bibtex.Record("online", "c", "Org", "Gamma", url="https://e.org/c"),
        bibtex.Record("online", "d", "Org", "Delta", url="https://e.org/d"),
        bibtex.Record("online", "e", "Other", "Alone", url="https://e.org/e", published=dt.date(2024, 1, 1)),
    ])
    assert citestyle.year_suffixes(parse_string(text, "bibtex").entries) == {
        "a": "a", "b": "b", "d": "-a", "c": "-b", "e": ""}


def test_the_reference_style_uses_the_distinct_year(parsed: BibliographyData) -> None:
    from sphinxcontrib.bibtex.plugin import find_plugin as find_reference_style
    from sphinxcontrib.bibtex.style.referencing import format_references

    citestyle.register()
    style = find_reference_style("sphinxcontrib.bibtex.style.referencing", citestyle.STYLE_NAME)()
    for role in ("t", "p", "year", "ct", "ps"):
        assert "distinct_year" in repr(style.inner(role)) and " year" not in repr(style.inner(role))
    entry = parsed.entries["article-ainews-inference-collapse"]
    formatted = next(iter(find_plugin("pybtex.style.formatting", "alpha")().format_entries([entry])))
    text = format_references(style, "t", [(entry, formatted, _info(parsed))])
    assert "AINews" in str(text) and "n.d." in str(text)


def test_the_store_s_typed_dates_give_the_same_file(bib: str) -> None:
    """The build reads the sources from the store, where dates are timestamps and a missing one NaT."""
    typed = SOURCES.assign(date_published=pd.to_datetime(SOURCES["date_published"].replace("", None)),
                           date_accessed=pd.to_datetime(SOURCES["date_accessed"]))
    assert typed["date_published"].isna().sum() > 10
    assert bibliography.bib_text(typed) == bib
