#!/usr/bin/env bash
# Local Apache Solr 9 for ckanext-udp, built from Maven Central jars.
#
#   scripts/solr.sh install              resolve the jars (solr/pom.xml) -> classpath.txt
#   scripts/solr.sh home [SCHEMA.xml]    (re)write the solr home: cores ckan, ckan_test
#   scripts/solr.sh start                start in the background, wait until ready
#   scripts/solr.sh stop                 stop (SIGTERM, then SIGKILL after 60 s)
#   scripts/solr.sh restart              stop + start
#   scripts/solr.sh status               exit 0 ready, 1 running but not ready, 3 stopped
#   scripts/solr.sh url [CORE]           print the base URL (of CORE) for solr_url
#
# SCHEMA.xml is CKAN's own schema, e.g.
#   .venv/lib/python3.11/site-packages/ckan/config/solr/schema.xml
# (default: $CKAN_SOLR_SCHEMA, else that file in the repo's .venv).
# Every subcommand is idempotent. State lives in ${UDP_STATE:-<repo>/.udp}:
#   solr/classpath.txt, solr/classes/, solr/home/ (core data kept across `home`),
#   run/solr.pid, run/solr.port, log/solr.log
# Environment: SOLR_PORT (8983), SOLR_HEAP (512m), SOLR_START_TIMEOUT (180),
#   JAVA (java), MVN (mvn), SOLR_JAVA_OPTS (extra JVM options).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${UDP_STATE:-$REPO/.udp}"
SOLR_STATE="$STATE/solr"
CP_FILE="$SOLR_STATE/classpath.txt"
CLASSES="$SOLR_STATE/classes"
HOME_DIR="$SOLR_STATE/home"
PID_FILE="$STATE/run/solr.pid"
PORT_FILE="$STATE/run/solr.port"
LOG_DIR="$STATE/log"
LOG_FILE="$LOG_DIR/solr.log"
POM="$REPO/solr/pom.xml"
LAUNCHER="$REPO/solr/UdpSolr.java"
# SOLR_PORT, else the port of the running instance, else 8983.
PORT="${SOLR_PORT:-$(cat "$PORT_FILE" 2>/dev/null || true)}"
PORT="${PORT:-8983}"
HEAP="${SOLR_HEAP:-512m}"
START_TIMEOUT="${SOLR_START_TIMEOUT:-180}"
JAVA="${JAVA:-java}"
MVN="${MVN:-mvn}"
CORES=(ckan ckan_test)

say() { echo "solr.sh: $*"; }
die() { echo "solr.sh: $*" >&2; exit 1; }

# --- install -----------------------------------------------------------------

classpath_fresh() {
  [ -s "$CP_FILE" ] && [ "$CP_FILE" -nt "$POM" ] || return 1
  local jar
  local IFS=:
  for jar in $(cat "$CP_FILE"); do
    [ -f "$jar" ] || return 1
  done
}

launcher_fresh() {
  [ -f "$CLASSES/UdpSolr.class" ] && [ "$CLASSES/UdpSolr.class" -nt "$LAUNCHER" ] \
    && [ "$CLASSES/UdpSolr.class" -nt "$CP_FILE" ]
}

cmd_install() {
  mkdir -p "$SOLR_STATE"
  if classpath_fresh; then
    say "classpath up to date ($CP_FILE)"
  else
    command -v "$MVN" >/dev/null || die "maven ($MVN) not found: apt-get install maven"
    say "resolving Solr jars with maven (solr/pom.xml) ..."
    local tmp="$CP_FILE.tmp.$$"
    if ! "$MVN" -q -B -f "$POM" dependency:build-classpath \
        -Dmdep.outputFile="$tmp" -Dmdep.includeScope=runtime > "$SOLR_STATE/mvn.log" 2>&1; then
      rm -f "$tmp"
      cat "$SOLR_STATE/mvn.log" >&2
      die "maven could not resolve solr/pom.xml (output above, also in $SOLR_STATE/mvn.log)"
    fi
    mv -f "$tmp" "$CP_FILE"
    classpath_fresh || die "classpath incomplete after maven: $CP_FILE"
    say "classpath written: $(tr ':' '\n' < "$CP_FILE" | wc -l) jars"
  fi
  # The launcher is compiled once (javac) rather than run as a source file:
  # saves the in-memory compile on every start.
  if ! launcher_fresh; then
    command -v javac >/dev/null || die "javac not found (need a JDK 17+)"
    local tmpd="$CLASSES.tmp.$$"
    rm -rf "$tmpd"
    mkdir -p "$tmpd"
    javac -nowarn -encoding UTF-8 -cp "$(cat "$CP_FILE")" -d "$tmpd" "$LAUNCHER" >&2 \
      || { rm -rf "$tmpd"; die "javac failed on solr/UdpSolr.java"; }
    rm -rf "$CLASSES"
    mv "$tmpd" "$CLASSES"
    say "launcher compiled ($CLASSES)"
  fi
}

