#!/bin/bash
# Replay a kernel capture through `strata pcap --stack`: the policy hands
# the client's TCP/UDP to the userspace stack instead of answering it at
# L3, inside a network namespace made for the test (the stack's egress
# opens real kernel sockets; nothing leaves the namespace).
#
# usage: run_stack.sh STRATA CAPTURE.pcap MODE
#   reject   a `reject` rule: the stack refuses the flow. Its answer (TCP
#            RST, ICMP port unreachable) must equal the kernel's, field by
#            field (compare.py), like the L3 replays.
#   synack   a `stack` rule, and an origin listening on the capture's
#            server address inside the namespace: the stack connects
#            upstream first, then answers the client's SYN with a SYN-ACK
#            (checked: ports, ack = seq + 1, MSS option, window, checksums).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
STRATA=${1:?usage: run_stack.sh STRATA CAPTURE.pcap MODE}
CAP=${2:?usage: run_stack.sh STRATA CAPTURE.pcap MODE}
MODE=${3:?usage: run_stack.sh STRATA CAPTURE.pcap MODE}
NAME=$(basename "$CAP" .pcap)-$MODE

log() { echo "[stack $NAME] $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
	[ -n "${CI:-}" ] && { log "FAIL: needs root (network namespace)"; exit 1; }
	log "SKIP: needs root (network namespace)"
	exit 77
fi
[ -x "$STRATA" ] || { log "FAIL: no strata binary at $STRATA"; exit 1; }
STRATA=$(readlink -f "$STRATA")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/strata-stack-$NAME.XXXXXX")
NS=strata-stk-$$
ORIGIN_PID=
cleanup() {
	local rc=$?
	[ -n "$ORIGIN_PID" ] && kill "$ORIGIN_PID" 2>/dev/null && wait "$ORIGIN_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	[ "$rc" -eq 0 ] && rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

fail() {
	log "FAIL: $*"
	log "work directory kept: $WORK"
	[ -s "$WORK/stderr" ] && tail -n 30 "$WORK/stderr" >&2
	exit 1
}

case $MODE in
reject) ACTION=reject ;;
synack) ACTION=stack ;;
*) fail "unknown mode $MODE" ;;
esac

ip netns add "$NS" || fail "ip netns add"
ip -n "$NS" link set lo up
# The capture's server addresses, for the origin and the egress sockets.
ip -n "$NS" addr add 10.99.0.2/32 dev lo
ip -n "$NS" addr add fd99::2/128 dev lo nodad
if [ "$MODE" = synack ]; then
	ip netns exec "$NS" "$PY" -c '
import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 81)); s.listen(16)
time.sleep(120)' &
	ORIGIN_PID=$!
	for i in $(seq 1 50); do
		ip netns exec "$NS" ss -ltn | grep -q ':81 ' && break
		sleep 0.1
	done
fi

OUT=$WORK/out.pcap
cat >"$WORK/strata.yaml" <<CFG
ports:
  - name: p0
    kind: pcap
    mac: "02:00:00:00:00:02"
    addresses: [10.99.0.2/24, fd99::2/64]
    pcap: {input: "$CAP", output: "$OUT"}
policy:
  default_action: local
  rules:
    - {action: $ACTION, proto: tcp}
    - {action: $ACTION, proto: udp}
egress: {interface: ""}
CFG

timeout 60 ip netns exec "$NS" "$STRATA" pcap --stack -c "$WORK/strata.yaml" \
	"$CAP" "$OUT" >"$WORK/stats.json" 2>"$WORK/stderr"
rc=$?
[ "$rc" -eq 124 ] && fail "strata pcap did not finish in 60 s"
[ "$rc" -eq 0 ] || fail "strata pcap exited $rc"
grep -Eq 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' \
	"$WORK/stderr" && fail "sanitizer report on stderr"
[ -s "$OUT" ] || fail "no output capture written"
log "stack: $(jq -c '.lcores[] | select(.role=="worker") | .stack |
	{tcp_conns, udp_flows, rejected_by_app, udp_unreachable}' "$WORK/stats.json")"

frames() {
	"$PY" -c 'import sys
from scapy.utils import RawPcapReader
print(sum(1 for _ in RawPcapReader(sys.argv[1])))' "$1"
}
"$PY" "$HERE/check_stats.py" "$WORK/stats.json" \
	--rx-pkts "$(frames "$CAP")" --tx-pkts "$(frames "$OUT")" ||
	fail "counters"

if [ "$MODE" = reject ]; then
	jq -e '[.lcores[] | select(.role=="worker") | .stack.rejected_by_app]
		| add >= 1' "$WORK/stats.json" >/dev/null ||
		fail "the stack rejected nothing: the answer did not come from it"
	"$PY" "$HERE/compare.py" -v "$CAP" "$OUT" ||
		fail "the stack's refusal differs from the kernel's"
else
	"$PY" - "$CAP" "$OUT" <<'PY' || fail "no proper SYN-ACK from the stack"
import sys
from scapy.all import rdpcap, TCP, IP, IPv6, Ether, raw
cap, out = rdpcap(sys.argv[1]), rdpcap(sys.argv[2])
syn = next(p for p in cap if TCP in p and p[TCP].flags == "S")
ip = IP if IP in syn else IPv6
sa = [p for p in out if TCP in p and p[TCP].flags == "SA"]
assert sa, "no SYN-ACK in the output"
p = sa[0]
assert p[Ether].dst == syn[Ether].src, "not addressed to the client's MAC"
assert p[ip].src == syn[ip].dst and p[ip].dst == syn[ip].src, "addresses"
assert p[TCP].sport == syn[TCP].dport and p[TCP].dport == syn[TCP].sport
assert p[TCP].ack == syn[TCP].seq + 1, "ack is not the SYN's seq + 1"
opts = dict((k, v) for k, v in p[TCP].options if isinstance(k, str))
assert "MSS" in opts and 536 <= opts["MSS"] <= 1460, f"MSS {opts}"
assert p[TCP].window > 0, "zero window"
# checksums: rebuild without them and compare
q = p.copy()
del q[TCP].chksum
if ip is IP:
    del q[IP].chksum
assert raw(Ether(raw(q))) == raw(p), "bad checksum"
print(f"SYN-ACK ok: mss {opts['MSS']} window {p[TCP].window}")
PY
fi
log "OK"
