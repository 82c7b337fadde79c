# Two commands on a fresh Debian/Ubuntu machine:
#   make run    set everything up, then start the app
#   make test   set everything up, then run the whole test suite headless
# A second run skips what is already installed.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
TORCH  := torch==2.13.0

# System packages: FluidSynth, a General MIDI soundfont, the xcb libraries Qt needs.
SYSTEM_PACKAGES := libfluidsynth3 fluid-soundfont-gm \
	libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-render-util0 \
	libxcb-shape0 libxcb-randr0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 \
	libegl1 libgl1 libfontconfig1 libdbus-1-3

.PHONY: run test setup system-deps bench lint package clean

run: setup
	$(PY) -m composer_app $(FILE)

test: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

bench: setup
	$(PY) -m composer_app bench

lint: setup $(DEV_STAMP)
	$(PY) -m ruff check composer_app tests

$(DEV_STAMP): pyproject.toml $(STAMP)
	$(PIP) install -q -e '.[dev]'
	@touch $(DEV_STAMP)

setup: system-deps $(STAMP)

system-deps:
	@if ! command -v dpkg-query >/dev/null 2>&1; then \
		echo "note: not a Debian/Ubuntu system; install FluidSynth and a GM soundfont yourself"; \
		exit 0; \
	fi; \
	missing=""; \
	for p in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing system packages:$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	else \
		echo "missing system packages; run:"; \
		echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends$$missing"; \
		echo "(continuing: the app works without sound until they are installed)"; \
	fi

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) show torch >/dev/null 2>&1 || $(PIP) install -q $(TORCH)
	$(PIP) install -q -e '.[test]'
	@touch $(STAMP)

package: setup
	$(PIP) install -q -e '.[package]'
	$(PY) -m PyInstaller --noconfirm --clean --log-level WARN packaging/composer-app.spec
	bash packaging/smoke.sh

clean:
	rm -rf build dist .pytest_cache
