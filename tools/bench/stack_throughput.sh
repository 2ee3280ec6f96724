#!/usr/bin/env bash
# Bulk TCP throughput of one stream through strata's userspace stack in
# TUN mode (L4 proxy, kernel-socket egress), beside the kernel path in
# the same run.
#
#   netns S: strata, its TUN (routes 10.99.0.0/25 into strata), iperf3 -c
#   netns O: iperf3 -s on 10.99.0.2 (inside the TUN-routed /25) and
#            10.99.0.200 (outside it: reached straight over the veth)
#   strata's egress sockets are bound to the veth in S.
#
#   strata: S iperf3 -c 10.99.0.2   -> TUN -> strata -> veth -> O
#   kernel: S iperf3 -c 10.99.0.200 -> veth -> O
# Both directions: upload (client sends) and download (-R, server sends).
# Runs alternate kernel, strata per direction, ROUNDS times; the summary
# gives every rate (receiver side, Gbit/s), the best of each and the ratio
# strata / kernel of the bests. Per run also: the sender's retransmits
# and strata's CPU (utime+stime, % of one core; per thread on stderr).
# The kernel path moves GSO/GRO super-packets over the veth (up to 64
# KiB); the TUN path moves packets of the TUN's MTU (lwIP's segments
# grow to it), so the ratio is per byte, not per packet.
#
# usage: tools/bench/stack_throughput.sh STRATA_BINARY   (root; ~1.5 min)
# env:   SECONDS_PER_RUN=10 ROUNDS=2 TUN_MTU=65000 (the built-in laptop
#        default; 1500 for a conventional TUN)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
STRATA=${1:?usage: stack_throughput.sh STRATA_BINARY}
IT_NAME=stack_throughput
. "$HERE/../../tests/integration/lib.sh"

SECS=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-2}
TUN_MTU=${TUN_MTU:-65000}

it_require_root
it_need_cmd ip iperf3 jq awk timeout
[ -x "$STRATA" ] || fail "not executable: $STRATA"
STRATA=$(readlink -f "$STRATA")
it_init

S=strata-bt-s-$$
O=strata-bt-o-$$
VS=bts$$
VO=bto$$
IFN=stbt$$
it_netns "$S"
it_netns "$O"
ip link add "$VS" netns "$S" type veth peer name "$VO" netns "$O" ||
	fail "veth"
ip -n "$S" addr add 10.99.0.1/24 dev "$VS"
ip -n "$O" addr add 10.99.0.2/24 dev "$VO"
ip -n "$O" addr add 10.99.0.200/24 dev "$VO"
ip -n "$S" link set "$VS" up
ip -n "$O" link set "$VO" up

ip netns exec "$O" iperf3 -s -p 5201 >"$IT_WORK/iperf3-s.log" 2>&1 &
it_track_pid $!

cat >"$IT_WORK/strata.yaml" <<YAML
ports:
  - name: tun0
    kind: tun
    addresses: [10.77.0.2/24]
    mtu: $TUN_MTU
    tun:
      ifname: $IFN
      kernel_addresses: [10.77.0.1/24]
      routes: [10.99.0.0/25]
lcores: {rxtx: 1, workers: 1}
policy:
  default_action: stack
egress:
  interface: $VS
YAML
it_strata_start "$S" "$STRATA" "$IT_WORK/strata.yaml"
it_wait_for 20 "$IFN up" it_link_ready "$S" "$IFN"
route_in() { ip -n "$S" route get 10.99.0.2 | grep -q "dev $IFN"; }
route_direct() { ip -n "$S" route get 10.99.0.200 | grep -q "dev $VS"; }
it_wait_for 10 "route into $IFN" route_in
it_wait_for 10 "direct route over $VS" route_direct
srv_up() { ip netns exec "$O" ss -ltn | grep -q ':5201 '; }
it_wait_for 10 "iperf3 server" srv_up

