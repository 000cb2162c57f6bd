#!/usr/bin/env bash
# SolrCloud on loopback for ckanext-udp: one ZooKeeper and three Solr 9 nodes in
# cloud mode, from the same Maven artefacts as the single-core Solr (solr/pom.xml,
# scripts/solr.sh install), with CKAN's schema and the German analysis
# (solr/make_schema.py) uploaded as the configset "ckan".
#
#   scripts/cluster.sh start          ZooKeeper + 3 nodes, configset, collections; waits until active
#   scripts/cluster.sh stop           SIGTERM the nodes, then ZooKeeper (only the PIDs this script started)
#   scripts/cluster.sh status         exit 0 when every node is live and every replica active
#   scripts/cluster.sh url [COLL]     solr_url for CKAN (node 1), e.g. .../solr/ckan
#   scripts/cluster.sh urls [COLL]    the same on every node, one a line
#   scripts/cluster.sh pid K          PID of node K (1-3)
#   scripts/cluster.sh start-node K   (re)start node K alone (after a failover test)
#   scripts/cluster.sh ini            write $UDP_STATE/cluster.ini: ckan.ini with solr_url on the cluster
#   scripts/cluster.sh replica-start  a PostgreSQL streaming replica of the stack's cluster (pg_basebackup),
#                                     hot standby on 127.0.0.1:9000+UDP_PORT_OFFSET+5, data in $UDP_STATE/pg-replica
#   scripts/cluster.sh replica-stop   stop it (pg_ctl, fast); replica-port prints its port
#   scripts/cluster.sh replica-replay pause|resume   hold/resume its WAL replay (tests: reads are the replica's)
#
# Collections ($CLUSTER_COLLECTIONS, default "ckan ckan_test"): 2 shards x 2 replicas
# each (CLUSTER_SHARDS, CLUSTER_REPLICAS), spread over the 3 nodes by Solr.
# Ports (loopback): ZooKeeper 9000+UDP_PORT_OFFSET, node K 9000+UDP_PORT_OFFSET+K: apart from
# every stack's single Solr (8983+offset) and from the other stacks' offsets (multiples of 50).
# Memory: CLUSTER_HEAP per node (384m), ZK_HEAP (64m).
# SOLR_ZK_CLIENT_TIMEOUT (10000 ms): how long ZooKeeper keeps a node that died without
# closing its session in live_nodes (Solr's default, for production, is 30000).
# State: $UDP_STATE/cluster/{zk,node1..3,conf}, run/cluster-*.pid, log/cluster-*.log.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${UDP_STATE:-$REPO/.udp}"
CL="$STATE/cluster"
RUN="$STATE/run"
LOG="$STATE/log"
OFF="${UDP_PORT_OFFSET:-0}"
ZK_PORT=$((9000 + OFF))
ZK_HOST="127.0.0.1:$ZK_PORT"
NODES=(1 2 3)
HEAP="${CLUSTER_HEAP:-384m}"
ZK_HEAP="${ZK_HEAP:-64m}"
ZK_TIMEOUT="${SOLR_ZK_CLIENT_TIMEOUT:-10000}"
COLLECTIONS=(${CLUSTER_COLLECTIONS:-ckan ckan_test})
SHARDS="${CLUSTER_SHARDS:-2}"
REPLICAS="${CLUSTER_REPLICAS:-2}"
START_TIMEOUT="${CLUSTER_START_TIMEOUT:-240}"
JAVA="${JAVA:-java}"
CP_FILE="$STATE/solr/classpath.txt"
CLASSES="$CL/classes"
LAUNCHER="$REPO/solr/UdpSolrCloud.java"

say() { echo "cluster.sh: $*"; }
die() { echo "cluster.sh: $*" >&2; exit 1; }

node_port() { echo $((9000 + OFF + $1)); }
node_url() { echo "http://127.0.0.1:$(node_port "$1")/solr"; }

# --- processes (only our own: PID file + command line names our state dir) ---

proc_alive() {
  local pid="$1" stat
  kill -0 "$pid" 2>/dev/null || return 1
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [ "${stat:0:1}" != Z ]
}

