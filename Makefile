# The two commands: `make demo` sets everything up and runs a complete simulated hearing;
# `make test` sets everything up and runs lint, type checks and the tests.
.PHONY: setup demo test lint bench

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/court demo $(DEMO_ARGS)

lint: setup
	.venv/bin/ruff check court devices transcripts web tests bench
	.venv/bin/ruff format --check court devices transcripts web tests bench
	.venv/bin/mypy

test: setup lint
	bash scripts/services.sh
	.venv/bin/python -m pytest -q

bench: setup
	.venv/bin/python bench/bench_one_click.py
	.venv/bin/python bench/bench_recording.py
	.venv/bin/python bench/bench_tts.py
	.venv/bin/python bench/bench_face.py
	.venv/bin/python bench/bench_asr.py
	.venv/bin/python bench/bench_director.py
	.venv/bin/python bench/bench_program.py
	.venv/bin/python bench/bench_bilu.py
	bash scripts/services.sh && .venv/bin/python bench/bench_failover.py
	.venv/bin/python bench/bench_hls_viewers.py --seconds 20
