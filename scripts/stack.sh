#!/usr/bin/env bash
# The local stack of ckanext-udp: install, start and stop everything the
# portal and the tests need, with all state under one git-ignored folder.
#
#   scripts/stack.sh setup     install + start services (no web server)
#   scripts/stack.sh test      setup + test databases, then pytest --ckan-ini=test.ini tests [ARGS]
#   scripts/stack.sh run       setup + demo data + web server + job worker
#   scripts/stack.sh stop      stop every process this script started (by PID)
#   scripts/stack.sh clean     stop, then remove the state folder
#   scripts/stack.sh status    what runs where
#
# Every step is idempotent: a second run checks and skips.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export UDP_STATE=${UDP_STATE:-$REPO/.udp}
# reference data (DCAT-AP.de shapes, districts ...) as an absolute path: udp_dcatde's
# empty shapes_dir/districts_dir options default to folders of it
UDP_SHARED_DIR=${UDP_SHARED_DIR:-$REPO/../shared}
[ -d "$UDP_SHARED_DIR" ] && UDP_SHARED_DIR=$(cd "$UDP_SHARED_DIR" && pwd)
export UDP_SHARED_DIR
VENV=${UDP_VENV:-$REPO/.venv}
PY=$VENV/bin/python
CKAN=$VENV/bin/ckan

# Ports: all services listen on loopback only. test.ini names the default
# ports; UDP_PORT_OFFSET moves a whole second stack (another checkout, its own
# .udp/) aside, and its tests then run with a generated .udp/test.ini overlay.
OFF=${UDP_PORT_OFFSET:-0}
PG_PORT=$((5433 + OFF))
REDIS_PORT=$((6380 + OFF))
export SOLR_PORT=$((8983 + OFF))
MQTT_PORT=$((1884 + OFF))
HTTP_PORT=$((5000 + OFF))
# Servers beside the stack, at 5000+OFF+k with k < 33 (a stack's share ends at 50,
# where the next test shard's begins; 5000+OFF+33 is PostgreSQL of the stack 400
# ports below): +0 the portal (make run), +1 the second CKAN,
# +2 pycsw, and for the tests (tests/udp_testing.py: stack_port) +3 the browser
# tests' portal, +4 a private Mosquitto, +5 an SMTP server, +6 MapServer (WMS/WFS). Servers inside the
# test process bind port 0 (the kernel's pick, 32768-60999, never a stack's port).
SECOND_CKAN_PORT=$((HTTP_PORT + 1))
PYCSW_PORT=$((HTTP_PORT + 2))

PGBIN=${UDP_PGBIN:-/usr/lib/postgresql/15/bin}
RUN=$UDP_STATE/run
LOG=$UDP_STATE/log
INI=$UDP_STATE/ckan.ini

log() { printf '\033[1m[udp]\033[0m %s\n' "$*"; }
die() { printf '\033[31m[udp] error:\033[0m %s\n' "$*" >&2; exit 1; }

# --- helpers ---------------------------------------------------------------

# Run a command as the PostgreSQL OS user: postgres refuses to run as root.
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_port() { # host port seconds name
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
        sleep 0.1
    done
    die "$4 did not open $1:$2 within $3 s (see $LOG)"
}

