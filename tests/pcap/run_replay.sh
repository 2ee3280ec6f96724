#!/bin/bash
# Replay one kernel capture through `strata pcap` and check strata answered
# as the kernel did.
#
# usage: run_replay.sh STRATA CAPTURE.pcap
#
# Writes a config that gives strata the server's identity (the MAC and
# addresses the kernel had in gen.sh), runs `strata pcap -c CFG IN OUT`,
# checks the JSON counters (check_stats.py: sums, rx_pkts = input frames,
# tx_pkts = output frames) and compares the output with the kernel's
# answers (compare.py). Keeps the work directory on failure.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3	# Debian's python3, which has scapy
STRATA=${1:?usage: run_replay.sh STRATA CAPTURE.pcap}
CAP=${2:?usage: run_replay.sh STRATA CAPTURE.pcap}
NAME=$(basename "$CAP" .pcap)

log() { echo "[replay $NAME] $*" >&2; }

[ -x "$STRATA" ] || { log "FAIL: no strata binary at $STRATA"; exit 1; }
[ -r "$CAP" ] || { log "FAIL: cannot read $CAP"; exit 1; }
"$PY" -c 'import scapy' 2>/dev/null ||
	{ log "FAIL: python3-scapy is missing (apt-get install python3-scapy)"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/strata-replay-$NAME.XXXXXX")
OUT=$WORK/out.pcap
cat >"$WORK/strata.yaml" <<CFG
ports:
  - name: p0
    kind: pcap
    mac: "02:00:00:00:00:02"
    addresses: [10.99.0.2/24, fd99::2/64]
    pcap: {input: "$CAP", output: "$OUT"}
policy: {default_action: local}
CFG

fail() {
	log "FAIL: $*"
	log "work directory kept: $WORK"
	if [ -s "$WORK/stderr" ]; then
		log "--- strata stderr (last 30 lines) ---"
		tail -n 30 "$WORK/stderr" >&2
	fi
	exit 1
}

frames() {
	"$PY" -c 'import sys
from scapy.utils import RawPcapReader
print(sum(1 for _ in RawPcapReader(sys.argv[1])))' "$1"
}

timeout 60 "$STRATA" pcap -c "$WORK/strata.yaml" "$CAP" "$OUT" \
	>"$WORK/stats.json" 2>"$WORK/stderr"
rc=$?
[ "$rc" -eq 124 ] && fail "strata pcap did not finish in 60 s"
[ "$rc" -eq 0 ] || fail "strata pcap exited $rc"
if grep -Eq 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' \
	"$WORK/stderr"; then
	fail "sanitizer report on stderr"
fi
[ -s "$OUT" ] || fail "no output capture written"
log "counters: $(tr -d '\n' <"$WORK/stats.json" | cut -c 1-400)"
"$PY" "$HERE/check_stats.py" "$WORK/stats.json" \
	--rx-pkts "$(frames "$CAP")" --tx-pkts "$(frames "$OUT")" ||
	fail "counters"
"$PY" "$HERE/compare.py" -v "$CAP" "$OUT" || fail "strata's answers differ from the kernel's"
rm -rf "$WORK"
log "OK"