# --- home --------------------------------------------------------------------

default_schema() {
  if [ -n "${CKAN_SOLR_SCHEMA:-}" ]; then
    echo "$CKAN_SOLR_SCHEMA"
    return
  fi
  local f
  for f in "$REPO"/.venv/lib/python3*/site-packages/ckan/config/solr/schema.xml; do
    [ -f "$f" ] && { echo "$f"; return; }
  done
  return 1
}

cmd_home() {
  local schema="${1:-}"
  if [ -z "$schema" ]; then
    schema="$(default_schema)" \
      || die "usage: solr.sh home <ckan>/config/solr/schema.xml (no ckan in $REPO/.venv)"
  fi
  [ -f "$schema" ] || die "CKAN schema not found: $schema"
  cmd_install >/dev/null
  mkdir -p "$HOME_DIR"
  cp -f "$REPO/solr/solr.xml" "$HOME_DIR/solr.xml"
  local core conf changed=()
  for core in "${CORES[@]}"; do
    mkdir -p "$HOME_DIR/$core/data"
    printf 'name=%s\nconfig=solrconfig.xml\nschema=schema.xml\ndataDir=data\n' "$core" \
      > "$HOME_DIR/$core/core.properties"
    # conf/ is generated anew each time, then swapped in; data/ is kept.
    conf="$HOME_DIR/$core/conf.new.$$"
    rm -rf "$conf"
    mkdir -p "$conf"
    cp -f "$REPO/solr/solrconfig.xml" "$conf/solrconfig.xml"
    python3 "$REPO/solr/make_schema.py" --ckan-schema "$schema" --out "$conf" \
      --classpath-file "$CP_FILE" || { rm -rf "$conf"; die "make_schema.py failed"; }
    if diff -rq "$conf" "$HOME_DIR/$core/conf" >/dev/null 2>&1; then
      rm -rf "$conf"
      continue
    fi
    rm -rf "$HOME_DIR/$core/conf.old"
    if [ -d "$HOME_DIR/$core/conf" ]; then
      mv "$HOME_DIR/$core/conf" "$HOME_DIR/$core/conf.old"
    fi
    mv "$conf" "$HOME_DIR/$core/conf"
    rm -rf "$HOME_DIR/$core/conf.old"
    changed+=("$core")
  done
  say "solr home ready: $HOME_DIR (cores: ${CORES[*]}; conf changed: ${changed[*]:-none}; schema from $schema)"
  # A running Solr picks up a new conf/ only on a core reload.
  if [ "${#changed[@]}" -gt 0 ] && is_running; then
    for core in "${changed[@]}"; do
      if http_ok "$(base_url)/admin/cores?action=RELOAD&core=$core"; then
        say "reloaded core $core"
      else
        die "reload of core $core failed; see $LOG_FILE"
      fi
    done
  fi
}

# --- process helpers ---------------------------------------------------------

base_url() { echo "http://127.0.0.1:$PORT/solr"; }

http_ok() {  # URL -> 0 when it answers 200
  local code
  code="$(curl -s -o /dev/null -m 10 -w '%{http_code}' "$1" 2>/dev/null)" || true
  [ "$code" = 200 ]
}

read_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  echo "$pid"
}

# Process exists and is not a zombie (a dead child of this shell stays a
# zombie until reaped, and kill -0 still succeeds on it).
proc_alive() {
  local pid="$1" stat
  kill -0 "$pid" 2>/dev/null || return 1
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [ "${stat:0:1}" != Z ]
}

