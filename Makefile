# ckanext-udp: two commands do everything on a fresh machine.
#   make run    install, start services, load demo data, serve http://127.0.0.1:5000
#   make test   install, start services, lint, then the whole suite in two parallel
#               shards, each on a stack of its own (scripts/stack.sh: cmd_test_sharded)
# PYTEST_ARGS passes options through, e.g. make test PYTEST_ARGS="-k search -x" (to both
# shards); test paths in it run just those, in one process: make test PYTEST_ARGS="tests/browser -x".
# make test-durations: the whole suite as make test, then its durations into .test_durations
# (commit it: the shards are cut by it).
.PHONY: run test test-durations stop clean status setup bench lint cluster test-cluster

# The reference data (../shared by default, as scripts/stack.sh and tests/conftest.py take it): the
# benchmarks below run outside stack.sh and read udp_dcatde's shapes and districts through it.
UDP_SHARED_DIR ?= $(abspath ../shared)
export UDP_SHARED_DIR

run:
	@scripts/stack.sh run

test:
	@scripts/stack.sh test $(PYTEST_ARGS)

test-durations:
	@scripts/stack.sh test-durations $(PYTEST_ARGS)

setup:
	@scripts/stack.sh setup

stop:
	@scripts/stack.sh stop

clean:
	@scripts/stack.sh clean

status:
	@scripts/stack.sh status

# Benchmarks against their stock anchors, every one of bench/ (needs the demo portal: make run first).
# (TRANSPARENCY_N: datasets of the initial transparency sync; 10,000 as the issue asks, smaller for a quick run)
# The portal load test runs 50 users x 5 minutes per portal (ours, ours without the AI search, stock); shorter: make bench PORTAL_LOAD_ARGS="--users 10 --duration 60"
TRANSPARENCY_N ?= 10000
# (CLUSTER_N: datasets in the single core and in the 2x2 SolrCloud collection, same run)
CLUSTER_N ?= 10000
bench:
	@scripts/stack.sh setup
	.venv/bin/python bench/governance_overhead.py --ini .udp/ckan.ini
	.venv/bin/python bench/catalog_serialisation.py --ini .udp/ckan.ini -n 10000
	@scripts/stack.sh test-setup >/dev/null
	.venv/bin/python bench/harvest.py --ini "$$(scripts/stack.sh test-ini)" --n 500 --n-stock 500
	.venv/bin/python bench/quality_check.py --repeat 5
	.venv/bin/python bench/view3d_cityjson.py --mb 50
	.venv/bin/python bench/transparency_sync.py --ini "$$(scripts/stack.sh test-ini)" -n $(TRANSPARENCY_N)
	.venv/bin/python bench/transparency_latency.py --ini "$$(scripts/stack.sh test-ini)" --rate 10 --seconds 30
	.venv/bin/python bench/transparency_latency.py --ini "$$(scripts/stack.sh test-ini)" --rate 10 --seconds 30 --mode direct
	.venv/bin/python bench/sensors_ingest.py --ini .udp/ckan.ini --n 120000 --n-stock 1000 --n-batched 40000 \
		--write-path 50000 --rate 2000 --big-rows 10000000
	.venv/bin/python bench/portal_load.py --ini .udp/ckan.ini $(PORTAL_LOAD_ARGS)
	.venv/bin/python bench/portal_cpu.py --ini .udp/ckan.ini --repeat 20
	.venv/bin/python bench/replica_reads.py --ini .udp/ckan.ini --rows 2000000 --rate 2000 --seconds 30
	.venv/bin/python bench/klimadashboard.py --ini "$$(scripts/stack.sh test-ini)" --tiles 20 --repeat 20
	.venv/bin/python bench/sozialatlas.py --ini "$$(scripts/stack.sh test-ini)" --indicators 10 --repeat 20
	.venv/bin/python bench/search_quality.py --ini "$$(scripts/stack.sh test-ini)"
	.venv/bin/python bench/cluster_search.py --n $(CLUSTER_N) --clients 20 --seconds 30

# SolrCloud on loopback (scripts/cluster.sh): ZooKeeper + 3 Solr nodes, collections ckan and ckan_test
# (2 shards x 2 replicas, CKAN's schema with the German analysis); writes .udp/cluster.ini (ckan.ini with
# solr_url on the collection) and indexes the portal's datasets into it. make stop stops it too.
cluster:
	@scripts/stack.sh setup
	@scripts/cluster.sh start
	.venv/bin/ckan -c "$$(scripts/cluster.sh ini)" search-index rebuild
	@echo "Serve the portal on the cluster: .venv/bin/ckan -c .udp/cluster.ini run --host 127.0.0.1"

# The cluster tests, opt-in, outside make test (several minutes and ~1.3 GB of JVMs on a loaded 2-core
# box): SolrCloud (start ZooKeeper and three Solr nodes, kill one while 20 clients search), the PostgreSQL
# replica (DataStore reads and sensor downloads on it, its fallback and 503), a gunicorn worker killed under
# load, one of two sensor consumers on a shared subscription killed mid-stream, two job workers and two
# harvest fetch consumers on the same queues (each job/object exactly once).
test-cluster:
	@UDP_TEST_CLUSTER=1 scripts/stack.sh test tests/cluster tests/sensors/test_sensor_replica.py \
		tests/sensors/test_sensor_consumer.py::test_one_of_two_shared_consumers_killed_mid_stream_loses_and_duplicates_nothing \
		-q $(PYTEST_ARGS)

# Lint, format check and type check (also run by make test)
lint:
	@scripts/stack.sh lint