ours() { # pid marker: alive and its command line holds marker
  proc_alive "$1" || return 1
  tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

zk_marker() { echo "ZooKeeperServerMain $CL/zk/zoo.cfg"; }
node_marker() { echo "UdpSolrCloud node $CL/node$1 "; }

read_pid() { # pidfile marker -> pid when ours and alive
  local pid
  [ -f "$1" ] || return 1
  pid="$(cat "$1" 2>/dev/null)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  ours "$pid" "$2" || return 1
  echo "$pid"
}

zk_pid() { read_pid "$RUN/cluster-zk.pid" "$(zk_marker)"; }
node_pid() { read_pid "$RUN/cluster-node$1.pid" "$(node_marker "$1")"; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop_pid() { # name pid: SIGTERM, SIGKILL after 60 s
  local pid="$2" i
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 600); do proc_alive "$pid" || break; sleep 0.1; done
  if proc_alive "$pid"; then
    say "$1 (pid $pid) ignored SIGTERM for 60 s: SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  say "stopped $1 (pid $pid)"
}

# --- install -----------------------------------------------------------------

install() {
  "$REPO/scripts/solr.sh" install >/dev/null
  if [ ! -f "$CLASSES/UdpSolrCloud.class" ] || [ "$LAUNCHER" -nt "$CLASSES/UdpSolrCloud.class" ] \
      || [ "$CP_FILE" -nt "$CLASSES/UdpSolrCloud.class" ]; then
    local tmpd="$CLASSES.tmp.$$"
    rm -rf "$tmpd"
    mkdir -p "$tmpd"
    javac -nowarn -encoding UTF-8 -cp "$(cat "$CP_FILE")" -d "$tmpd" "$LAUNCHER" >&2 \
      || { rm -rf "$tmpd"; die "javac failed on solr/UdpSolrCloud.java"; }
    rm -rf "$CLASSES"
    mv "$tmpd" "$CLASSES"
  fi
}

ckan_schema() {
  if [ -n "${CKAN_SOLR_SCHEMA:-}" ]; then echo "$CKAN_SOLR_SCHEMA"; return; fi
  local f
  for f in "$REPO"/.venv/lib/python3*/site-packages/ckan/config/solr/schema.xml; do
    [ -f "$f" ] && { echo "$f"; return; }
  done
  die "no CKAN schema.xml (install the venv first: make setup)"
}

# The configset: exactly what scripts/solr.sh home writes into a core's conf/.
write_conf() {
  local new="$CL/conf.new.$$"
  rm -rf "$new"
  mkdir -p "$new"
  cp -f "$REPO/solr/solrconfig.xml" "$new/solrconfig.xml"
  python3 "$REPO/solr/make_schema.py" --ckan-schema "$(ckan_schema)" --out "$new" \
    --classpath-file "$CP_FILE" >/dev/null || { rm -rf "$new"; die "make_schema.py failed"; }
  if diff -rq "$new" "$CL/conf" >/dev/null 2>&1; then
    rm -rf "$new"
    return 1  # unchanged
  fi
  rm -rf "$CL/conf"
  mv "$new" "$CL/conf"
}

java_cp() { echo "$CLASSES:$(cat "$CP_FILE")"; }

# --- ZooKeeper ---------------------------------------------------------------

zk_ok() { # "ruok" -> "imok"
  local answer
  answer="$( (exec 3<>"/dev/tcp/127.0.0.1/$ZK_PORT" && printf ruok >&3 && timeout 5 cat <&3) 2>/dev/null)" || true
  [ "$answer" = imok ]
}

start_zk() {
  if zk_pid >/dev/null; then return 0; fi
  port_busy "$ZK_PORT" && die "port $ZK_PORT (ZooKeeper) is in use by another process"
  mkdir -p "$CL/zk/data" "$RUN" "$LOG"
  cat > "$CL/zk/zoo.cfg" <<EOF
tickTime=1000
initLimit=10
syncLimit=5
dataDir=$CL/zk/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
maxClientCnxns=200
minSessionTimeout=2000
maxSessionTimeout=60000
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr
autopurge.purgeInterval=1
EOF
  echo "=== $(date '+%F %T') cluster.sh: ZooKeeper on $ZK_HOST" >> "$LOG/cluster-zk.log"
  # shellcheck disable=SC2046
  setsid nohup "$JAVA" -Xms32m -Xmx"$ZK_HEAP" -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError \
    -Dzookeeper.admin.enableServer=false -Dzookeeper.jmx.log4j.disable=true \
    -Dlog4j2.configurationFile="$REPO/solr/log4j2.xml" -Dudp.solr.log="$LOG/cluster-zk.log" \
    -cp "$(java_cp)" org.apache.zookeeper.server.ZooKeeperServerMain "$CL/zk/zoo.cfg" \
    >> "$LOG/cluster-zk.log" 2>&1 < /dev/null 8>&- 9>&- &
  echo $! > "$RUN/cluster-zk.pid"
  local i
  for i in $(seq 1 300); do
    zk_ok && { say "ZooKeeper ready on $ZK_HOST (pid $(cat "$RUN/cluster-zk.pid"))"; return 0; }
    proc_alive "$(cat "$RUN/cluster-zk.pid")" || break
    sleep 0.2
  done
  tail -30 "$LOG/cluster-zk.log" >&2
  die "ZooKeeper did not start (log: $LOG/cluster-zk.log)"
}

# --- Solr nodes ----------------------------------------------------------------

launch_node() { # k: start node k in the background (no wait)
  local k="$1" port home
  port="$(node_port "$k")"
  home="$CL/node$k"
  if node_pid "$k" >/dev/null; then return 0; fi
  port_busy "$port" && die "port $port (Solr node $k) is in use by another process"
  mkdir -p "$home" "$RUN" "$LOG"
  cp -f "$REPO/solr/cloud/solr.xml" "$home/solr.xml"
  echo "=== $(date '+%F %T') cluster.sh: node $k on port $port" >> "$LOG/cluster-node$k.log"
  # shellcheck disable=SC2086
  setsid nohup "$JAVA" -Xms64m -Xmx"$HEAP" -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError \
    -Dfile.encoding=UTF-8 -DzkHost="$ZK_HOST" -DhostPort="$port" \
    -Dsolr.zkclienttimeout="$ZK_TIMEOUT" \
    -Dlog4j2.configurationFile="$REPO/solr/log4j2.xml" -Dudp.solr.log="$LOG/cluster-node$k.log" \
    -Dsolr.log.dir="$LOG" ${SOLR_JAVA_OPTS:-} \
    -cp "$(java_cp)" UdpSolrCloud node "$home" "$port" \
    >> "$LOG/cluster-node$k.log" 2>&1 < /dev/null 8>&- 9>&- &
  echo $! > "$RUN/cluster-node$k.pid"
}

live_nodes() { # the live_nodes of the cluster as node 1..3 sees it (first that answers)
  local k
  for k in "${NODES[@]}"; do
    curl -s -m 10 "$(node_url "$k")/admin/collections?action=CLUSTERSTATUS&wt=json" 2>/dev/null \
      | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["cluster"]["live_nodes"]))' \
        2>/dev/null && return 0
  done
  return 1
}