# run ADDR [-R]: one iperf3 run; prints "Gbit/s-at-receiver retransmits
# strata-CPU-%" (strata's utime+stime over the run, % of one core).
ticks() { awk '{ print $14 + $15 }' "/proc/$IT_STRATA_PID/stat"; }
HZ=$(getconf CLK_TCK)
# per-thread ticks, "tid:comm ticks" lines (comm without spaces)
thread_ticks() {
	local t
	for t in /proc/$IT_STRATA_PID/task/*; do
		awk -v t="${t##*/}" '{ sub(/.*\) /, ""); print t, $12 + $13 }' \
			"$t/stat" 2>/dev/null |
			sed "s/^\([0-9]*\)/\1:$(tr -d ' ' <"$t/comm" 2>/dev/null)/"
	done | sort
}
run() {
	local addr=$1 out c0 c1
	shift
	thread_ticks >"$IT_WORK/threads.0"
	c0=$(ticks)
	out=$(timeout $((SECS + 30)) ip netns exec "$S" iperf3 -J -c "$addr" \
		-p 5201 -t "$SECS" "$@" 2>&1)
	# strata gone means the TUN and its route are gone too: a later run
	# to 10.99.0.2 would silently take the veth.
	it_strata_alive
	c1=$(ticks)
	thread_ticks >"$IT_WORK/threads.1"
	# busy threads over the run, "comm/tid N%" (stderr)
	it_log "  strata threads: $(join "$IT_WORK/threads.0" \
		"$IT_WORK/threads.1" | awk -v hz="$HZ" -v s="$SECS" '
		{ p = ($3 - $2) * 100 / hz / s; if (p >= 1)
			printf "%s %.0f%%  ", $1, p }')"
	[ "$addr" = 10.99.0.200 ] || route_in || fail "route into $IFN gone"
	echo "$out" | jq -e '.end.sum_received.bits_per_second' >/dev/null \
		2>&1 || { it_log "iperf3 to $addr $*: $(echo "$out" |
		jq -r '.error? // empty' 2>/dev/null | head -c 300)"; return 1; }
	echo "$out" | jq -r --argjson cpu "$(awk -v a="$c0" -v b="$c1" \
		-v hz="$HZ" -v s="$SECS" 'BEGIN { printf "%.0f", (b - a) * 100 / hz / s }')" \
		'"\(.end.sum_received.bits_per_second / 1e9 * 1000 |
		round / 1000) \(.end.sum_sent.retransmits // 0) \($cpu)"'
}

must() { [ -n "$1" ] || fail "iperf3 failed"; echo "$1"; }
declare -a KU SU KD SD DETAIL
# one NAME ADDR [-R]: a run into array NAME (rate), details to DETAIL.
one() {
	local -n arr=$1
	local name=$1 r
	shift
	r=$(must "$(run "$@")") || exit 1
	set -- $r
	arr+=("$1")
	DETAIL+=("$name $1 Gbit/s, $2 retransmits, strata CPU $3 %")
	it_log "$name: $1 Gbit/s, $2 retransmits (sender)," \
		"strata CPU $3 % of one core"
}
for r in $(seq 1 "$ROUNDS"); do
	one KU 10.99.0.200
	one SU 10.99.0.2
	one KD 10.99.0.200 -R
	one SD 10.99.0.2 -R
	it_log "round $r: upload kernel ${KU[-1]} strata ${SU[-1]};" \
		"download kernel ${KD[-1]} strata ${SD[-1]} Gbit/s"
done
stats=$(it_strata_stats) || exit 1
stk=$(echo "$stats" | jq -c '{drops, stack_out,
	worker: ([.lcores[] | select(.role=="worker") |
		{stack_rx, stack_tx, stack_tx_dropped, stack}] | .[0]),
	ports: [.ports[] | {name, rx_pkts, tx_pkts, rx_errors, tx_errors,
		rx_nombuf}]}')
it_log "strata counters: $stk"
it_strata_stop

best() { printf '%s\n' "$@" | sort -g | tail -n 1; }
ratio() { awk -v s="$1" -v k="$2" 'BEGIN { printf "%.3f", s / k }'; }
bku=$(best "${KU[@]}"); bsu=$(best "${SU[@]}")
bkd=$(best "${KD[@]}"); bsd=$(best "${SD[@]}")
ru=$(ratio "$bsu" "$bku"); rd=$(ratio "$bsd" "$bkd")
echo "stack_throughput: $(date -u +%F) ${SECS}s per run, rounds=$ROUNDS," \
	"1 TCP stream (iperf3), TUN MTU $TUN_MTU"
echo "  upload:   kernel veth ${KU[*]}, strata TUN ${SU[*]} Gbit/s;" \
	"ratio (best) $ru"
echo "  download: kernel veth ${KD[*]}, strata TUN ${SD[*]} Gbit/s;" \
	"ratio (best) $rd"
printf '    %s\n' "${DETAIL[@]}"
jq -cn --arg date "$(date -u +%F)" --argjson secs "$SECS" \
	--argjson ku "$bku" --argjson su "$bsu" --argjson kd "$bkd" \
	--argjson sd "$bsd" --argjson ru "$ru" --argjson rd "$rd" \
	--argjson counters "$stk" \
	--argjson mtu "$TUN_MTU" \
	'{bench: "stack_throughput", date: $date, seconds: $secs, tun_mtu: $mtu,
	  upload_gbps: {kernel: $ku, strata: $su, ratio: $ru},
	  download_gbps: {kernel: $kd, strata: $sd, ratio: $rd},
	  counters: $counters}'
