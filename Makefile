# The two commands a newcomer needs are `make run` and `make test`; the rest are conveniences.
.PHONY: run test install services stop bench

run:
	scripts/dev run

test:
	scripts/dev test

install:
	scripts/dev install

# Start the private PostgreSQL and Redis and leave them running (for manage.py shell, dbshell, ...).
services:
	scripts/dev services

stop:
	scripts/dev stop