wait_nodes() { # k...: wait until each is in live_nodes
  local t0 k live missing
  t0="$(date +%s)"
  while :; do
    missing=()
    live=" $(live_nodes || true) "
    for k in "$@"; do
      node_pid "$k" >/dev/null || { tail -40 "$LOG/cluster-node$k.log" >&2; die "node $k exited during start-up"; }
      [[ "$live" == *" 127.0.0.1:$(node_port "$k")_solr "* ]] || missing+=("$k")
    done
    [ "${#missing[@]}" = 0 ] && return 0
    [ $(($(date +%s) - t0)) -ge "$START_TIMEOUT" ] && die "nodes ${missing[*]} not live after ${START_TIMEOUT}s"
    sleep 0.5
  done
}

# --- collections ---------------------------------------------------------------

collections_api() { # query-string -> JSON on stdout; fails on a Solr error
  local out
  out="$(curl -s -m 180 "$(node_url 1)/admin/collections?wt=json&$1")" || return 1
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(1 if d.get("error") or d.get("failure") or d.get("responseHeader",{}).get("status") else 0)' "$out" \
    || { echo "$out" >&2; return 1; }
  echo "$out"
}

collection_exists() {
  collections_api "action=LIST" | python3 -c 'import json,sys; sys.exit(0 if sys.argv[1] in json.load(sys.stdin)["collections"] else 1)' "$1"
}

