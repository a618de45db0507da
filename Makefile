# Two commands on a fresh machine: `make run` (the app) and `make test` (the suite). Each creates .venv and
# installs what is missing; the second time the stamp file makes them start at once.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.engram-installed

.PHONY: run test test-all lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first and exactly 2.13.0: a looser request would pull several GB of CUDA packages on Linux.
	$(PY) -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) main.py

# CI's suite: all but the tests marked slow (about 2 minutes of them), so it fits 15 minutes on 2 cores.
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen MUJOCO_GL=egl $(PY) -m pytest -q -m "not slow"

test-all: $(STAMP)
	QT_QPA_PLATFORM=offscreen MUJOCO_GL=egl $(PY) -m pytest -q

# mypy reads its settings and file list from pyproject.toml [tool.mypy] (issue 22: a type check in CI).
lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

bench: $(STAMP)
	MUJOCO_GL=egl $(PY) bench/bench_scenes.py

clean:
	rm -rf $(VENV) build *.egg-info
