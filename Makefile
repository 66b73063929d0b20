# The two commands a newcomer needs are `make run` and `make test`; the rest are conveniences.
.PHONY: run test install services stop bench bench-import bench-real serve backup restore load

run:
	scripts/dev run

# PYTEST_ARGS go to pytest: make test PYTEST_ARGS="--durations=25 --randomly-seed=1234"
test:
	scripts/dev test $(PYTEST_ARGS)

install:
	scripts/dev install

# Start the private PostgreSQL and Redis and leave them running (for manage.py shell, dbshell, ...).
services:
	scripts/dev services

stop:
	scripts/dev stop

# The web tier as in production: gunicorn + whitenoise (README, "Production").
serve:
	scripts/dev serve

# pg_dump -Fc of the configured database into var/backups/ (or FILE=path).
backup: services
	.venv/bin/python manage.py backup $(if $(FILE),--output $(FILE))

# pg_restore FILE=path into the configured database, which should be new and empty (README, "Backup").
restore: services
	@test -n "$(FILE)" || { echo "usage: make restore FILE=var/backups/posture-....dump" >&2; exit 2; }
	.venv/bin/python manage.py restore $(FILE)

# Every benchmark (README, "Performance"): each bench/*_bench.py in turn, never part of `make test`.
# BENCH_N sets the synthetic incidents (default 1,000,000): BENCH_N=100000 make bench for a quick run.
bench: services
	@set -e; for script in bench/*_bench.py; do \
		echo "==> $$script"; .venv/bin/python -m bench.$$(basename $$script .py); \
	done

# A bounded load test on loopback (README, "Production"): wrk against the map page and the API.
load: services
	.venv/bin/python -m bench.load $(LOAD_ARGS)

# The import benchmark (README, "Imports, sync and notifications"): 100,000 ACLED rows against a plain COPY.
bench-import: services
	.venv/bin/python -m bench.import_bench

# Every real file in ../shared/data/real/ imported into a database of its own (README, "Imports"): rows in,
# rows reported, rows/s against COPY, and a second import that must change nothing.
bench-real: services
	.venv/bin/python -m bench.real_files
