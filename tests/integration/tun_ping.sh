#!/usr/bin/env bash
# strata in TUN mode, inside a network namespace made for the test:
# the kernel pings strata's own addresses (v4 and v6, normal and flood)
# over the TUN device, then the SIGUSR1 counters and a clean SIGTERM exit
# are checked.
#
# usage: tun_ping.sh STRATA_BINARY    (root; about 20 s)
set -uo pipefail
STRATA=${1:?usage: tun_ping.sh STRATA_BINARY}
. "$(dirname "$0")/lib.sh"

it_require_root
it_need_cmd ip ping jq timeout
[ -x "$STRATA" ] || fail "not executable: $STRATA"
[ -c /dev/net/tun ] || fail "/dev/net/tun missing"
STRATA=$(readlink -f "$STRATA")

it_init
NS=strata-tun-$$
IFN=strata0
FLOOD4=${FLOOD4:-10000}
FLOOD6=${FLOOD6:-2000}

cat >"$IT_WORK/strata.yaml" <<YAML
ports:
  - name: tun0
    kind: tun
    mtu: 1500
    addresses: [10.77.0.2/24, fd77::2/64]
    tun:
      ifname: $IFN
      kernel_addresses: [10.77.0.1/24, fd77::1/64]
      routes: []
lcores: {rxtx: 1, workers: 1}
YAML

it_netns "$NS"
it_strata_start "$NS" "$STRATA" "$IT_WORK/strata.yaml"
it_log "strata pid $IT_STRATA_PID in netns $NS"
it_wait_for 20 "$IFN up in $NS" it_link_ready "$NS" "$IFN"
# strata brings the link up, then adds the kernel side's addresses
tun_has_addrs() {
	ip -n "$NS" addr show dev "$IFN" | grep -q 'inet 10\.77\.0\.1/24' &&
		ip -n "$NS" addr show dev "$IFN" | grep -q 'inet6 fd77::1/64'
}
it_wait_for 10 "10.77.0.1/24 and fd77::1/64 on $IFN" tun_has_addrs

it_ping "$NS" 5 10.77.0.2 -i 0.2
it_ping "$NS" 5 fd77::2 -6 -i 0.2
it_ping "$NS" "$FLOOD4" 10.77.0.2 -f
it_ping "$NS" "$FLOOD6" fd77::2 -6 -f
SENT=$((5 + 5 + FLOOD4 + FLOOD6))

stats=$(it_strata_stats) || exit 1
it_log "counters: $(echo "$stats" | jq -c '{rx_pkts,tx_pkts,drops,flows}')"

# Every request reached strata and was answered; the rest of rx is kernel
# chatter (MLD, router solicitations) which may be dropped, but resource
# drops (no mbuf, full rings or tx queues) must not happen at this rate.
echo "$stats" | jq -e --argjson sent "$SENT" '
	.rx_pkts >= $sent and .tx_pkts >= $sent and
	([.drops[]] | add // 0) <= (.rx_pkts - $sent) and
	((.drops.no_mbuf // 0) + (.drops.ring_full // 0) +
	 (.drops.tx_full // 0)) == 0 and
	(.ports | length) == 1 and .ports[0].kind == "tun" and
	.ports[0].rx_pkts >= $sent and .ports[0].tx_pkts >= $sent and
	(.lcores | length) >= 1' >/dev/null ||
	fail "counters do not add up (sent $SENT requests): $stats"

it_strata_stop
it_log "PASS"
