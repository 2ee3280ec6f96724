#!/usr/bin/env bash
# L3 fast path on one lcore: strata (parse, flow lookup, ICMP echo reply)
# against dpdk-testpmd io forwarding, both fed by the same net_pcap vdev
# replaying a file of echo requests in a loop (infinite_rx=1). With only
# rx_pcap given, net_pcap drops what is transmitted (counted as tx), so
# the measure is the lcore's work, not a sink's.
#
#   strata:  one port net_pcap0,rx_pcap=F,infinite_rx=1; rate = delta of
#            tx_pkts (echo replies) between two SIGUSR1 dumps.
#   testpmd: same vdev, --forward-mode=io --port-topology=loop; rate =
#            median of the per-second Tx-pps samples (--stats-period 1).
# Both forward on CPU $CPU (strata's rx/tx lcore; testpmd's forwarding
# lcore), main lcores on the other CPU. Runs alternate ROUNDS times.
#
# usage: tools/bench/l3_fastpath.sh [STRATA_BINARY]   (root)
# env:   SECONDS_PER_RUN=10 ROUNDS=2 FLOWS=1000 FAMILY=4|6|46 CPU=0 MAIN_CPU=1
#        FAST_PATH=true|false (strata's flows.fast_path; unset: its
#        default, and a binary from before the key works)
#        MODE=echo|forward: forward sends the requests to a neighbour,
#        10.99.0.5 (learnt from an ARP request at the file's start),
#        under a forward rule back out of the port: TTL, checksum and
#        MAC rewrite instead of the echo reply (IPv4 only)
# net_pcap holds the whole file in mbufs, so both pools get FLOWS more.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
STRATA=${1:-$HERE/../../build/strata}
IT_NAME=l3_fastpath
. "$HERE/../../tests/integration/lib.sh"

DUR=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-2}
FLOWS=${FLOWS:-1000}
FAMILY=${FAMILY:-4}
CPU=${CPU:-0}
MAIN_CPU=${MAIN_CPU:-1}
TESTPMD=${TESTPMD:-dpdk-testpmd}
FAST_PATH=${FAST_PATH:-}
MODE=${MODE:-echo}
POOL=$((FLOWS + 16383))

it_require_root
it_need_cmd "$TESTPMD" jq python3 timeout awk
[ -x "$STRATA" ] || fail "not executable: $STRATA"
STRATA=$(readlink -f "$STRATA")
it_init

PCAP=$IT_WORK/echo.pcap
case $MODE in
echo) GEN=(--dst4 10.99.0.2 --dst6 fd99::2) RULES="[]" ;;
forward)
	[ "$FAMILY" = 4 ] || fail "MODE=forward is IPv4 only"
	GEN=(--dst4 10.99.0.5 --arp-from 10.99.0.5)
	RULES="[{action: forward, dst: 10.99.0.5/32, out_port: p0}]" ;;
*) fail "MODE is echo or forward" ;;
esac
python3 "$HERE/gen_echo_pcap.py" "$PCAP" --count "$FLOWS" \
	--family "$FAMILY" --dst-mac 02:00:00:00:00:02 "${GEN[@]}" ||
	fail "cannot write $PCAP"
VDEV="net_pcap0,rx_pcap=$PCAP,infinite_rx=1"

now() { date +%s.%N; }

# One testpmd run; prints packets/s.
run_testpmd() {
	local log=$IT_WORK/testpmd.$1.log
	timeout -s INT $((DUR + 5)) "$TESTPMD" -l "$CPU,$MAIN_CPU" \
		--main-lcore "$MAIN_CPU" --no-huge -m 256 --no-pci --no-shconf \
		--log-level=lib.*:warning --vdev "$VDEV" -- \
		--nb-cores=1 --total-num-mbufs=$((POOL + 1)) --forward-mode=io \
		--port-topology=loop --stats-period 1 --auto-start \
		>"$log" 2>&1 </dev/null
	# Skip the first two samples (start-up), median of the rest.
	grep -a 'Tx-pps:' "$log" | awk '{print $2}' | tail -n +3 |
		sort -n | awk '{v[NR]=$1} END {
			if (NR == 0) { print "nan"; exit }
			printf "%.0f\n", (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2 }'
}

# One strata run, in this shell (so the EXIT trap knows its PID); writes
# packets/s to strata.N.rate and the last counters to strata.N.json.
run_strata() {
	local cfg=$IT_WORK/strata.yaml s0 s1 t0 t1 tx0 tx1
	cat >"$cfg" <<YAML
ports:
  - name: p0
    kind: dpdk
    mac: "02:00:00:00:00:02"
    addresses: [10.99.0.2/16, fd99::2/64]
    dpdk: {devargs: "$VDEV"}
lcores: {rxtx: 1, workers: 0, cpus: "$CPU,$MAIN_CPU"}
eal: {no_huge: true, memory_mb: 256}
mbuf: {pool_size: $POOL}
policy: {rules: $RULES}
${FAST_PATH:+flows: {fast_path: $FAST_PATH\}}
YAML
	it_strata_start "" "$STRATA" "$cfg"
	sleep 2
	it_strata_alive
	t0=$(now)
	s0=$(it_strata_stats) || exit 1
	sleep "$DUR"
	t1=$(now)
	s1=$(it_strata_stats) || exit 1
	echo "$s1" >"$IT_WORK/strata.$1.json"
	it_strata_stop
	tx0=$(echo "$s0" | jq .tx_pkts)
	tx1=$(echo "$s1" | jq .tx_pkts)
	awk -v a="$tx0" -v b="$tx1" -v t0="$t0" -v t1="$t1" \
		'BEGIN { printf "%.0f\n", (b - a) / (t1 - t0) }' \
		>"$IT_WORK/strata.$1.rate"
}

declare -a TP SP
for r in $(seq 1 "$ROUNDS"); do
	TP+=("$(run_testpmd "$r")")
	it_log "round $r: testpmd io ${TP[-1]} pkt/s"
	run_strata "$r"
	SP+=("$(cat "$IT_WORK/strata.$r.rate")")
	it_log "round $r: strata $MODE ${SP[-1]} pkt/s"
	jq -c '{rx_pkts,tx_pkts,fast_path,drops,flows,disposition}' \
		"$IT_WORK/strata.$r.json" >&2
done

best() { printf '%s\n' "$@" | sort -g | tail -n 1; }
bt=$(best "${TP[@]}")
bs=$(best "${SP[@]}")
ratio=$(awk -v s="$bs" -v t="$bt" 'BEGIN { printf "%.3f", s / t }')
echo "l3_fastpath: $(date -u +%F) cpu=$CPU flows=$FLOWS family=v$FAMILY" \
	"run=${DUR}s rounds=$ROUNDS mode=$MODE${FAST_PATH:+ fast_path=$FAST_PATH}"
echo "  testpmd io:  ${TP[*]} pkt/s (best $bt)"
echo "  strata $MODE: ${SP[*]} pkt/s (best $bs)"
echo "  ratio strata/testpmd: $ratio"
