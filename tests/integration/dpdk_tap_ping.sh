#!/usr/bin/env bash
# strata with a DPDK port, answering the kernel across it:
#   tap        net_tap PMD: strata (in netns NS) creates tap iface stap0
#              in NS; the kernel side gets 10.88.0.1/24 and fd88::1/64.
#   af_packet  net_af_packet PMD on one end of a veth pair (in NS, strata's
#              namespace); the other end is in a second namespace NSK
#              with 10.89.0.1/24 and fd89::1/64.
# The kernel pings strata's addresses (v4, v6 and a short flood), its
# neighbour table must then hold strata's MAC for both (ARP and NDP
# resolved by strata), the counters must add up and SIGTERM exit 0.
#
# usage: dpdk_tap_ping.sh STRATA_BINARY [tap|af_packet]   (root; ~15 s)
set -uo pipefail
STRATA=${1:?usage: dpdk_tap_ping.sh STRATA_BINARY [tap|af_packet]}
MODE=${2:-tap}
IT_NAME="dpdk_${MODE}_ping"
. "$(dirname "$0")/lib.sh"

it_require_root
it_need_cmd ip ping jq timeout
[ -x "$STRATA" ] || fail "not executable: $STRATA"
STRATA=$(readlink -f "$STRATA")

it_init
NS=strata-dp-$$
case $MODE in
tap)
	NET=88
	MAC=02:00:00:00:00:02
	KNS=$NS           # kernel side lives with strata
	KIF=stap0
	DEVARGS="net_tap0,iface=stap0"
	;;
af_packet)
	NET=89
	MAC=02:00:00:00:00:03
	KNS=strata-dpk-$$ # kernel side in its own namespace
	KIF=vk$$
	SIF=vs$$
	DEVARGS="net_af_packet0,iface=$SIF"
	;;
*)
	fail "unknown mode $MODE (tap or af_packet)"
	;;
esac

cat >"$IT_WORK/strata.yaml" <<YAML
ports:
  - name: p0
    kind: dpdk
    mac: "$MAC"
    mtu: 1500
    addresses: [10.$NET.0.2/24, fd$NET::2/64]
    dpdk: {devargs: "$DEVARGS"}
lcores: {rxtx: 1, workers: 1}
YAML

it_netns "$NS"
if [ "$MODE" = af_packet ]; then
	it_netns "$KNS"
	it_veth_strata "$NS" "$SIF" "$KNS" "$KIF"
fi

it_strata_start "$NS" "$STRATA" "$IT_WORK/strata.yaml"
it_log "strata pid $IT_STRATA_PID in netns $NS, port $DEVARGS"
it_wait_for 20 "$KIF to exist in $KNS" ip -n "$KNS" link show "$KIF"

if [ "$MODE" = tap ]; then
	# net_tap gives the kernel's end the PMD's MAC, which is strata's;
	# the kernel side needs its own, and no DAD on a link it shares.
	ip -n "$KNS" link set "$KIF" address 02:00:00:00:00:01 ||
		fail "set $KIF MAC"
	ip netns exec "$KNS" sysctl -qw "net.ipv6.conf.$KIF.accept_dad=0"
	# a link-local made before that may sit in failed DAD forever
	ip -n "$KNS" -6 addr flush dev "$KIF" scope link
fi
ip -n "$KNS" addr add "10.$NET.0.1/24" dev "$KIF" || fail "v4 addr on $KIF"
ip -n "$KNS" addr add "fd$NET::1/64" dev "$KIF" nodad ||
	fail "v6 addr on $KIF"
ip -n "$KNS" link set "$KIF" up || fail "$KIF up"
it_wait_for 20 "$KIF up" it_link_ready "$KNS" "$KIF"

it_ping "$KNS" 5 "10.$NET.0.2" -i 0.2
it_ping "$KNS" 5 "fd$NET::2" -6 -i 0.2
it_ping "$KNS" 1000 "10.$NET.0.2" -f
it_ping "$KNS" 1000 "fd$NET::2" -6 -f
SENT=2010

# The kernel learnt strata's MAC through strata's ARP and NDP answers.
for a in "10.$NET.0.2" "fd$NET::2"; do
	n=$(ip -n "$KNS" neigh show "$a" dev "$KIF")
	echo "$n" | grep -qi "lladdr $MAC" ||
		fail "neighbour entry for $a is '$n', want lladdr $MAC"
	echo "$n" | grep -Eq 'FAILED|INCOMPLETE' &&
		fail "neighbour entry for $a unresolved: $n"
	it_log "neighbour: $n"
done

stats=$(it_strata_stats) || exit 1
it_log "counters: $(echo "$stats" | jq -c '{rx_pkts,tx_pkts,drops,flows}')"
echo "$stats" | jq -e --argjson sent "$SENT" '
	.rx_pkts >= $sent and .tx_pkts >= $sent and
	((.drops.no_mbuf // 0) + (.drops.ring_full // 0) +
	 (.drops.tx_full // 0)) == 0 and
	([.drops[]] | add // 0) <= (.rx_pkts - $sent) and
	(.ports | length) == 1 and .ports[0].rx_pkts >= $sent and
	.ports[0].tx_pkts >= $sent' >/dev/null ||
	fail "counters do not add up (sent $SENT requests): $stats"

it_strata_stop
it_log "PASS"
