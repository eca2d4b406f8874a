"""The front page names the article, states the findings from the chapters' numbers and links every chapter."""

from __future__ import annotations

import re

import pytest

from analysis.build import pipeline
from tests.conftest import ROOT

pytestmark = pytest.mark.build


def test_the_intro_links_every_chapter_and_the_article() -> None:
    html = (ROOT / "_build" / "html" / "intro.html").read_text(encoding="utf-8")
    for chapter in pipeline.toc_files(ROOT):
        name = chapter.relative_to(ROOT).with_suffix(".html").as_posix()
        if name != "intro.html":
            assert f'href="{name}' in html, f"the intro does not link {name}"
    assert 'href="http://ainews.cool/' in html


def test_the_findings_paste_the_chapters_numbers() -> None:
    html = (ROOT / "_build" / "html" / "intro.html").read_text(encoding="utf-8")
    findings = html[html.index('id="what-the-book-finds"'):html.index('id="the-chapters"')]
    pasted = re.findall(r'class="pasted-text">([^<]+)<', findings)
    assert len(pasted) >= 15 and all(p.strip() for p in pasted), pasted


def test_every_page_names_its_edition_and_date() -> None:
    from analysis import edition

    book = edition.edition()
    stamp = f"Edition {book.version}, released {book.date_released.day} {book.date_released:%B %Y}."
    html = ROOT / "_build" / "html"
    for chapter in pipeline.toc_files(ROOT):
        page = html / chapter.relative_to(ROOT).with_suffix(".html")
        assert stamp in page.read_text(encoding="utf-8"), f"{page.name} does not name its edition"
