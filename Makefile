# One task runner. `make run` and `make test` are the README's two commands.
.PHONY: setup run test test-browser lint format bench

setup:
	scripts/setup.sh

run: setup
	.venv/bin/techmap serve --host 127.0.0.1 --port 8000

test:
	scripts/setup.sh --test
	scripts/test.sh

test-browser:
	.venv/bin/pytest -m browser

lint:
	.venv/bin/ruff check .

format:
	.venv/bin/ruff format .

bench:
	scripts/setup.sh --bench
	.venv/bin/python bench/run.py
