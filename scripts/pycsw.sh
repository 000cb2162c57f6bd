#!/usr/bin/env bash
# pycsw (PyPI, in its own venv) serving the five real GDI-DE ISO 19139 records of
# <shared>/harvest-samples/csw-gdi-de as a CSW 2.0.2 on loopback, port 5000+offset+2:
# the remote catalogue of the CSW harvester's tests.
#
#   scripts/pycsw.sh install   install its venv (once; start does it too)
#   scripts/pycsw.sh start     install once, load the records, start; prints the CSW URL
#   scripts/pycsw.sh stop      stop it (by PID)
#   scripts/pycsw.sh status    running or not
#   scripts/pycsw.sh url       the CSW endpoint URL
#
# The records are read from the shared folder (UDP_SHARED_DIR, default ../shared
# beside the checkout) into pycsw's SQLite repository in $UDP_STATE/pycsw/;
# nothing is copied into the project. Pins: requirements-pycsw.txt.
set -euo pipefail

# shellcheck source=stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"

DIR=$UDP_STATE/pycsw
# its venv: the stack's own, or one shared by the stacks of the test shards (UDP_PYCSW_VENV)
CVENV=${UDP_PYCSW_VENV:-$UDP_STATE/pycsw-venv}
CPY=$CVENV/bin/python
CFG=$DIR/pycsw.cfg
CPID=$RUN/pycsw.pid
CLOG=$LOG/pycsw.log
SHARED=${UDP_SHARED_DIR:-$REPO/../shared}
SAMPLES=$SHARED/harvest-samples/csw-gdi-de/GetRecordsResults.xml

install_pycsw() {
    local stamp=$CVENV/.udp-installed want
    want=$(cat "$REPO/requirements-pycsw.txt" | sha256sum | cut -c1-16)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
    log "installing pycsw into $CVENV"
    [ -x "$CPY" ] || python3 -m venv "$CVENV"
    "$CVENV/bin/pip" install -q --disable-pip-version-check -U pip wheel 'setuptools<82'
    "$CVENV/bin/pip" install -q --disable-pip-version-check -r "$REPO/requirements-pycsw.txt" 'setuptools<82'
    echo "$want" >"$stamp"
}

cport() { echo "$PYCSW_PORT"; }

write_cfg() {
    local home
    home=$("$CPY" -c 'import os, pycsw; print(os.path.dirname(pycsw.__file__))')
    cat >"$CFG" <<EOF
[server]
home=$home
url=http://127.0.0.1:$(cport)/csw
mimetype=application/xml; charset=UTF-8
encoding=UTF-8
language=en-US
maxrecords=10
loglevel=WARNING
logfile=$CLOG
ogc_schemas_base=http://schemas.opengis.net
pretty_print=false
domainquerytype=list
domaincounts=false
profiles=apiso

[manager]
transactions=false
allowed_ips=127.0.0.1

[metadata:main]
identification_title=GDI-DE Testkatalog (pycsw)
identification_abstract=Fuenf echte ISO-19139-Datensaetze der GDI-DE fuer Harvester-Tests
identification_keywords=GDI-DE,Test
identification_keywords_type=theme
identification_fees=None
identification_accessconstraints=None
provider_name=Urbane Datenplattform Karlsruhe (Test)
provider_url=http://127.0.0.1/
contact_name=Test
contact_position=Test
contact_address=Test
contact_city=Karlsruhe
contact_stateorprovince=Baden-Wuerttemberg
contact_postalcode=76133
contact_country=Germany
contact_phone=+49-0
contact_fax=+49-0
contact_email=test@udp.invalid
contact_url=http://127.0.0.1/
contact_hours=0
contact_instructions=none
contact_role=pointOfContact

[repository]
database=sqlite:///$DIR/records.db
table=records

[metadata:inspire]
enabled=false
EOF
}

load_records() {
    local stamp=$DIR/loaded want
    [ -f "$SAMPLES" ] || die "GDI-DE records not found: $SAMPLES (set UDP_SHARED_DIR)"
    want=$(cat "$SAMPLES" "$CFG" | sha256sum | cut -c1-16)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$DIR/records.db" ]; then return 0; fi
    log "loading the GDI-DE records into pycsw"
    rm -rf "$DIR/records" "$DIR/records.db"
    mkdir -p "$DIR/records"
    "$CPY" - "$SAMPLES" "$DIR/records" <<'PYEOF'
import sys
from lxml import etree
tree = etree.parse(sys.argv[1])
records = tree.findall(".//{http://www.isotc211.org/2005/gmd}MD_Metadata")
for n, record in enumerate(records, 1):
    etree.ElementTree(record).write(f"{sys.argv[2]}/record-{n}.xml", xml_declaration=True, encoding="UTF-8")
print(len(records), "records")
PYEOF
    "$CVENV/bin/pycsw-admin.py" -c setup_db -f "$CFG" >>"$CLOG" 2>&1 || die "pycsw setup_db failed: $(tail -5 "$CLOG")"
    "$CVENV/bin/pycsw-admin.py" -c load_records -f "$CFG" -p "$DIR/records" >>"$CLOG" 2>&1 \
        || die "pycsw load_records failed: $(tail -5 "$CLOG")"
    echo "$want" >"$stamp"
}

cstart() {
    mkdir -p "$DIR" "$RUN" "$LOG"
    install_pycsw
    if ! pid_alive "$CPID" && (exec 3<>"/dev/tcp/127.0.0.1/$(cport)") 2>/dev/null; then
        die "port $(cport) of pycsw is taken by a process this stack did not start"
    fi
    write_cfg
    load_records
    local url
    url=http://127.0.0.1:$(cport)/csw
    if ! pid_alive "$CPID"; then
        PYCSW_CONFIG=$CFG setsid nohup "$CPY" -c '
import os, sys
from wsgiref.simple_server import WSGIRequestHandler, make_server
from pycsw.wsgi import application
class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass
make_server("127.0.0.1", int(sys.argv[1]), application, handler_class=Quiet).serve_forever()
' "$(cport)" >>"$CLOG" 2>&1 </dev/null &
        echo $! >"$CPID"
        log "started pycsw (pid $(cat "$CPID"), $url, log $CLOG)"
    fi
    wait_http "$url?service=CSW&version=2.0.2&request=GetCapabilities" "$CPID" 60 pycsw "$CLOG"
    echo "$url"
}

case "${1:-}" in
    install) mkdir -p "$LOG"; install_pycsw ;;
    start) cstart ;;
    stop) stop_pidfile pycsw "$CPID" ;;
    status) if pid_alive "$CPID"; then echo "pycsw: running (pid $(cat "$CPID"), http://127.0.0.1:$(cport)/csw)"; else echo "pycsw: stopped"; fi ;;
    url) echo "http://127.0.0.1:$(cport)/csw" ;;
    *) echo "usage: $0 install|start|stop|status|url" >&2; exit 2 ;;
esac