# every replica of every collection active and on a live node
all_active() {
  curl -s -m 10 "$(node_url "${1:-1}")/admin/collections?action=CLUSTERSTATUS&wt=json" 2>/dev/null | python3 -c '
import json, sys
want = sys.argv[1].split()
c = json.load(sys.stdin)["cluster"]
live = set(c["live_nodes"])
for name in want:
    col = c["collections"].get(name)
    if not col:
        sys.exit(1)
    for shard in col["shards"].values():
        for r in shard["replicas"].values():
            if r["state"] != "active" or r["node_name"] not in live:
                sys.exit(1)
' "${COLLECTIONS[*]}" 2>/dev/null
}

ensure_collections() { # conf_changed(0/1)
  local name
  for name in "${COLLECTIONS[@]}"; do
    if collection_exists "$name"; then
      if [ "$1" = 1 ]; then
        collections_api "action=RELOAD&name=$name" >/dev/null || die "reload of $name failed"
        say "collection $name reloaded (configset changed)"
      fi
    else
      collections_api "action=CREATE&name=$name&numShards=$SHARDS&replicationFactor=$REPLICAS&collection.configName=ckan&waitForFinalState=true" >/dev/null \
        || die "could not create collection $name (log: $LOG/cluster-node1.log)"
      say "collection $name created: $SHARDS shards x $REPLICAS replicas"
    fi
  done
  local t0
  t0="$(date +%s)"
  until all_active; do
    [ $(($(date +%s) - t0)) -ge "$START_TIMEOUT" ] && die "replicas not active after ${START_TIMEOUT}s"
    sleep 0.5
  done
}

# --- commands ------------------------------------------------------------------

cmd_start() {
  local t0 changed=0 k
  t0="$(date +%s%N)"
  install
  mkdir -p "$CL"
  write_conf && changed=1
  start_zk
  "$JAVA" -Xmx128m -Dlog4j2.configurationFile="$REPO/solr/log4j2.xml" -Dudp.solr.log="$LOG/cluster-zk.log" \
    -cp "$(java_cp)" UdpSolrCloud upconfig "$ZK_HOST" "$CL/conf" ckan >/dev/null \
    || die "configset upload failed"
  for k in "${NODES[@]}"; do launch_node "$k"; done
  wait_nodes "${NODES[@]}"
  ensure_collections "$changed"
  say "ready in $((($(date +%s%N) - t0) / 1000000)) ms: nodes $(for k in "${NODES[@]}"; do printf '%s ' "$(node_port "$k")"; done)(ZooKeeper $ZK_PORT), collections ${COLLECTIONS[*]}"
}

cmd_start_node() {
  local k="$1"
  install
  launch_node "$k"
  wait_nodes "$k"
  local t0
  t0="$(date +%s)"
  until all_active "$k"; do
    [ $(($(date +%s) - t0)) -ge "$START_TIMEOUT" ] && die "replicas not active after ${START_TIMEOUT}s"
    sleep 0.5
  done
  say "node $k live (pid $(node_pid "$k")), every replica active"
}

cmd_stop() {
  local k pid pids=()
  for k in "${NODES[@]}"; do
    if pid="$(node_pid "$k")"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$k:$pid")
    fi
    [ -n "${pid:-}" ] || rm -f "$RUN/cluster-node$k.pid"
    pid=
  done
  local kp
  for kp in "${pids[@]}"; do stop_pid "Solr node ${kp%%:*}" "${kp#*:}"; rm -f "$RUN/cluster-node${kp%%:*}.pid"; done
  if pid="$(zk_pid)"; then stop_pid ZooKeeper "$pid"; fi
  rm -f "$RUN/cluster-zk.pid"
  cmd_replica_stop >/dev/null
}

cmd_status() {
  local k rc=0
  if zk_ok; then echo "zookeeper: running ($ZK_HOST)"; else echo "zookeeper: stopped"; rc=3; fi
  for k in "${NODES[@]}"; do
    if node_pid "$k" >/dev/null; then echo "node$k: running (pid $(node_pid "$k"), $(node_url "$k"))"
    else echo "node$k: stopped"; rc=3; fi
  done
  if [ "$rc" = 0 ] && ! all_active; then echo "collections: not all replicas active"; rc=1; fi
  return "$rc"
}

