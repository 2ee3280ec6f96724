#!/bin/bash
# The fast path changes speed only: each capture goes through
# `strata pcap` with flows.fast_path on and off, and both runs must
# write the same output capture, byte for byte, and the same counters
# (but fast_path, which must be non-zero for the generated capture).
#
# usage: fast_same.sh STRATA CAPTURE.pcap...
#   gen_mixed.py's capture (common shapes and everything that must leave
#   the fast path, several packets a flow) is added to the list.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3	# Debian's python3, which has scapy
STRATA=${1:?usage: fast_same.sh STRATA CAPTURE.pcap...}
shift

log() { echo "[fast_same] $*" >&2; }
[ -x "$STRATA" ] || { log "FAIL: no strata binary at $STRATA"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/strata-fast-same.XXXXXX")
keep=0
trap '[ "$keep" = 1 ] || rm -rf "$WORK"' EXIT
fail() {
	keep=1
	log "FAIL: $*"
	log "work directory kept: $WORK"
	exit 1
}

"$PY" "$HERE/gen_mixed.py" "$WORK/mixed.pcap" ||
	fail "gen_mixed.py could not write its capture"

# run CAPTURE on|off: writes WORK/NAME.on.pcap and WORK/NAME.on.json
run() {
	local cap=$1 mode=$2 name cfg
	name=$(basename "$cap" .pcap)
	cfg=$WORK/$name.$mode.yaml
	cat >"$cfg" <<CFG
ports:
  - name: p0
    kind: pcap
    mac: "02:00:00:00:00:02"
    addresses: [10.99.0.2/24, fd99::2/64]
    pcap: {input: "$cap", output: "$WORK/$name.$mode.pcap"}
policy:
  default_action: local
  rules:
    - {action: drop, dst: 10.99.0.200/32}
    - {action: forward, src: 10.99.1.0/24, out_port: p0}
    - {action: forward, src: "fd99:1::/64", out_port: p0}
flows: {fast_path: $([ "$mode" = on ] && echo true || echo false)}
CFG
	timeout 60 "$STRATA" pcap -c "$cfg" "$cap" "$WORK/$name.$mode.pcap" \
		>"$WORK/$name.$mode.json" 2>"$WORK/$name.$mode.err" ||
		fail "$name ($mode): strata pcap exited $?: $(tail -n 3 "$WORK/$name.$mode.err")"
}

for cap in "$@" "$WORK/mixed.pcap"; do
	name=$(basename "$cap" .pcap)
	run "$cap" on
	run "$cap" off
	cmp -s "$WORK/$name.on.pcap" "$WORK/$name.off.pcap" ||
		fail "$name: the fast path changed the output capture"
	on=$(jq -cS 'del(.. | .fast_path?, .fast_cache_bypass?)' "$WORK/$name.on.json") ||
		fail "$name: counters are not JSON"
	off=$(jq -cS 'del(.. | .fast_path?, .fast_cache_bypass?)' "$WORK/$name.off.json")
	[ "$on" = "$off" ] ||
		fail "$name: the fast path changed the counters: $(diff <(echo "$on" | jq .) <(echo "$off" | jq .) | head -20)"
	n=$(jq .fast_path "$WORK/$name.on.json")
	[ "$(jq .fast_path "$WORK/$name.off.json")" = 0 ] ||
		fail "$name: fast_path counted with the fast path off"
	log "$name: same output and counters; $n packets took the fast path"
done
[ "$n" -gt 0 ] || fail "no packet of the mixed capture took the fast path"
log OK
