# The addon's commands. They need Odoo 17 importable by python3 and PostgreSQL (see README.md).
PYTHON ?= python3

.PHONY: test unit run lint bench stress help

help:
	@echo "make test   every test (unit + Odoo TransactionCase/HttpCase/tours) on a fresh database"
	@echo "make unit   the plain pytest tests of tools/ only"
	@echo "make run    demo database + Africa's Talking simulator + Odoo on http://127.0.0.1:8069"
	@echo "make lint   ruff and pylint-odoo"
	@echo "make bench  benchmarks against stock Odoo 17 (N=10000 by default)"
	@echo "make stress gateway faults with the dispatcher killed, and 10,000-report chaos (bench/stress.py)"

test:
	$(PYTHON) scripts/odoo_dev.py test

unit:
	$(PYTHON) scripts/odoo_dev.py test --unit-only

run:
	$(PYTHON) scripts/odoo_dev.py run

lint:
	ruff check .
	$(PYTHON) -m pylint --rcfile=.pylintrc --disable=prefer-env-translation \
		models controllers wizard tools tests __init__.py __manifest__.py

bench:
	$(PYTHON) bench/run.py --n $(or $(N),10000)

stress:
	$(PYTHON) bench/stress.py $(STRESS_ARGS)
