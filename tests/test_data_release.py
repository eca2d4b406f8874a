"""The data release beside the HTML book (``analysis.build.data_release``), on folders in tmp_path."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from analysis.build import data_release
from analysis.data import datapackage, store
from tests.conftest import ROOT


@pytest.fixture
def release_input(data_dir: Path) -> Path:
    """The synthetic data folder with its descriptor and a stand-in for the store."""
    datapackage.write(data_dir)
    (data_dir / store.STORE_NAME).write_bytes(b"not really a DuckDB file, but released as one")
    return data_dir


def _index(release: Path) -> dict[str, dict]:
    return {f["name"]: f for f in json.loads((release / data_release.INDEX_JSON).read_text())["files"]}


def test_every_table_its_contract_the_descriptor_and_the_store_are_released(release_input: Path,
                                                                             tmp_path: Path) -> None:
    html = tmp_path / "html"
    release = data_release.publish(release_input, html)
    assert release == html / "data"
    expected = ["sources.csv", "sources.meta.yml", "widgets.csv", "widgets.meta.yml", "datapackage.json",
                store.STORE_NAME]
    assert list(_index(release)) == expected
    assert sorted(p.name for p in release.iterdir()) == sorted([*expected, "index.html", "index.json"])
    for name in expected:
        assert (release / name).read_bytes() == (release_input / name).read_bytes()


def test_the_index_gives_sizes_digests_licences_and_rows(release_input: Path, tmp_path: Path) -> None:
    release = data_release.publish(release_input, tmp_path / "html")
    index = _index(release)
    for name, entry in index.items():
        raw = (release_input / name).read_bytes()
        assert entry["bytes"] == len(raw)
        assert entry["sha256"] == hashlib.sha256(raw).hexdigest()
    widgets = index["widgets.csv"]
    assert widgets["kind"] == "table" and widgets["rows"] == 2 and widgets["licences"] == ["CC0-1.0"]
    assert widgets["title"] == "Widgets" and widgets["source"] == "https://example.org/widgets"
    assert widgets["extra"]["citation"] == "tests (2026). Widgets."
    sources_licence = index["sources.csv"]["licences"]
    assert index[store.STORE_NAME]["licences"] == sorted({"CC0-1.0", *sources_licence})
    assert index["datapackage.json"]["kind"] == "descriptor"
    page = (release / data_release.INDEX_HTML).read_text()
    assert '<a href="widgets.csv">widgets.csv</a>' in page and "CC0-1.0" in page


def test_the_index_is_the_same_for_the_same_files(release_input: Path, tmp_path: Path) -> None:
    first = data_release.publish(release_input, tmp_path / "a")
    second = data_release.publish(release_input, tmp_path / "b")
    for name in (data_release.INDEX_JSON, data_release.INDEX_HTML):
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_a_new_release_replaces_the_old_one(release_input: Path, tmp_path: Path) -> None:
    html = tmp_path / "html"
    data_release.publish(release_input, html)
    (html / "data" / "stale.csv").write_text("old\n")
    (release_input / store.STORE_NAME).unlink()
    release = data_release.publish(release_input, html)
    assert not (release / "stale.csv").exists() and not (release / store.STORE_NAME).exists()
    assert store.STORE_NAME not in _index(release)
    assert [p.name for p in html.iterdir()] == ["data"]


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_a_file_that_is_not_regular_is_refused_and_the_old_release_kept(release_input: Path, tmp_path: Path,
                                                                         kind: str) -> None:
    html = tmp_path / "html"
    data_release.publish(release_input, html)
    before = {p.name: p.read_bytes() for p in (html / "data").iterdir()}
    target = release_input / store.STORE_NAME
    target.unlink()
    if kind == "symlink":
        secret = tmp_path / "secret.txt"
        secret.write_text("not for the website")
        target.symlink_to(secret)
    else:
        os.mkfifo(target)
    with pytest.raises(data_release.ReleaseError, match=store.STORE_NAME):
        data_release.publish(release_input, html)
    assert {p.name: p.read_bytes() for p in (html / "data").iterdir()} == before
    assert [p.name for p in html.iterdir()] == ["data"]


def test_a_missing_table_file_is_an_error(release_input: Path, tmp_path: Path) -> None:
    (release_input / "widgets.csv").unlink()
    with pytest.raises(data_release.ReleaseError, match="widgets.csv: missing"):
        data_release.publish(release_input, tmp_path / "html")


def test_the_index_page_escapes_what_the_contracts_say(release_input: Path, tmp_path: Path) -> None:
    sidecar = release_input / "widgets.meta.yml"
    sidecar.write_text(sidecar.read_text().replace("title: Widgets", 'title: "<script>alert(1)</script>"'))
    page = (data_release.publish(release_input, tmp_path / "html") / data_release.INDEX_HTML).read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_book_data_are_released_with_every_table(tmp_path: Path) -> None:
    data = ROOT / "data"
    release = data_release.publish(data, tmp_path / "html")
    index = _index(release)
    tables = sorted(p.name[: -len(".meta.yml")] for p in data.glob("*.meta.yml"))
    assert [n[: -len(".csv")] for n, e in index.items() if e["kind"] == "table"] == tables
    assert index["datapackage.json"]["bytes"] == (data / "datapackage.json").stat().st_size
    assert all(e["licences"] for e in index.values())