free_port() { # a free TCP port on loopback
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() { # url pidfile seconds name logfile: until the URL answers 2xx, while the process lives
    local i
    for ((i = 0; i < $3 * 5; i++)); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        pid_alive "$2" || die "$4 died: $(tail -20 "$5")"
        sleep 0.2
    done
    die "$4 did not answer on $1 within $3 s: $(tail -20 "$5")"
}

psql_su() { as_pg "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN" -p "$PG_PORT" -U postgres "$@"; }

# --- installation ----------------------------------------------------------

install_debs() {
    local need=()
    [ -x "$PGBIN/postgres" ] || need+=(postgresql-15 postgresql-contrib)
    command -v redis-server >/dev/null || need+=(redis-server)
    command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto mosquitto-clients)
    command -v java >/dev/null || need+=(openjdk-17-jdk-headless)
    command -v mvn >/dev/null || need+=(maven)
    command -v gcc >/dev/null || need+=(gcc)
    [ -f /usr/include/postgresql/libpq-fe.h ] || need+=(libpq-dev)
    dpkg -s libxml2-dev >/dev/null 2>&1 || need+=(libxml2-dev libxslt1-dev)
    dpkg -s libgeos-dev >/dev/null 2>&1 || need+=(libgeos-dev)
    dpkg -s python3-dev >/dev/null 2>&1 || need+=(python3-dev)
    # browser tests: Debian's Chromium (driven by Playwright), fonts for readable
    # screenshots, Node/npm for the pinned front-end test tools (axe-core)
    [ -x /usr/bin/chromium ] || need+=(chromium)
    dpkg -s fonts-liberation >/dev/null 2>&1 || need+=(fonts-liberation)
    command -v npm >/dev/null || need+=(npm)
    # the developer page's R examples are run by the tests (tests/api/test_devpage.py)
    command -v Rscript >/dev/null || need+=(r-base-core)
    # the map preview's WMS/WFS tests: MapServer as the real OGC server (scripts/mapserver.py)
    [ -x /usr/bin/mapserv ] || need+=(mapserver-bin)
    dpkg -s r-cran-jsonlite >/dev/null 2>&1 || need+=(r-cran-jsonlite)
    [ ${#need[@]} = 0 ] && return 0
    log "installing Debian packages: ${need[*]}"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # policy-rc.d keeps the packages' own system services from starting:
    # the stack runs its own instances on its own ports.
    $sudo env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
        apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

install_venv() {
    local stamp=$VENV/.udp-installed want
    want=$(cat "$REPO/requirements.txt" "$REPO/constraints.txt" "$REPO/pyproject.toml" "$REPO/setup.py" | sha256sum | cut -c1-16)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$CKAN" ]; then
        return 0
    fi
    log "installing the Python environment into $VENV (about a minute)"
    [ -x "$PY" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -U pip wheel 'setuptools<82'
    "$VENV/bin/pip" install -q --disable-pip-version-check \
        -c "$REPO/constraints.txt" -r "$REPO/requirements.txt"
    "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -e "$REPO" >"$UDP_STATE/pip-editable.log" 2>&1 \
        || die "pip install -e failed: $(tail -20 "$UDP_STATE/pip-editable.log")"
    "$VENV/bin/pip" check >/dev/null || die "pip check failed: $("$VENV/bin/pip" check)"
    echo "$want" >"$stamp"
}

# Front-end test tools (axe-core), pinned in package.json + package-lock.json,
# installed exactly as locked; skipped while the lock file is unchanged.
install_node_modules() {
    local stamp=$REPO/node_modules/.udp-installed want
    want=$(sha256sum "$REPO/package-lock.json" | cut -c1-16)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
    log "installing the pinned npm packages (npm ci)"
    (cd "$REPO" && npm ci --no-audit --no-fund --loglevel=error >"$UDP_STATE/npm-ci.log" 2>&1) \
        || die "npm ci failed: $(tail -20 "$UDP_STATE/npm-ci.log")"
    echo "$want" >"$stamp"
}

# Leaflet and uPlot, copied from node_modules into the package (setup.py's
# vendor_assets), where the webassets and a built wheel find them.
vendor_assets() {
    (cd "$REPO" && "$VENV/bin/python" setup.py -q vendor_assets) >"$UDP_STATE/vendor-assets.log" 2>&1 \
        || die "vendoring the front-end assets failed: $(tail -20 "$UDP_STATE/vendor-assets.log")"
}

compile_translations() {
    local po mo
    for po in "$REPO"/ckanext/udp/*/i18n/*/LC_MESSAGES/*.po; do
        [ -f "$po" ] || continue
        mo=${po%.po}.mo
        if [ ! -f "$mo" ] || [ "$po" -nt "$mo" ]; then
            "$VENV/bin/pybabel" compile -i "$po" -o "$mo" 2>/dev/null
        fi
    done
}

# --- services --------------------------------------------------------------

start_postgres() {
    local data=$UDP_STATE/pg
    mkdir -p "$RUN" "$LOG"
    if [ "$(id -u)" = 0 ]; then chown postgres "$RUN" "$LOG"; chmod 775 "$RUN"; fi
    if [ ! -f "$data/PG_VERSION" ]; then
        log "creating a PostgreSQL cluster in $data (port $PG_PORT)"
        mkdir -p "$data"
        [ "$(id -u)" = 0 ] && chown postgres "$data"
        as_pg "$PGBIN/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=peer --auth-host=scram-sha-256 >"$LOG/initdb.log"
        cat >>"$data/postgresql.conf" <<EOF
# ckanext-udp local stack
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$RUN'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
max_connections = 200
EOF
    fi
    if as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then return 0; fi
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    as_pg "$PGBIN/pg_ctl" -D "$data" -l "$LOG/postgres.log" -w -t 60 start >/dev/null \
        || die "PostgreSQL did not start: $(tail -5 "$LOG/postgres.log")"
}

start_redis() {
    mkdir -p "$UDP_STATE/redis" "$RUN" "$LOG"
    pid_alive "$RUN/redis.pid" && return 0
    log "starting Redis on 127.0.0.1:$REDIS_PORT"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$UDP_STATE/redis" \
        --daemonize yes --pidfile "$RUN/redis.pid" --logfile "$LOG/redis.log" \
        --save 60 1000 --appendonly no
    wait_port 127.0.0.1 "$REDIS_PORT" 20 Redis
}

start_mosquitto() {
    local dir=$UDP_STATE/mosquitto bin
    bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
    mkdir -p "$dir" "$RUN" "$LOG"
    pid_alive "$RUN/mosquitto.pid" && return 0
    cat >"$dir/mosquitto.conf" <<EOF
# generated by scripts/stack.sh; loopback only, persistent sessions kept on disk
pid_file $RUN/mosquitto.pid
persistence true
persistence_location $dir/
autosave_interval 30
log_dest file $LOG/mosquitto.log
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
max_queued_messages 100000
EOF
    if [ "$(id -u)" = 0 ]; then
        echo "user root" >>"$dir/mosquitto.conf"
    fi
    log "starting Mosquitto on 127.0.0.1:$MQTT_PORT"
    "$bin" -c "$dir/mosquitto.conf" -d 2>>"$LOG/mosquitto.log"
    wait_port 127.0.0.1 "$MQTT_PORT" 20 Mosquitto
}

start_solr() {
    "$REPO/scripts/solr.sh" install
    "$REPO/scripts/solr.sh" home "$("$PY" -c 'import ckan, os; print(os.path.join(os.path.dirname(ckan.__file__), "config", "solr", "schema.xml"))')"
    "$REPO/scripts/solr.sh" start
}

# --- configuration and databases -------------------------------------------

# Secrets and passwords are generated once, kept in the state folder, never in git.
secret() { # name
    local f=$UDP_STATE/secrets/$1
    if [ ! -s "$f" ]; then
        mkdir -p "$UDP_STATE/secrets"
        chmod 700 "$UDP_STATE/secrets"
        "$PY" -c 'import secrets; print(secrets.token_urlsafe(32))' >"$f"
        chmod 600 "$f"
    fi
    cat "$f"
}

write_ini() {
    local pw_ckan pw_ds
    pw_ckan=$(secret db-ckan_default)
    pw_ds=$(secret db-datastore_default)
    mkdir -p "$UDP_STATE/storage"
    cat >"$INI.tmp" <<EOF
# Generated by scripts/stack.sh from config/portal.ini: the local portal's
# addresses and secrets. Do not edit; change config/portal.ini instead.
[DEFAULT]
debug = false

[app:main]
use = config:$REPO/config/portal.ini
ckan.site_url = http://127.0.0.1:$HTTP_PORT
sqlalchemy.url = postgresql://ckan_default:$pw_ckan@127.0.0.1:$PG_PORT/ckan_default
ckan.datastore.write_url = postgresql://ckan_default:$pw_ckan@127.0.0.1:$PG_PORT/datastore_default
ckan.datastore.read_url = postgresql://datastore_default:$pw_ds@127.0.0.1:$PG_PORT/datastore_default
solr_url = http://127.0.0.1:$SOLR_PORT/solr/ckan
ckan.redis.url = redis://127.0.0.1:$REDIS_PORT/0
ckanext.udp.catalog.redis_url = redis://127.0.0.1:$REDIS_PORT/2
ckanext.udp.mqtt.url = mqtt://127.0.0.1:$MQTT_PORT
ckanext.udp.sensors.sources = $REPO/ckanext/udp/sensors/demo/sources.yaml
ckanext.udp.dcatde.shapes_dir = $UDP_SHARED_DIR/dcat-ap-de
ckanext.udp.dcatde.districts_dir = $UDP_SHARED_DIR/karlsruhe
ckanext.udp.sensors.client_id = udp-sensors-demo
ckanext.udp.sensors.pseudonym_secret = $(secret sensors-pseudonym)
ckan.storage_path = $UDP_STATE/storage
ckanext.xloader.jobs_db.uri = postgresql://ckan_default:$pw_ckan@127.0.0.1:$PG_PORT/ckan_default
ckanext.xloader.api_token = $(cat "$UDP_STATE/secrets/xloader-token" 2>/dev/null || echo NOT_SET)
# SECRET_KEY also signs CSRF tokens and API tokens (CKAN's defaults derive from it)
SECRET_KEY = $(secret secret-key)
EOF
    if ! cmp -s "$INI.tmp" "$INI"; then mv "$INI.tmp" "$INI"; else rm "$INI.tmp"; fi
    chmod 600 "$INI"
}

ensure_role() { # name password [login options]
    psql_su -d postgres -v name="$1" -v pw="$2" <<'EOF'
SELECT format('CREATE ROLE %I LOGIN', :'name')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'name') \gexec
ALTER ROLE :"name" WITH LOGIN PASSWORD :'pw';
EOF
}

ensure_db() { # name owner
    psql_su -d postgres -v name="$1" -v owner="$2" <<'EOF'
SELECT format('CREATE DATABASE %I OWNER %I ENCODING ''UTF8'' TEMPLATE template0', :'name', :'owner')
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'name') \gexec
EOF
}

# DBs, roles and DataStore permissions for one CKAN ini (demo or test).
init_databases() { # ini ckan_role ckan_pw ds_role ds_pw ckan_db ds_db
    local ini=$1
    ensure_role "$2" "$3"
    ensure_role "$4" "$5"
    ensure_db "$6" "$2"
    ensure_db "$7" "$2"
    local stamp=$UDP_STATE/run/db-initialised-$6
    local want
    # plugin migrations are part of the stamp: a new one is applied on the next run
    want=$(cat "$ini" "$REPO/config/portal.ini" "$VENV/.udp-installed" \
        "$REPO"/ckanext/udp/migration/*/versions/*.py 2>/dev/null | sha256sum | cut -c1-16)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
    log "initialising databases $6 and $7"
    "$CKAN" -c "$ini" db init >"$LOG/db-init-$6.log" 2>&1 || die "ckan db init failed: $(tail -20 "$LOG/db-init-$6.log")"
    # every plugin's migrations (ckan db init only creates core tables)
    "$CKAN" -c "$ini" db pending-migrations --apply >>"$LOG/db-init-$6.log" 2>&1 \
        || die "plugin migrations failed: $(tail -20 "$LOG/db-init-$6.log")"
    "$CKAN" -c "$ini" datastore set-permissions 2>>"$LOG/db-init-$6.log" | psql_su -d "$7" >/dev/null \
        || die "datastore set-permissions failed"
    echo "$want" >"$stamp"
}

init_demo_databases() {
    init_databases "$INI" ckan_default "$(secret db-ckan_default)" \
        datastore_default "$(secret db-datastore_default)" ckan_default datastore_default
}

# test.ini is committed and complete; its (test-only) passwords are in it.
# With a port offset, an overlay in the state folder points it at this stack.
test_ini() {
    if [ "$OFF" = 0 ]; then echo "$REPO/test.ini"; return; fi
    local ini=$UDP_STATE/test.ini
    cat >"$ini.tmp" <<EOF
# Generated by scripts/stack.sh: test.ini moved to port offset $OFF.
[app:main]
use = config:$REPO/test.ini
sqlalchemy.url = postgresql://ckan_test:ckan_test@127.0.0.1:$PG_PORT/ckan_test
ckan.datastore.write_url = postgresql://ckan_test:ckan_test@127.0.0.1:$PG_PORT/datastore_test
ckan.datastore.read_url = postgresql://datastore_test_ro:datastore_test_ro@127.0.0.1:$PG_PORT/datastore_test
solr_url = http://127.0.0.1:$SOLR_PORT/solr/ckan_test
ckan.redis.url = redis://127.0.0.1:$REDIS_PORT/1
ckanext.udp.catalog.redis_url = redis://127.0.0.1:$REDIS_PORT/3
ckanext.udp.mqtt.url = mqtt://127.0.0.1:$MQTT_PORT
ckan.storage_path = $UDP_STATE/storage-test
ckanext.xloader.jobs_db.uri = postgresql://ckan_test:ckan_test@127.0.0.1:$PG_PORT/ckan_test
EOF
    if ! cmp -s "$ini.tmp" "$ini"; then mv "$ini.tmp" "$ini"; else rm "$ini.tmp"; fi
    echo "$ini"
}

init_test_databases() {
    init_databases "$(test_ini)" ckan_test ckan_test datastore_test_ro datastore_test_ro \
        ckan_test datastore_test
}

ensure_sysadmin() {
    local f=$UDP_STATE/secrets/sysadmin
    [ -s "$f" ] && return 0
    local pw
    pw=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(15))')
    "$CKAN" -c "$INI" user add admin email=admin@udp.invalid password="$pw" fullname="UDP Administrator" \
        >"$LOG/sysadmin.log" 2>&1 || grep -q "already exists\|Already exists\|exists" "$LOG/sysadmin.log" \
        || die "could not create the sysadmin: $(tail -5 "$LOG/sysadmin.log")"
    "$CKAN" -c "$INI" sysadmin add admin >>"$LOG/sysadmin.log" 2>&1
    mkdir -p "$UDP_STATE/secrets"
    printf 'user: admin\npassword: %s\n' "$pw" >"$f"
    chmod 600 "$f"
    log "created sysadmin 'admin' with password: $pw   (kept in $f)"
}

# xloader's jobs call the portal's API with a token of the sysadmin (made once, kept in the secrets)
ensure_xloader_token() {
    local f=$UDP_STATE/secrets/xloader-token
    if [ ! -s "$f" ]; then
        "$CKAN" -c "$INI" user token add admin xloader 2>>"$LOG/sysadmin.log" | tail -1 | tr -d '[:space:]' >"$f.tmp"
        if [ -s "$f.tmp" ]; then mv "$f.tmp" "$f"; chmod 600 "$f"; else rm -f "$f.tmp"; log "no API token for xloader (see $LOG/sysadmin.log)"; fi
    fi
    write_ini
}

# --- web server and worker -------------------------------------------------

start_daemon() { # name pidfile logfile cmd...
    local name=$1 pidf=$2 logf=$3
    shift 3
    pid_alive "$pidf" && return 0
    setsid nohup "$@" >>"$logf" 2>&1 </dev/null &
    echo $! >"$pidf"
    log "started $name (pid $(cat "$pidf"), log $logf)"
}

start_web() {
    # gunicorn with several workers, as production serves it; no debugger
    start_daemon "CKAN web server (gunicorn, ${UDP_WEB_WORKERS:-4} workers)" "$RUN/ckan.pid" "$LOG/ckan.log" \
        env CKAN_INI="$INI" WEB_CONCURRENCY="${UDP_WEB_WORKERS:-4}" \
        "$VENV/bin/gunicorn" -c "$REPO/config/gunicorn.conf.py" --bind "127.0.0.1:$HTTP_PORT"
    start_daemon "CKAN job worker" "$RUN/worker.pid" "$LOG/worker.log" \
        "$CKAN" -c "$INI" jobs worker
    # ckanext-harvest's queues, consumed by loops that survive Redis restarts
    # and idle queues (ckanext/udp/harvest_dashboard/consumers.py)
    start_daemon "harvest gather consumer" "$RUN/harvest-gather.pid" "$LOG/harvest-gather.log" \
        "$CKAN" -c "$INI" udp harvest gather-consumer
    start_daemon "harvest fetch consumer" "$RUN/harvest-fetch.pid" "$LOG/harvest-fetch.log" \
        "$CKAN" -c "$INI" udp harvest fetch-consumer
    start_daemon "sensor consumer (MQTT)" "$RUN/sensors.pid" "$LOG/sensors.log" \
        "$CKAN" -c "$INI" udp sensors consume
    # the transparency portal's outbox (idles while ckanext.udp.transparency.url is unset)
    start_daemon "transparency worker" "$RUN/transparency.pid" "$LOG/transparency.log" \
        "$CKAN" -c "$INI" udp transparency worker
    local i
    for ((i = 0; i < 600; i++)); do
        curl -fsS -o /dev/null "http://127.0.0.1:$HTTP_PORT/api/3/action/status_show" 2>/dev/null && return 0
        pid_alive "$RUN/ckan.pid" || die "the CKAN web server died: $(tail -20 "$LOG/ckan.log")"
        sleep 0.2
    done
    die "CKAN did not answer on port $HTTP_PORT within 120 s: $(tail -20 "$LOG/ckan.log")"
}

stop_pidfile() { # name pidfile
    local pidf=$2 pid i
    [ -f "$pidf" ] || return 0
    pid=$(cat "$pidf")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        log "stopped $1 (pid $pid)"
    fi
    rm -f "$pidf"
}

# --- commands --------------------------------------------------------------

cmd_setup() {
    mkdir -p "$UDP_STATE" "$RUN" "$LOG"
    install_debs
    install_venv
    install_node_modules
    vendor_assets
    compile_translations
    start_postgres
    start_redis
    start_mosquitto
    start_solr
    write_ini
}

cmd_test_setup() {
    cmd_setup
    init_test_databases
}

cmd_lint() {
    cd "$REPO"
    echo "+ ruff check, ruff format --check, mypy"
    "$VENV/bin/ruff" check --quiet ckanext tests bench || die "ruff check failed (make lint)"
    "$VENV/bin/ruff" format --check --quiet ckanext tests bench || die "ruff format --check failed: run .venv/bin/ruff format"
    "$VENV/bin/mypy" || die "mypy failed (make lint)"
}

# The whole suite runs in UDP_SHARDS (2) parallel shards, each against a stack of
# its own: shard 1 on this stack, shard k on a stack with its own state folder
# ($UDP_STATE/shard<k>) and port offset (UDP_PORT_OFFSET + 50*(k-1)), so every stack
# keeps to its own 50 ports. pytest-split picks each shard's tests by the durations
# recorded in .test_durations (refresh: make test-durations, a sharded run that
# writes them back); tests without a recorded duration count as average ones;
# tests/conftest.py keeps every test file in one shard. The venv, node_modules,
# the compiled catalogues and pycsw's venv are made once and shared.
SHARD_STEP=50
DURATIONS=$REPO/.test_durations

shard_env() { # k: the environment of shard k's stack
    if [ "$1" = 1 ]; then
        echo "UDP_STATE=$UDP_STATE" "UDP_PORT_OFFSET=$OFF"
    else
        echo "UDP_STATE=$UDP_STATE/shard$1" "UDP_PORT_OFFSET=$((OFF + SHARD_STEP * ($1 - 1)))"
    fi
}

cmd_test() {
    # PYTEST_ARGS that name test paths replace the default "tests"
    local where=tests a
    for a in "$@"; do case "$a" in tests/*|tests) where= ;; esac; done
    local shards=${UDP_SHARDS:-2}
    if [ -n "$where" ] && [ "$shards" -gt 1 ]; then
        cmd_test_sharded "$shards" "$@"
        return
    fi
    cmd_test_setup
    local ini
    ini=$(test_ini)
    [ "$ini" = "$REPO/test.ini" ] && ini=test.ini
    cd "$REPO"
    # the whole suite starts with lint, format and type checks (make lint); a subset skips them
    [ -n "$where" ] && cmd_lint
    echo "+ pytest --ckan-ini=$ini $where $*"
    exec "$VENV/bin/pytest" --ckan-ini="$ini" $where "$@"
}

cmd_test_sharded() { # shards [pytest args]
    local n=$1 k t0=$SECONDS
    shift
    cmd_test_setup  # shard 1's stack; also the shared venv, node_modules, .mo files
    export UDP_PYCSW_VENV=${UDP_PYCSW_VENV:-$UDP_STATE/pycsw-venv}
    # the other shards' stacks start while lint runs
    local setup_pids=()
    for ((k = 2; k <= n; k++)); do
        mkdir -p "$UDP_STATE/shard$k/log"
        env $(shard_env "$k") "$REPO/scripts/stack.sh" test-setup >"$UDP_STATE/shard$k/log/setup.log" 2>&1 &
        setup_pids+=($!)
    done
    # one pycsw venv for all shards (each shard's records and port are its own)
    "$REPO/scripts/pycsw.sh" install >"$LOG/pycsw-install.log" 2>&1 &
    local pycsw_pid=$! lint_ok=1
    (cmd_lint) || lint_ok=0
    for ((k = 2; k <= n; k++)); do
        wait "${setup_pids[$((k - 2))]}" || die "shard $k's stack did not start: $(tail -20 "$UDP_STATE/shard$k/log/setup.log")"
    done
    wait "$pycsw_pid" || die "pycsw did not install: $(tail -20 "$LOG/pycsw-install.log")"
    [ "$lint_ok" = 1 ] || die "lint failed (make lint)"
    cd "$REPO"
    local pids=() logs=() ini state
    # each shard in a process group of its own (job control): its pytest gets Ctrl-C
    # (background jobs of a script would ignore SIGINT) and the whole shard is stopped
    set -m
    trap 'for p in "${pids[@]}"; do kill -INT -- "-$p" 2>/dev/null || true; done' INT TERM
    for ((k = 1; k <= n; k++)); do
        state=$UDP_STATE
        [ "$k" = 1 ] || state=$UDP_STATE/shard$k
        ini=$(env $(shard_env "$k") "$REPO/scripts/stack.sh" test-ini)
        logs+=("$state/log/pytest-shard$k.log")
        echo "+ [shard $k/$n] $(shard_env "$k") pytest --ckan-ini=$ini tests --splits $n --group $k $*"
        # each shard splits by (a copy of) the committed durations and stores its own beside
        # its log; they are merged afterwards (into .test_durations with UDP_STORE_DURATIONS=1)
        if [ -f "$DURATIONS" ]; then cp "$DURATIONS" "$state/log/durations-shard$k.json"; else echo '{}' >"$state/log/durations-shard$k.json"; fi
        (
            set -o pipefail
            s0=$SECONDS rc=0
            env $(shard_env "$k") UDP_SHARD="$k/$n" "$VENV/bin/pytest" --ckan-ini="$ini" tests \
                --splits "$n" --group "$k" --durations-path "$state/log/durations-shard$k.json" --store-durations "$@" 2>&1 \
                | tee "$state/log/pytest-shard$k.log" | sed -u "s/^/[shard $k] /" || rc=$?
            printf '\nexit status %s after %s s\n' "$rc" "$((SECONDS - s0))" >>"$state/log/pytest-shard$k.log"
            echo "[shard $k] exit status $rc after $((SECONDS - s0)) s"
            exit $rc
        ) &
        pids+=($!)
    done
    local status=0 rc empty=0
    for ((k = 1; k <= n; k++)); do
        rc=0
        # wait again while it runs: a trapped signal interrupts wait
        while wait "${pids[$((k - 1))]}" || rc=$?; kill -0 "${pids[$((k - 1))]}" 2>/dev/null; do rc=0; done
        # 5: pytest found no test for this shard (a -k that matches few tests)
        if [ "$rc" = 5 ]; then empty=$((empty + 1)); elif [ "$rc" != 0 ]; then status=1; fi
    done
    [ "$empty" = "$n" ] && status=5
    trap - INT TERM
    set +m
    echo
    echo "=== summary of $n shards (wall time $((SECONDS - t0)) s; logs kept) ==="
    for ((k = 1; k <= n; k++)); do
        printf '[shard %s] %s: %s; %s\n' "$k" "${logs[$((k - 1))]}" \
            "$(grep -E '^=+ .*(passed|failed|error|deselected|no tests ran).* in ' "${logs[$((k - 1))]}" | tail -1 | tr -d '=' | sed 's/^ *//;s/ *$//')" \
            "$(tail -1 "${logs[$((k - 1))]}")"
    done
    # the failed tests by name, last, so that a CI log's tail names them
    for ((k = 1; k <= n; k++)); do
        grep -E '^(FAILED|ERROR) ' "${logs[$((k - 1))]}" | head -20 | cut -c1-400 | sed "s/^/[shard $k] /" || true
    done
    local files=()
    for ((k = 1; k <= n; k++)); do files+=("$(dirname "${logs[$((k - 1))]}")/durations-shard$k.json"); done
    merge_durations "$UDP_STATE/log/test_durations.json" "${files[@]}"
    if [ "${UDP_STORE_DURATIONS:-0}" = 1 ] && [ "$status" = 0 ]; then
        cp "$UDP_STATE/log/test_durations.json" "$DURATIONS"
        echo "stored the durations of this run in $DURATIONS"
    fi
    [ "$status" = 0 ] && echo "all shards passed" || echo "FAILED: at least one shard failed (see its log above)"
    return "$status"
}

# The committed durations updated with what the shards measured (each shard's file
# holds the committed ones plus its own tests' new durations).
merge_durations() { # out shard-files...
    "$PY" - "$DURATIONS" "$@" <<'PYEOF'
import json, os, sys
base_path, out, shards = sys.argv[1], sys.argv[2], sys.argv[3:]
base = json.load(open(base_path)) if os.path.exists(base_path) else {}
merged = dict(base)
for path in shards:
    for test, seconds in json.load(open(path)).items():
        if base.get(test) != seconds:
            merged[test] = seconds
with open(out, "w") as f:
    json.dump(merged, f, sort_keys=True, indent=4)
    f.write("\n")
PYEOF
}

publish_demo_uplinks() {
    # two days of demo uplinks for the Friedrichsplatz sensors, once the consumer has
    # subscribed: only those the series does not hold yet, and demo-publish waits until
    # the consumer has stored them. `make run` fails unless the consumer runs and stores.
    local i
    for ((i = 0; i < 600; i++)); do
        pid_alive "$RUN/sensors.pid" || die "the sensor consumer died: $(tail -20 "$LOG/sensors.log")"
        grep -q "^subscribed" "$LOG/sensors.log" 2>/dev/null && break
        sleep 0.2
    done
    grep -q "^subscribed" "$LOG/sensors.log" 2>/dev/null \
        || die "the sensor consumer did not subscribe within 120 s: $(tail -20 "$LOG/sensors.log")"
    "$CKAN" -c "$INI" udp sensors demo-publish --days 2 >>"$LOG/sensors-demo.log" 2>&1 \
        || die "the demo uplinks were not stored: $(tail -5 "$LOG/sensors-demo.log")"
    tail -2 "$LOG/sensors-demo.log" | sed 's/^/[udp] /'
    pid_alive "$RUN/sensors.pid" || die "the sensor consumer died: $(tail -20 "$LOG/sensors.log")"
}

cmd_run() {
    local t0=$SECONDS
    cmd_setup
    init_demo_databases
    ensure_sysadmin
    ensure_xloader_token
    "$CKAN" -c "$INI" udp demo load || die "loading the demo data failed"
    "$CKAN" -c "$INI" udp sozialatlas demo || die "loading the Sozialatlas demo failed"
    "$CKAN" -c "$INI" udp twin demo || die "loading the 3D climate twin demo failed"
    start_web
    publish_demo_uplinks
    "$CKAN" -c "$INI" udp klima demo || die "the Klimadashboard's demo tiles failed"
    cat <<EOF

  Urbane Datenplattform Karlsruhe is up ($((SECONDS - t0)) s):
    Portal        http://127.0.0.1:$HTTP_PORT
    Action API    http://127.0.0.1:$HTTP_PORT/api/3/action/package_search?q=B%C3%A4ume
    Sysadmin      $(sed -n 's/^user: //p' "$UDP_STATE/secrets/sysadmin"), password in $UDP_STATE/secrets/sysadmin
    Solr          http://127.0.0.1:$SOLR_PORT/solr/ckan/select?q=*:*
    PostgreSQL    127.0.0.1:$PG_PORT (socket in $RUN)
    Redis         127.0.0.1:$REDIS_PORT
    MQTT broker   127.0.0.1:$MQTT_PORT (sensor uplinks: v3/bodenfeuchte@karlsruhe/devices/+/up)
    Config        $INI (generated from config/portal.ini)
    Logs          $LOG/
  Stop everything with: make stop
EOF
}

cmd_stop() {
    stop_pidfile "CKAN web server" "$RUN/ckan.pid"
    stop_pidfile "CKAN job worker" "$RUN/worker.pid"
    stop_pidfile "harvest gather consumer" "$RUN/harvest-gather.pid"
    stop_pidfile "harvest fetch consumer" "$RUN/harvest-fetch.pid"
    stop_pidfile "sensor consumer" "$RUN/sensors.pid"
    stop_pidfile "transparency worker" "$RUN/transparency.pid"
    stop_pidfile "second CKAN" "$RUN/second-ckan.pid"  # scripts/second_ckan.sh (tests)
    stop_pidfile pycsw "$RUN/pycsw.pid"                # scripts/pycsw.sh (tests)
    stop_pidfile MapServer "$RUN/mapserver.pid"        # scripts/mapserver.py (tests)
    [ -x "$REPO/scripts/solr.sh" ] && "$REPO/scripts/solr.sh" stop || true
    [ -x "$REPO/scripts/cluster.sh" ] && "$REPO/scripts/cluster.sh" stop || true  # SolrCloud (make cluster)
    stop_pidfile Mosquitto "$RUN/mosquitto.pid"
    stop_pidfile Redis "$RUN/redis.pid"
    if [ -f "$UDP_STATE/pg/postmaster.pid" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$UDP_STATE/pg" -m fast -w stop >/dev/null 2>&1 && log "stopped PostgreSQL" || true
    fi
    # the stacks of the test shards (cmd_test_sharded)
    local d k
    for d in "$UDP_STATE"/shard[0-9]*; do
        [ -d "$d" ] || continue
        k=${d##*/shard}
        env $(shard_env "$k") "$REPO/scripts/stack.sh" stop
    done
}

cmd_clean() {
    cmd_stop
    rm -rf "$UDP_STATE"
    log "removed $UDP_STATE"
}

cmd_status() {
    local n
    for n in ckan worker harvest-gather harvest-fetch sensors transparency second-ckan pycsw solr mosquitto redis; do
        if pid_alive "$RUN/$n.pid"; then echo "$n: running (pid $(cat "$RUN/$n.pid"))"; else echo "$n: stopped"; fi
    done
    if [ -f "$UDP_STATE/pg/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$UDP_STATE/pg" status >/dev/null 2>&1; then
        echo "postgres: running (port $PG_PORT)"
    else
        echo "postgres: stopped"
    fi
}

# When sourced (by tests or other scripts) only define the functions.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    case "${1:-}" in
        setup) cmd_setup ;;
        venv) mkdir -p "$UDP_STATE"; install_venv; install_node_modules; vendor_assets; compile_translations ;;
        test-setup) cmd_test_setup ;;
        test-ini) test_ini ;;  # the test ini of this stack (for benchmarks that write)
        test) shift; cmd_test "$@" ;;
        test-durations) shift; UDP_STORE_DURATIONS=1 cmd_test "$@" ;;  # the whole suite, recording durations
        lint) install_venv; cmd_lint ;;
        run) cmd_run ;;
        stop) cmd_stop ;;
        clean) cmd_clean ;;
        status) cmd_status ;;
        psql) shift; psql_su "$@" ;;  # superuser psql on the stack's cluster (maintenance, benchmarks)
        *) echo "usage: $0 setup|test-setup|test-ini|test [pytest args]|lint|run|stop|clean|status|psql [args]" >&2; exit 2 ;;
    esac
fi
