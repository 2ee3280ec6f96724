#!/usr/bin/env bash
# Echo replies per second under `ping -f`, strata's TUN path against the
# kernel answering on a veth pair, in the same run; then strata's idle CPU
# in TUN mode (utime+stime from /proc/PID/stat over IDLE_SECONDS).
#
#   kernel: netns A (10.66.0.1) --veth-- netns B (10.66.0.2), A pings B.
#   strata: netns S, strata's TUN strata0 (kernel 10.77.0.1, strata
#           10.77.0.2); the kernel in S pings strata.
# `ping -f` keeps one request in flight (it sends the next on each reply,
# and at least 100/s), so 1 flood measures round-trip cost; PARALLEL
# floods at once measure throughput. Rate = received / ping's own time.
#
# usage: tools/bench/tun_ping.sh [STRATA_BINARY]   (root)
# env:   COUNT=20000 PARALLEL=4 IDLE_SECONDS=30 ROUNDS=2
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
STRATA=${1:-$HERE/../../build/strata}
IT_NAME=tun_ping_bench
. "$HERE/../../tests/integration/lib.sh"

COUNT=${COUNT:-20000}
PARALLEL=${PARALLEL:-4}
IDLE=${IDLE_SECONDS:-30}
ROUNDS=${ROUNDS:-2}

it_require_root
it_need_cmd ip ping jq awk
[ -x "$STRATA" ] || fail "not executable: $STRATA"
STRATA=$(readlink -f "$STRATA")
it_init

NSA=strata-bka-$$
NSB=strata-bkb-$$
NSS=strata-bks-$$
it_netns "$NSA"
it_netns "$NSB"
it_netns "$NSS"
ip link add bva$$ type veth peer name bvb$$ || fail "veth"
it_track_link bva$$
ip link set bva$$ netns "$NSA" && ip link set bvb$$ netns "$NSB" ||
	fail "move veth ends"
ip -n "$NSA" addr add 10.66.0.1/24 dev bva$$
ip -n "$NSB" addr add 10.66.0.2/24 dev bvb$$
ip -n "$NSA" link set bva$$ up && ip -n "$NSB" link set bvb$$ up ||
	fail "veth up"

cat >"$IT_WORK/strata.yaml" <<YAML
ports:
  - name: tun0
    kind: tun
    mtu: 1500
    addresses: [10.77.0.2/24, fd77::2/64]
    tun: {ifname: strata0, kernel_addresses: [10.77.0.1/24, fd77::1/64],
          routes: []}
lcores: {rxtx: 1, workers: 1}
YAML
it_strata_start "$NSS" "$STRATA" "$IT_WORK/strata.yaml"
it_wait_for 20 "strata0 up" it_link_ready "$NSS" strata0
it_ping "$NSA" 3 10.66.0.2 -i 0.2
it_ping "$NSS" 3 10.77.0.2 -i 0.2

# flood NS ADDR N: N parallel `ping -f -c COUNT`; prints replies/s
# (sum of received / longest ping time) and fails on any loss.
flood() {
	local ns=$1 addr=$2 n=$3 i out rcv=0 ms=0 r t
	for i in $(seq 1 "$n"); do
		timeout 120 ip netns exec "$ns" ping -n -q -f -c "$COUNT" \
			-w 100 "$addr" >"$IT_WORK/flood.$i" 2>&1 &
	done
	wait
	for i in $(seq 1 "$n"); do
		out=$(grep 'packets transmitted' "$IT_WORK/flood.$i")
		r=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
		t=$(echo "$out" | sed -n 's/.*time \([0-9]*\)ms.*/\1/p')
		[ -n "$r" ] && [ -n "$t" ] || fail "ping to $addr: $out"
		[ "$r" = "$COUNT" ] || it_log "WARN: $addr lost $((COUNT - r))"
		rcv=$((rcv + r))
		[ "$t" -gt "$ms" ] && ms=$t
	done
	awk -v r="$rcv" -v ms="$ms" 'BEGIN { printf "%.0f\n", r * 1000 / ms }'
}

# flood runs in a subshell: a failure there leaves an empty result.
must() { [ -n "$1" ] || fail "flood failed"; echo "$1"; }
declare -a K1 S1 KP SP
for r in $(seq 1 "$ROUNDS"); do
	K1+=("$(must "$(flood "$NSA" 10.66.0.2 1)")") || exit 1
	S1+=("$(must "$(flood "$NSS" 10.77.0.2 1)")") || exit 1
	KP+=("$(must "$(flood "$NSA" 10.66.0.2 "$PARALLEL")")") || exit 1
	SP+=("$(must "$(flood "$NSS" 10.77.0.2 "$PARALLEL")")") || exit 1
	it_log "round $r: 1 flood kernel ${K1[-1]} strata ${S1[-1]};" \
		"$PARALLEL floods kernel ${KP[-1]} strata ${SP[-1]} replies/s"
done
stats=$(it_strata_stats) || exit 1
it_log "strata counters: $(echo "$stats" | jq -c '{rx_pkts,tx_pkts,drops}')"

# Idle CPU: let the flood's tail drain, then measure.
sleep 2
ticks() { awk '{ print $14 + $15 }' "/proc/$IT_STRATA_PID/stat"; }
hz=$(getconf CLK_TCK)
c0=$(ticks)
sleep "$IDLE"
it_strata_alive
c1=$(ticks)
idle=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v s="$IDLE" \
	'BEGIN { printf "%.2f", (b - a) * 100 / hz / s }')
it_strata_stop

best() { printf '%s\n' "$@" | sort -g | tail -n 1; }
ratio() { awk -v s="$1" -v k="$2" 'BEGIN { printf "%.3f", s / k }'; }
echo "tun_ping: $(date -u +%F) count=$COUNT parallel=$PARALLEL rounds=$ROUNDS"
echo "  1 flood:   kernel veth ${K1[*]}, strata TUN ${S1[*]} replies/s;" \
	"ratio (best) $(ratio "$(best "${S1[@]}")" "$(best "${K1[@]}")")"
echo "  $PARALLEL floods:  kernel veth ${KP[*]}, strata TUN ${SP[*]} replies/s;" \
	"ratio (best) $(ratio "$(best "${SP[@]}")" "$(best "${KP[@]}")")"
echo "  strata idle CPU over ${IDLE}s: ${idle}% of one core (target < 1%)"
