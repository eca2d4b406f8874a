"""The standard's own validator on the book's data: ``frictionless validate data/datapackage.json``.

Frictionless is the independent check of the contracts as a Data Package (``analysis.data.datapackage``
writes the descriptor): the committed data pass it with no error, a broken copy of ``data/`` fails it
with an error naming the resource, row and field, and ``test_what_the_book_and_frictionless_say_of_one_cell``
records, case by case, what each validator says of one edited cell: the book refuses everything
frictionless refuses, and more (it reads every cell as written, so surrounding white space is refused
rather than stripped, and its integers, numbers and dates have a stricter syntax than Python's).

No test here may reach the network: every one runs with the socket functions replaced by ones that
raise (``no_network``), and ``test_the_frictionless_command_passes_data_with_no_network`` runs the
command line in a network namespace of its own where the machine allows it.
"""

from __future__ import annotations

import csv
import io
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import frictionless
import pytest

from analysis.data import datapackage, validation
from analysis.data.contracts import load_schema
from tests.conftest import ROOT

DATA = ROOT / "data"
Error = tuple[str, int | None, str | None, str, str]
"""One frictionless error: resource, row number (the header is row 1), field, error type, note."""


class NetworkUsed(AssertionError):
    """Something in a test tried to open a network connection."""


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every way Python opens a connection or resolves a name raises ``NetworkUsed`` (and is recorded)."""
    attempts: list[str] = []

    def refuse(what: str) -> Any:
        def raising(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{what}{args[1:2] if what.startswith('socket.') else args[:1]}")
            raise NetworkUsed(f"network use in a test: {what}")
        return raising

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    yield attempts
    assert not attempts, f"a test tried to use the network: {attempts}"


def _errors(report: frictionless.Report) -> list[Error]:
    """The errors of every task of ``report``; a foreign key error's field is the key's columns."""
    found = []
    for task in report.tasks:
        for e in task.errors:
            field = getattr(e, "field_name", None) or ",".join(getattr(e, "field_names", None) or []) or None
            found.append((task.name, getattr(e, "row_number", None), field, e.type, e.note))
    return found


def _validate(data_dir: Path) -> list[Error]:
    """Every error frictionless finds in the package ``data_dir/datapackage.json`` (metadata errors
    included, as the ``package`` resource)."""
    report = frictionless.validate(str(data_dir / datapackage.DESCRIPTOR_NAME))
    found = _errors(report)
    found += [("package", None, None, e.type, e.note) for e in report.errors]
    return found


def _validate_resource(data_dir: Path, name: str) -> list[Error]:
    """Every error frictionless finds in one resource of the package (its foreign keys looked up in
    the package's other resources), without reading the rest."""
    package = frictionless.Package(str(data_dir / datapackage.DESCRIPTOR_NAME))
    return _errors(package.get_resource(name).validate())


def _copy_data(tmp_path: Path, tables: set[str] | None = None) -> Path:
    """A copy of ``data/`` (its CSVs, sidecars and descriptor; not the store), or of only ``tables``
    with a descriptor of their own."""
    out = tmp_path / "data"
    if tables is None:
        shutil.copytree(DATA, out, ignore=shutil.ignore_patterns("*.duckdb*", ".*"))
        return out
    out.mkdir()
    for name in sorted(tables):
        for suffix in (".csv", ".meta.yml"):
            shutil.copy(DATA / f"{name}{suffix}", out / f"{name}{suffix}")
    datapackage.write(out)
    return out


def _needed(table: str) -> set[str]:
    """``table`` and every table it refers to, directly or not."""
    wanted, todo = set(), [table]
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        wanted.add(name)
        todo += [c.references[0] for c in load_schema(DATA / f"{name}.meta.yml").columns if c.references]
    return wanted


def _set_cell(data_dir: Path, table: str, row: int, column: str, value: str) -> None:
    """Write ``value`` into record ``row`` (1 = the first after the header) of ``table``'s CSV;
    ``{row1}`` in it stands for that column's value in the first record."""
    path = data_dir / f"{table}.csv"
    records = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    index = records[0].index(column)
    records[row][index] = value.format(row1=records[1][index])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(records)
    path.write_text(out.getvalue(), encoding="utf-8")


def _book_problems(data_dir: Path) -> list[validation.Problem]:
    try:
        validation.validate(data_dir)
    except validation.ValidationError as exc:
        return exc.problems
    return []


def _list_reference_problems(data_dir: Path) -> list[tuple[str, int, str, str]]:
    """Checks the descriptor's ``x-list-references`` on the rows as frictionless reads them (not as the
    book does): (resource, row number, field, item) for each item not found in its target."""
    package = frictionless.Package(str(data_dir / datapackage.DESCRIPTOR_NAME))
    found = []
    for resource in package.resources:
        for ref in resource.schema.custom.get("x-list-references", []):
            target = package.get_resource(ref["reference"]["resource"] or resource.name)
            with target:
                known = {row[ref["reference"]["fields"][0]] for row in target.row_stream}
            with resource:
                for row in resource.row_stream:
                    for item in (row[ref["field"]] or "").split(ref["separator"]):
                        if item and item not in known:
                            found.append((resource.name, row.row_number, ref["field"], item))
    return found


def test_the_network_is_shut_for_these_tests(no_network: list[str]) -> None:
    with pytest.raises(NetworkUsed):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    no_network.clear()


def test_frictionless_finds_no_error_in_the_data() -> None:
    report = frictionless.validate(str(DATA / datapackage.DESCRIPTOR_NAME))
    assert _errors(report) == [] and report.errors == []
    assert report.valid
    tables = sorted(p.name[: -len(".meta.yml")] for p in DATA.glob("*.meta.yml"))
    assert sorted(task.name for task in report.tasks) == tables
    assert all(task.stats["rows"] > 0 for task in report.tasks)


def test_every_list_reference_resolves_as_frictionless_reads_the_rows() -> None:
    assert _list_reference_problems(DATA) == []


def test_the_frictionless_command_passes_data_with_no_network(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "frictionless", "validate", "--json", str(DATA / datapackage.DESCRIPTOR_NAME)]
    unshare = shutil.which("unshare")
    isolated = unshare is not None and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0
    if isolated:
        command = [str(unshare), "-n", *command]  # a network namespace with no interface but loopback, down
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert '"valid": true' in done.stdout
    if not isolated:
        pytest.skip("unshare -n is not allowed here: the command ran with the network (the socket guard covers the API)")


BROKEN = [
    # (what is broken, table, record, column, value, the error frictionless must report)
    ("a type", "chips", 1, "year", "soon", ("chips", 2, "year", "type-error")),
    ("a duplicate primary key", "chips", 2, "slug", "{row1}", ("chips", 3, None, "primary-key")),
    ("a dangling foreign key", "benchmarks", 1, "chip_slug", "no-such-chip",
     ("benchmarks", 2, "chip_slug", "foreign-key")),
    ("a value outside its enum", "chips", 1, "kind", "fpga", ("chips", 2, "kind", "constraint-error")),
    ("a padded list item", "chips", 1, "precisions", "fp32; bf16", ("chips", 2, "precisions", "constraint-error")),
]
NOTES = {"type-error": 'type is "integer', "primary-key": "the same as in the row at position 2",
         "foreign-key": 'values "no-such-chip" not found in the lookup table "chips" as "slug"'}


@pytest.mark.parametrize(("what", "table", "row", "column", "value", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_frictionless_fails_on_a_broken_copy_of_the_data(tmp_path: Path, what: str, table: str, row: int,
                                                         column: str, value: str, expected: tuple[Any, ...]) -> None:
    data_dir = _copy_data(tmp_path)
    assert not datapackage.drifted(data_dir)
    assert _validate_resource(data_dir, table) == []
    _set_cell(data_dir, table, row, column, value)
    found = _validate_resource(data_dir, table)
    assert [e[:4] for e in found] == [expected], found
    note = found[0][4]
    assert NOTES.get(expected[3], "enum" if "enum" in what else "pattern") in note, note


def test_frictionless_validate_fails_on_the_whole_broken_package(tmp_path: Path) -> None:
    """All the breaks of ``BROKEN`` at once, the whole package validated: each is reported."""
    data_dir = _copy_data(tmp_path)
    for _, table, row, column, value, _ in BROKEN:
        _set_cell(data_dir, table, row, column, value)
    found = [e[:4] for e in _validate(data_dir)]
    assert all(b[5] in found for b in BROKEN), found


def test_a_dangling_list_reference_passes_frictionless_and_fails_the_extension_check(tmp_path: Path) -> None:
    data_dir = _copy_data(tmp_path, _needed("chips"))
    _set_cell(data_dir, "chips", 1, "source_ids", "no-such-source")
    assert _validate(data_dir) == []
    assert _list_reference_problems(data_dir) == [("chips", 2, "source_ids", "no-such-source")]


VERDICTS = [
    # (case, table, column, value, the book accepts it, frictionless accepts it)
    # Where frictionless refuses, the book refuses too (it reads every cell as written):
    ("integer written 2022.0", "chips", "year", "2022.0", False, False),
    ("integer written 2.022e3", "chips", "year", "2.022e3", False, False),
    ("padded list item", "chips", "precisions", "fp32; bf16", False, False),
    ("padded source id", "chips", "source_ids", "klockwood-h100; epoch-ml-hardware", False, False),
    ("padded key with a pattern", "chips", "slug", " {row1}", False, False),
    ("padded value of an enum", "chips", "kind", " gpu", False, False),
    ("padded foreign key", "benchmarks", "chip_slug", " {row1}", False, False),
    # Where the book is stricter (list items, surrounding white space, number and integer syntax):
    ("integer written 2_022", "chips", "year", "2_022", False, True),
    ("integer written ' 2022'", "chips", "year", " 2022", False, True),
    ("number written '80 '", "chips", "memory_gb", "80 ", False, True),
    ("padded free text", "chips", "name", " {row1}", False, True),
    ("number NaN, no bounds", "claims", "value_low", "NaN", False, True),
    ("number inf, no bounds", "claims", "value_low", "inf", False, True),
    ("number 1_000", "claims", "value_low", "1_000", False, True),
    ("1e-400 where more than 0 is asked", "chips", "memory_gb", "1e-400", False, True),
    ("date 2024-1-5", "events", "date", "2024-1-5", False, True),
    ("required string of spaces", "chips", "name", "   ", False, True),
    ("padded key that then repeats another", "epoch_chips", "hardware", " {row1}", False, True),
    ("dangling list reference", "chips", "source_ids", "no-such-source", False, True),
    # Where both accept:
    ("integer written +2022", "chips", "year", "+2022", True, True),
    ("number written .5e1", "chips", "memory_gb", ".5e1", True, True),
]


@pytest.mark.parametrize(("case", "table", "column", "value", "book_accepts", "frictionless_accepts"),
                         VERDICTS, ids=[d[0] for d in VERDICTS])
def test_what_the_book_and_frictionless_say_of_one_cell(tmp_path: Path, case: str, table: str, column: str,
                                                        value: str, book_accepts: bool,
                                                        frictionless_accepts: bool) -> None:
    """What each validator says of one edited cell (record 1, or record 2 for the repeated key), on a
    copy of the table and the tables it refers to. Observed, not wished: the sidecars are the
    contract and the book's validation decides."""
    data_dir = _copy_data(tmp_path, _needed(table))
    row = 2 if "repeats" in case else 1
    _set_cell(data_dir, table, row, column, value)
    book = _book_problems(data_dir)
    standard = _validate(data_dir)
    assert (not book) == book_accepts, [str(p) for p in book]
    assert (not standard) == frictionless_accepts, standard
    if book:
        assert any(p.column == column and p.line == row + 1 for p in book), [str(p) for p in book]
    if standard:
        assert any(e[0] == table and e[1] == row + 1 and (e[2] == column or column in e[4]) for e in standard), standard


def test_the_book_accepts_nothing_frictionless_refuses() -> None:
    """The verdicts agree wherever frictionless refuses a cell; the book differs only by refusing more."""
    assert [case for case, *_, book, standard in VERDICTS if book and not standard] == []


def test_a_descriptor_written_for_another_folder_checks_that_folder(data_dir: Path) -> None:
    """The synthetic folder of the unit tests, with a column referring to its own table: valid as
    written, and a dangling reference to its own table is a foreign key error."""
    sidecar = data_dir / "widgets.meta.yml"
    sidecar.write_text(sidecar.read_text().replace(
        "  - name: note\n",
        "  - name: successor\n    type: string\n    description: The next widget.\n    required: false\n"
        "    references: widgets.slug\n  - name: note\n"))
    _set_cell_column(data_dir / "widgets.csv", "successor", ["beta", ""])
    datapackage.write(data_dir)
    assert _validate(data_dir) == [] and _book_problems(data_dir) == []
    _set_cell(data_dir, "widgets", 2, "successor", "gamma")
    assert [e[:4] for e in _validate(data_dir)] == [("widgets", 3, "successor", "foreign-key")]


def _set_cell_column(path: Path, column: str, values: list[str]) -> None:
    """Add ``column`` before the last column of the CSV at ``path``, with one value per record."""
    records = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    records = [[*r[:-1], v, r[-1]] for r, v in zip(records, [column, *values], strict=True)]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(records)
    path.write_text(out.getvalue(), encoding="utf-8")
