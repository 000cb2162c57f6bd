# ckanext-udp: two commands do everything on a fresh machine.
#   make run    install, start services, load demo data, serve http://127.0.0.1:5000
#   make test   install, start services, run the tests
.PHONY: run test stop clean status setup

run:
	@scripts/stack.sh run

test:
	@scripts/stack.sh test-setup
	.venv/bin/pytest --ckan-ini=test.ini tests

setup:
	@scripts/stack.sh setup

stop:
	@scripts/stack.sh stop

clean:
	@scripts/stack.sh clean

status:
	@scripts/stack.sh status