# Alive and really our launcher for this Solr home (pid files outlive
# reboots; pids get reused, also as thread ids of another stack's Solr).
pid_alive() {
  local pid="$1"
  proc_alive "$pid" || return 1
  [ "$(cat "/proc/$pid/status" 2>/dev/null | awk '/^Tgid:/ {print $2}')" = "$pid" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "UdpSolr $HOME_DIR "
}

is_running() {
  local pid
  pid="$(read_pid)" && pid_alive "$pid"
}

all_ready() {
  local core
  for core in "${CORES[@]}"; do
    http_ok "$(base_url)/$core/select?q=*:*&rows=0" || return 1
  done
}

LOG_OFFSET=0
log_tail() {  # the log of this start only, at most 60 lines
  echo "---- $LOG_FILE (this start) ----" >&2
  tail -c +"$((LOG_OFFSET + 1))" "$LOG_FILE" 2>/dev/null | tail -n 60 >&2 || true
  echo "----" >&2
}

wait_ready() {  # PID -> 0 ready, 1 died/failed/timeout
  local pid="$1" start now
  start="$(date +%s)"
  while :; do
    if ! proc_alive "$pid"; then
      say "Solr exited during start-up" >&2
      return 1
    fi
    if all_ready; then
      return 0
    fi
    now="$(date +%s)"
    if [ $((now - start)) -ge "$START_TIMEOUT" ]; then
      say "Solr not ready after ${START_TIMEOUT}s" >&2
      return 1
    fi
    sleep 0.3
  done
}

# --- start / stop / status ---------------------------------------------------

cmd_start() {
  local pid
  if pid="$(read_pid)" && pid_alive "$pid"; then
    local running_port
    running_port="$(cat "$PORT_FILE" 2>/dev/null || true)"
    if [ -n "${SOLR_PORT:-}" ] && [ -n "$running_port" ] && [ "$running_port" != "$SOLR_PORT" ]; then
      die "already running on port $running_port (pid $pid), not $SOLR_PORT: stop it first"
    fi
    if all_ready; then
      say "already running (pid $pid): $(base_url)"
      return 0
    fi
    say "pid $pid is starting; waiting for it"
    wait_ready "$pid" || { log_tail; exit 1; }
    say "ready (pid $pid): $(base_url)"
    return 0
  fi
  rm -f "$PID_FILE" "$PORT_FILE"
  PORT="${SOLR_PORT:-8983}"
  [ -f "$HOME_DIR/solr.xml" ] || die "no solr home at $HOME_DIR: run 'scripts/solr.sh home <schema.xml>' first"
  cmd_install >/dev/null
  command -v curl >/dev/null || die "curl not found"
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    die "port $PORT is already in use by another process (set SOLR_PORT)"
  fi

  mkdir -p "$(dirname "$PID_FILE")" "$LOG_DIR"
  LOG_OFFSET="$(stat -c %s "$LOG_FILE" 2>/dev/null || echo 0)"
  echo "=== $(date '+%F %T') solr.sh start: port $PORT, home $HOME_DIR" >> "$LOG_FILE"
  local t0
  t0="$(date +%s%N)"
  # setsid: own session, so the terminal's Ctrl-C and the caller's exit do
  # not reach Solr; nohup + redirects: no terminal at all.
  # shellcheck disable=SC2086
  setsid nohup "$JAVA" \
    -Xms64m -Xmx"$HEAP" -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError \
    -Dfile.encoding=UTF-8 \
    -Dlog4j2.configurationFile="$REPO/solr/log4j2.xml" \
    -Dudp.solr.log="$LOG_FILE" -Dsolr.log.dir="$LOG_DIR" \
    ${SOLR_JAVA_OPTS:-} \
    -cp "$CLASSES:$(cat "$CP_FILE")" UdpSolr "$HOME_DIR" "$PORT" \
    >> "$LOG_FILE" 2>&1 < /dev/null 9>&- &
  pid=$!
  echo "$pid" > "$PID_FILE"
  echo "$PORT" > "$PORT_FILE"
  if ! wait_ready "$pid"; then
    log_tail
    kill -TERM "$pid" 2>/dev/null || true
    sleep 2
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$PID_FILE" "$PORT_FILE"
    exit 1
  fi
  local ms=$((($(date +%s%N) - t0) / 1000000))
  say "ready in ${ms} ms (pid $pid): $(base_url) cores: ${CORES[*]}"
}

cmd_stop() {
  local pid i
  if ! pid="$(read_pid)"; then
    say "not running"
    rm -f "$PID_FILE" "$PORT_FILE"
    return 0
  fi
  if pid_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 600); do
      pid_alive "$pid" || break
      sleep 0.1
    done
    if pid_alive "$pid"; then
      say "pid $pid ignored SIGTERM for 60 s; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
    fi
    say "stopped (pid $pid)"
  else
    say "not running (stale pid file)"
  fi
  rm -f "$PID_FILE" "$PORT_FILE"
}

cmd_status() {
  local pid
  if pid="$(read_pid)" && pid_alive "$pid"; then
    if all_ready; then
      say "running and ready (pid $pid): $(base_url) cores: ${CORES[*]}"
      return 0
    fi
    say "running (pid $pid) but not ready"
    return 1
  fi
  say "stopped"
  return 3
}

cmd_url() {
  if [ -n "${1:-}" ]; then echo "$(base_url)/$1"; else base_url; fi
}

# One solr.sh at a time per state dir (e.g. make -j): install, home, start
# and stop change shared files. Solr itself must not inherit the lock fd.
lock() {
  mkdir -p "$STATE/run"
  exec 9> "$STATE/run/solr.lock"
  flock -w 300 9 || die "another solr.sh holds $STATE/run/solr.lock"
}

case "${1:-}" in
  install|home|start|stop|restart) lock ;;
esac

case "${1:-}" in
  install) cmd_install ;;
  home) shift; cmd_home "$@" ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status) cmd_status ;;
  url) shift; cmd_url "$@" ;;
  *) sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
