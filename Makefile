# The addon's commands. The first one sets up what they all need (a project-local .venv with Odoo 17 and every
# requirement, Debian packages, PostgreSQL): see README.md, "Quick start". Any python3 >= 3.10 can start them.
PYTHON ?= python3
DEV := $(PYTHON) scripts/odoo_dev.py

.PHONY: test unit run lint bench stress setup help

help:
	@echo "make run    demo database + Africa's Talking simulator + Odoo on http://127.0.0.1:8069"
	@echo "make test   every test (unit + Odoo TransactionCase/HttpCase/tours) on a fresh database"
	@echo "make unit   the plain pytest tests of tools/, simulator/ and scripts/ only"
	@echo "make lint   ruff and pylint-odoo"
	@echo "make bench  benchmarks against stock Odoo 17 (N=10000, realistic lists by default)"
	@echo "make stress gateway faults with the dispatcher killed, and 10,000-report chaos (bench/stress.py)"
	@echo "make setup  only set up the environment (.venv with Odoo 17)"

test:
	$(DEV) test

unit:
	$(DEV) test --unit-only

run:
	$(DEV) run

lint:
	$(DEV) lint

setup:
	$(DEV) setup

# The headline table runs on realistic lists (issue #21); BENCH_DATA= (empty) runs plain lists.
BENCH_DATA ?= --realistic

bench:
	$(DEV) bench -- --n $(or $(N),10000) $(BENCH_DATA) $(BENCH_ARGS)

stress:
	$(DEV) stress -- $(STRESS_ARGS)
