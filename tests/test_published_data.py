"""The data release of the built site, downloaded over HTTP as a reader would and checked (#16 item 4)."""

from __future__ import annotations

import hashlib
import json
import urllib.request
from pathlib import Path

import duckdb
import frictionless
import pytest

from analysis.build import offline
from analysis.data import datapackage, store
from tests.conftest import ROOT

pytestmark = pytest.mark.build

HTML = ROOT / "_build" / "html"


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (a local server)
        assert response.status == 200, url
        return bytes(response.read())


def test_the_downloaded_package_validates_and_the_store_opens(tmp_path: Path) -> None:
    if not (HTML / "data" / "index.json").is_file():
        pytest.fail("the book is built without its data release: run `make book`")
    with offline.serve(HTML) as base:
        index = json.loads(_get(f"{base}/data/index.json"))
        for entry in index["files"]:
            body = _get(f"{base}/data/{entry['name']}")
            assert len(body) == entry["bytes"] and hashlib.sha256(body).hexdigest() == entry["sha256"], entry["name"]
            (tmp_path / entry["name"]).write_bytes(body)
        page = _get(f"{base}/data/index.html").decode()
        catalogue = _get(f"{base}/chapters/appendix-data.html").decode()
    names = {e["name"] for e in index["files"]}
    assert {datapackage.DESCRIPTOR_NAME, store.STORE_NAME, "chips.csv", "chips.meta.yml"} <= names
    assert all(e.get("licences") for e in index["files"]), "every file states its licence"
    report = frictionless.validate(str(tmp_path / datapackage.DESCRIPTOR_NAME))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]
    tables = [t for t in json.loads((tmp_path / datapackage.DESCRIPTOR_NAME).read_text())["resources"]]
    with duckdb.connect(str(tmp_path / store.STORE_NAME), read_only=True) as con:
        stored = {r[0] for r in con.sql("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {t["name"] for t in tables} <= stored
    assert 'href="../data/index.html"' in catalogue and "chips.csv" in page
