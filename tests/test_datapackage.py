"""The Data Package descriptor (``data/datapackage.json``): what the sidecars become, and that the
committed file is exactly what they give today. ``tests/test_frictionless.py`` runs the standard's
validator on it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.data import datapackage
from analysis.data.contracts import load_schema
from tests.conftest import ROOT, WIDGETS_CSV

DATA = ROOT / "data"


def _fields(package: dict, resource: str) -> dict[str, dict]:
    found = next(r for r in package["resources"] if r["name"] == resource)
    return {f["name"]: f for f in found["schema"]["fields"]}


def _resource(package: dict, name: str) -> dict:
    return next(r for r in package["resources"] if r["name"] == name)


def test_the_committed_descriptor_is_what_the_sidecars_give() -> None:
    committed = (DATA / datapackage.DESCRIPTOR_NAME).read_text(encoding="utf-8")
    assert committed == datapackage.render(datapackage.descriptor(DATA)), (
        "data/datapackage.json differs from the sidecars: run `make datapackage` and commit it")


def test_every_table_is_a_resource_with_its_csv() -> None:
    package = json.loads((DATA / datapackage.DESCRIPTOR_NAME).read_text(encoding="utf-8"))
    names = sorted(p.name[: -len(".meta.yml")] for p in DATA.glob("*.meta.yml"))
    assert [r["name"] for r in package["resources"]] == names
    assert all((DATA / r["path"]).is_file() for r in package["resources"])
    assert package["$schema"] == datapackage.PROFILE


def test_a_drifted_descriptor_is_noticed(data_dir: Path) -> None:
    assert datapackage.drifted(data_dir)
    datapackage.write(data_dir)
    assert not datapackage.drifted(data_dir)
    sidecar = data_dir / "widgets.meta.yml"
    sidecar.write_text(sidecar.read_text().replace("description: Memory.", "description: Memory per chip."))
    assert datapackage.drifted(data_dir)


def test_columns_become_typed_fields_with_constraints_and_units(data_dir: Path) -> None:
    package = datapackage.descriptor(data_dir)
    fields = _fields(package, "widgets")
    assert fields["slug"]["type"] == "string"
    assert fields["slug"]["constraints"] == {"required": True, "pattern": "[a-z0-9-]+", "maxLength": 10_000}
    assert fields["kind"]["constraints"]["enum"] == ["gpu", "asic"]
    assert fields["memory_gb"]["type"] == "number" and fields["memory_gb"]["x-unit"] == "GB"
    assert fields["memory_gb"]["constraints"] == {"required": True, "minimum": 0, "maximum": 1000}
    assert fields["cores"]["type"] == "integer"
    assert fields["cores"]["constraints"] == {"required": False, "minimum": 1}
    assert fields["launched"]["type"] == "date" and fields["launched"]["constraints"]["minimum"] == "2000-01-01"
    assert "x-unit" not in fields["slug"]
    widgets = _resource(package, "widgets")
    assert widgets["schema"]["primaryKey"] == ["slug"]
    assert widgets["licenses"] == [{"name": "CC0-1.0"}]
    assert widgets["sources"][0]["path"] == "https://example.org/widgets"
    assert widgets["sources"][0]["x-citation"] == "tests (2026). Widgets."


def test_a_list_column_is_a_string_with_its_items_spelled_out(data_dir: Path) -> None:
    package = datapackage.descriptor(data_dir)
    fields = _fields(package, "widgets")
    precisions = fields["precisions"]
    assert precisions["type"] == "string"
    assert precisions["x-list"] == {"separator": ";", "itemEnum": ["fp16", "fp8", "int8"]}
    pattern = precisions["constraints"]["pattern"]
    for good in ("fp16", "fp16;fp8;int8"):
        assert re.fullmatch(pattern, good)
    for bad in ("fp16; fp8", " fp16", "fp16;", "fp16;;fp8", "fp32", "fp16,fp8"):
        assert not re.fullmatch(pattern, bad), bad
    # The sources' own pattern for source_id says what one item of source_ids looks like.
    sources = fields["source_ids"]["constraints"]["pattern"]
    assert re.fullmatch(sources, "spec-a;spec-b") and not re.fullmatch(sources, "spec-a; spec-b")
    widgets = _resource(package, "widgets")
    assert widgets["schema"]["x-list-references"] == [
        {"field": "source_ids", "separator": ";", "reference": {"resource": "sources", "fields": ["source_id"]}}]
    assert "foreignKeys" not in widgets["schema"]


def test_a_scalar_reference_is_a_foreign_key_and_a_reference_to_itself_names_no_resource(data_dir: Path) -> None:
    sidecar = data_dir / "widgets.meta.yml"
    sidecar.write_text(sidecar.read_text().replace(
        "  - name: note\n",
        "  - name: successor\n    type: string\n    description: The next widget.\n    required: false\n"
        "    references: widgets.slug\n  - name: note\n"))
    (data_dir / "widgets.csv").write_text(WIDGETS_CSV.replace(",note\n", ",successor,note\n")
                                          .replace(",spec-a,\n", ",spec-a,beta,\n")
                                          .replace('spec-b,"', 'spec-b,,"'))
    schema = _resource(datapackage.descriptor(data_dir), "widgets")["schema"]
    assert schema["foreignKeys"] == [{"fields": ["successor"], "reference": {"resource": "", "fields": ["slug"]}}]


def test_fields_follow_the_order_of_the_csv_header(data_dir: Path) -> None:
    csv_path = data_dir / "widgets.csv"
    lines = csv_path.read_text().splitlines()
    header = lines[0].split(",")
    moved = [header[1], header[0], *header[2:]]
    rows = [line.split(",", 2) for line in lines[1:]]
    csv_path.write_text("\n".join([",".join(moved), *(f"{r[1]},{r[0]},{r[2]}" for r in rows)]) + "\n")
    fields = list(_fields(datapackage.descriptor(data_dir), "widgets"))
    assert fields == moved


def test_the_chips_contract_keeps_exclusive_bounds_and_integer_bounds_as_integers() -> None:
    fields = _fields(datapackage.descriptor(DATA), "chips")
    assert fields["memory_gb"]["constraints"]["exclusiveMinimum"] == 0
    assert fields["year"]["constraints"]["minimum"] == 2015 and isinstance(fields["year"]["constraints"]["minimum"], int)
    assert _resource(datapackage.descriptor(DATA), "prices")["x-max-rows"] == load_schema(DATA / "prices.meta.yml").max_rows
    assert _resource(datapackage.descriptor(DATA), "forecasts")["x-must-include"] == {"source": ["article"]}


@pytest.mark.parametrize(("pattern", "expected"), [
    ("^[a-z0-9-]+$", "[a-z0-9-]+"),
    ("[a-z]+", "[a-z]+"),
    ("^a|b$", "(a|b)"),
    (r"^v[0-9]+[.][0-9]+$", r"v[0-9]+[.][0-9]+"),
    (r"^cost\$", r"cost\$"),
    (r"^cost\\$", r"cost\\"),
])
def test_a_contract_pattern_loses_its_outer_anchors(pattern: str, expected: str) -> None:
    assert datapackage.table_pattern(pattern) == expected


def test_a_literal_matches_only_itself() -> None:
    text = "a.b-c$d(e)|f*"
    pattern = datapackage.literal(text)
    assert re.fullmatch(pattern, text)
    assert not re.fullmatch(pattern, "aXb-c$d(e)|f*")


def test_an_item_pattern_that_admits_padding_or_separators_becomes_the_unpadded_item() -> None:
    assert datapackage.list_pattern("[^,]+") == datapackage.list_pattern(datapackage.UNPADDED_ITEM)
    pattern = datapackage.list_pattern("[a-z]+")
    assert re.fullmatch(pattern, "ab;cd") and not re.fullmatch(pattern, "ab;")


def test_the_command_writes_and_checks_the_descriptor(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datapackage", "--data", str(data_dir), "--check"]) == 1
    assert "missing or differs" in capsys.readouterr().out
    assert main(["datapackage", "--data", str(data_dir)]) == 0
    assert "(2 tables)" in capsys.readouterr().out
    assert main(["datapackage", "--data", str(data_dir), "--check"]) == 0
    assert json.loads((data_dir / "datapackage.json").read_text())["name"] == datapackage.PACKAGE_NAME


def test_a_malformed_sidecar_is_an_input_error_not_a_traceback(data_dir: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    (data_dir / "widgets.meta.yml").write_text("name: widgets\n")
    assert main(["datapackage", "--data", str(data_dir)]) == 2
    assert "widgets.meta.yml" in capsys.readouterr().err
    assert not (data_dir / "datapackage.json").exists()


def test_a_csv_that_is_a_link_or_a_fifo_is_not_read_for_its_header(data_dir: Path, tmp_path: Path) -> None:
    import os

    elsewhere = tmp_path / "elsewhere.csv"
    elsewhere.write_text("note,slug,kind,memory_gb,cores,launched,precisions,source_ids\n")
    (data_dir / "widgets.csv").unlink()
    (data_dir / "widgets.csv").symlink_to(elsewhere)
    names = list(_fields(datapackage.descriptor(data_dir), "widgets"))
    assert names == list(load_schema(data_dir / "widgets.meta.yml").column_names)
    (data_dir / "widgets.csv").unlink()
    os.mkfifo(data_dir / "widgets.csv")
    names = list(_fields(datapackage.descriptor(data_dir), "widgets"))
    assert names == list(load_schema(data_dir / "widgets.meta.yml").column_names)
