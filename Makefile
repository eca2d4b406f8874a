# The book's commands. `make book` builds everything from a clone; `make test` checks it.
# DATA and PARAMS reach the command line program through the environment, unexpanded ($(value ...)),
# never through the shell: no quoting, `;`, `$(...)` or `${IFS}` in them is ever evaluated.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PARAMS ?=
# Not exported as themselves: make would expand them (running any $(shell ...) in them) to export.
unexport PARAMS DATA
DATA ?=

.PHONY: book store datapackage test unit bench micro serve lab rerun pdf clean venv-check

$(INSTALLED): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

# The venv must import this checkout's `analysis` from outside it (as the chapters' kernels do): an editable
# install made from another checkout (a venv copied or shared between clones) would run that checkout's code
# in the kernels, and the install stamp cannot see it. Checked only for this checkout's own venv (a PY given
# on the command line, as the tests give for a copy of the book, is the caller's choice).
venv-check: $(INSTALLED)
	@test "$(PY)" != "$(VENV)/bin/python" || (cd / && $(abspath $(PY)) -I -c 'import pathlib, sys; import analysis; got = pathlib.Path(analysis.__file__ or ".").resolve().parent; here = pathlib.Path(sys.argv[1]).resolve(); sys.exit(0 if got == here else f"error: this venv imports the analysis package from {got}, not {here}: remove $(VENV) and run make again")' "$(CURDIR)/analysis")

## book: validate data/, build the store, execute stale chapters, build _build/html
book: export INFERENCE_BOOK_PARAMS = $(value PARAMS)
book: venv-check
	$(PY) -m analysis build --root .

## store: validate data/ and build data/inference.duckdb (with the derived tables) only
store: venv-check
	$(PY) -m analysis store --root .

## datapackage: write data/datapackage.json (the Frictionless Data Package descriptor) from the sidecars
datapackage: venv-check
	$(PY) -m analysis datapackage

## test: the whole suite (unit, data, nbval, browser) against a built book
test: book
	$(PY) -m pytest

## unit: the unit tests only (no built book needed, under 30 s)
unit: venv-check
	$(PY) -m pytest -m unit

## rerun: merge the tables in DATA=DIR into data/ and rebuild what changed
rerun: export INFERENCE_BOOK_DATA = $(value DATA)
rerun: export INFERENCE_BOOK_PARAMS = $(value PARAMS)
rerun: venv-check
	$(PY) -m analysis rerun --root .

## bench: the benchmark suite (not part of make test)
bench: book
	$(PY) -m benchmarks

## micro: the micro-benchmarks of the sweeps and the store build (pytest-benchmark; no built book needed)
micro: $(INSTALLED)
	$(PY) -m pytest benchmarks --benchmark-only --benchmark-columns=min,median,max,stddev,rounds

## serve: preview the built book on http://127.0.0.1:8000
serve: book
	$(PY) -m http.server 8000 --bind 127.0.0.1 --directory _build/html

## lab: JupyterLab on chapters/ from this venv, on 127.0.0.1: run a chapter and see its charts and glued values.
## Nothing is fetched: no extension manager (read-only), no news feed, no update check (the options, and
## lab/labconfig/page_config.json, which leaves out the announcements plugin). The kernels run without
## INFERENCE_BOOK_BUILD, so they show what a reader sees (analysis/book/notebook_view.py).
lab: venv-check
	env -u INFERENCE_BOOK_BUILD JUPYTER_CONFIG_PATH="$(CURDIR)/lab$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
		$(PY) -m jupyterlab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=chapters \
		--LabApp.extension_manager=readonly --LabApp.news_url=None \
		--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
		$$(test "$$(id -u)" != 0 || echo --ServerApp.allow_root=True)

## pdf: the whole book as one PDF (_build/pdf/), printed by headless Chromium
pdf: book
	$(PY) -m analysis pdf --root .

clean:
	rm -rf _build data/inference.duckdb