cmd_ini() {
  local ini="$STATE/ckan.ini"
  [ -f "$ini" ] || die "no $ini (make setup first)"
  cat > "$STATE/cluster.ini" <<EOF
# ckan.ini with the search index on the SolrCloud collection (scripts/cluster.sh ini)
[app:main]
use = config:ckan.ini
solr_url = $(node_url 1)/ckan
EOF
  echo "$STATE/cluster.ini"
}

# --- PostgreSQL streaming replica ------------------------------------------------

PGBIN="${UDP_PGBIN:-/usr/lib/postgresql/15/bin}"
PG_PORT=$((5433 + OFF))
REPLICA_PORT=$((9000 + OFF + 5))
REPLICA="$STATE/pg-replica"

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

replica_running() { [ -f "$REPLICA/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$REPLICA" status >/dev/null 2>&1; }

cmd_replica_start() {
  replica_running && { say "replica running on 127.0.0.1:$REPLICA_PORT"; return 0; }
  [ -f "$STATE/pg/PG_VERSION" ] || die "no primary in $STATE/pg (make setup first)"
  if [ ! -f "$REPLICA/PG_VERSION" ]; then
    rm -rf "$REPLICA"
    mkdir -p "$REPLICA"
    [ "$(id -u)" = 0 ] && chown postgres "$REPLICA"
    chmod 700 "$REPLICA"
    # -R: standby.signal + primary_conninfo; -X stream: the WAL of the copy itself; replication
    # over the primary's unix socket as the postgres OS user (initdb's "local replication all peer")
    as_pg "$PGBIN/pg_basebackup" -h "$RUN" -p "$PG_PORT" -U postgres -D "$REPLICA" -R -X stream -c fast \
      >"$LOG/pg-replica-basebackup.log" 2>&1 || die "pg_basebackup failed: $(tail -5 "$LOG/pg-replica-basebackup.log")"
    printf '# streaming replica (scripts/cluster.sh replica-start)\nport = %s\nhot_standby = on\n' \
      "$REPLICA_PORT" >> "$REPLICA/postgresql.conf"
    say "replica copied from 127.0.0.1:$PG_PORT by pg_basebackup"
  fi
  as_pg "$PGBIN/pg_ctl" -D "$REPLICA" -l "$LOG/pg-replica.log" -w -t 120 start >/dev/null \
    || die "replica did not start: $(tail -5 "$LOG/pg-replica.log")"
  say "replica streaming on 127.0.0.1:$REPLICA_PORT (hot standby, read-only)"
}

cmd_replica_stop() {
  replica_running || { say "replica not running"; return 0; }
  as_pg "$PGBIN/pg_ctl" -D "$REPLICA" -m fast -w stop >/dev/null && say "replica stopped"
}

lock() {
  mkdir -p "$RUN"
  exec 8> "$RUN/cluster.lock"
  flock -w 600 8 || die "another cluster.sh holds $RUN/cluster.lock"
}

case "${1:-}" in
  start|stop|start-node) lock ;;
esac

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  url) echo "$(node_url 1)${2:+/$2}" ;;
  urls) for k in "${NODES[@]}"; do echo "$(node_url "$k")${2:+/$2}"; done ;;
  pid) node_pid "${2:?node number}" ;;
  zk-pid) zk_pid ;;
  start-node) cmd_start_node "${2:?node number}" ;;
  ini) cmd_ini ;;
  replica-start) cmd_replica_start ;;
  replica-stop) cmd_replica_stop ;;
  replica-port) echo "$REPLICA_PORT" ;;
  replica-replay)
    case "${2:-}" in pause|resume) ;; *) die "replica-replay pause|resume" ;; esac
    as_pg "$PGBIN/psql" -X -q -At -h "$RUN" -p "$REPLICA_PORT" -U postgres -d postgres \
      -c "SELECT pg_wal_replay_$2()" >/dev/null
    # a pause is only requested at first: wait until replay has really stopped
    if [ "$2" = pause ]; then
      for _ in $(seq 1 300); do
        [ "$(as_pg "$PGBIN/psql" -X -q -At -h "$RUN" -p "$REPLICA_PORT" -U postgres -d postgres \
          -c "SELECT pg_get_wal_replay_pause_state()")" = paused ] && break
        sleep 0.1
      done
    fi ;;
  *) sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
