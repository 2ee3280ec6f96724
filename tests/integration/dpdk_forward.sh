#!/usr/bin/env bash
# strata forwarding between two DPDK ports with two rx/tx lcores:
#
#   netns A (10.71.0.1 + 8 more, fd71::1 + 8 more)
#     | veth: net_af_packet0 (qpairs=2) in netns S
#   strata (netns S, lcores rxtx: 2, no workers; policy: forward
#     10.72/24 and fd72::/64 out of pb, 10.71/24 and fd71::/64 out of pa)
#     | veth: net_af_packet1 (qpairs=2) in netns S
#   netns B (10.72.0.1, fd72::1)
#
# Every source address of A pings B (v4 and v6). af_packet spreads
# packets over its two queues by the kernel's hash, not strata's, so
# strata steers each one in software to the lcore that owns its flow:
# (toeplitz(symmetric key, src, dst) % 128) % 2, computed here on its
# own. That lcore must resolve B (or A's address) to forward, while the
# ARP replies all land on lcore 0 and an NA on whichever lcore owns its
# addresses: neighbours learnt on one lcore have to reach the others.
#
# Checks: every ping answered; per lcore, `forwarded` is exactly what
# the flows it owns carried (requests and replies); both lcores own
# flows; neighbours were passed between lcores and none was lost; no
# neigh_unresolved drop; counters add up; SIGTERM exits 0.
#
# usage: dpdk_forward.sh STRATA_BINARY   (root; ~30 s)
set -uo pipefail
STRATA=${1:?usage: dpdk_forward.sh STRATA_BINARY}
IT_NAME=dpdk_forward
. "$(dirname "$0")/lib.sh"

it_require_root
it_need_cmd ip ping jq timeout python3
[ -x "$STRATA" ] || fail "not executable: $STRATA"
STRATA=$(readlink -f "$STRATA")
it_init

S=strata-fw-$$
A=strata-fwa-$$
B=strata-fwb-$$
COUNT=3
HOSTS="1 11 12 13 14 15 16 17 18"

cat >"$IT_WORK/strata.yaml" <<YAML
ports:
  - name: pa
    kind: dpdk
    mac: "02:00:00:00:71:02"
    addresses: [10.71.0.2/24, fd71::2/64]
    dpdk: {devargs: "net_af_packet0,iface=vsa$$,qpairs=2"}
  - name: pb
    kind: dpdk
    mac: "02:00:00:00:72:02"
    addresses: [10.72.0.2/24, fd72::2/64]
    dpdk: {devargs: "net_af_packet1,iface=vsb$$,qpairs=2"}
lcores: {rxtx: 2, workers: 0}
policy:
  default_action: drop
  rules:
    - {action: allow, dst: 10.71.0.2/32}
    - {action: allow, dst: 10.72.0.2/32}
    - {action: allow, dst: fd71::2/128}
    - {action: allow, dst: fd72::2/128}
    - {action: forward, dst: 10.72.0.0/24, out_port: pb}
    - {action: forward, dst: 10.71.0.0/24, out_port: pa}
    - {action: forward, dst: "fd72::/64", out_port: pb}
    - {action: forward, dst: "fd71::/64", out_port: pa}
YAML

it_netns "$S"
it_netns "$A"
it_netns "$B"
it_veth_strata "$S" "vsa$$" "$A" "vka$$"
it_veth_strata "$S" "vsb$$" "$B" "vkb$$"

for h in $HOSTS; do
	ip -n "$A" addr add "10.71.0.$h/24" dev "vka$$" || fail "addr 10.71.0.$h"
	ip -n "$A" addr add "fd71::$h/64" dev "vka$$" nodad || fail "addr fd71::$h"
done
ip -n "$B" addr add 10.72.0.1/24 dev "vkb$$" || fail "addr 10.72.0.1"
ip -n "$B" addr add fd72::1/64 dev "vkb$$" nodad || fail "addr fd72::1"
ip -n "$A" link set "vka$$" up || fail "vka up"
ip -n "$B" link set "vkb$$" up || fail "vkb up"
ip -n "$A" route add 10.72.0.0/24 via 10.71.0.2 || fail "route in A"
ip -n "$A" -6 route add fd72::/64 via fd71::2 || fail "v6 route in A"
ip -n "$B" route add 10.71.0.0/24 via 10.72.0.2 || fail "route in B"
ip -n "$B" -6 route add fd71::/64 via fd72::2 || fail "v6 route in B"

it_strata_start "$S" "$STRATA" "$IT_WORK/strata.yaml"
it_log "strata pid $IT_STRATA_PID in netns $S"
it_wait_for 20 "strata to report its counters" \
	sh -c "kill -0 $IT_STRATA_PID && grep -q 'running with' '$IT_WORK/strata.err'"
it_wait_for 20 "vka$$ up" it_link_ready "$A" "vka$$"
it_wait_for 20 "vkb$$ up" it_link_ready "$B" "vkb$$"

# One ping flow per source address and family: COUNT requests and
# COUNT replies, all forwarded by the flow's owner.
for h in $HOSTS; do
	it_ping "$A" "$COUNT" 10.72.0.1 -I "10.71.0.$h" -i 0.2
	it_ping "$A" "$COUNT" fd72::1 -6 -I "fd71::$h" -i 0.2
done

# The owner of each flow, by the symmetric Toeplitz hash (ICMP: the
# addresses alone), RETA of 128 entries spread over 2 lcores.
owners=$(python3 - $HOSTS <<'PY'
import ipaddress, sys
key = bytes([0x6d, 0x5a] * 20)
def toeplitz(data):
    k = int.from_bytes(key, 'big')
    klen = len(key) * 8
    h = 0
    for i in range(len(data) * 8):
        if data[i // 8] & (0x80 >> (i % 8)):
            h ^= (k >> (klen - 32 - i)) & 0xffffffff
    return h
n = [0, 0]
for h in sys.argv[1:]:
    for src, dst in ((f'10.71.0.{h}', '10.72.0.1'), (f'fd71::{h}', 'fd72::1')):
        data = ipaddress.ip_address(src).packed + ipaddress.ip_address(dst).packed
        n[(toeplitz(data) % 128) % 2] += 1
print(n[0], n[1])
PY
) || fail "cannot compute flow owners"
read -r own0 own1 <<<"$owners"
it_log "flows owned: lcore 0: $own0, lcore 1: $own1"
[ "$own0" -gt 0 ] && [ "$own1" -gt 0 ] ||
	fail "the addresses picked do not spread over both lcores: $owners"

stats=$(it_strata_stats) || exit 1
it_log "lcores: $(echo "$stats" | jq -c '[.lcores[] | {lcore, forwarded: .disposition.forwarded, neigh_sync, drops}]')"
echo "$stats" | jq -e --argjson f0 $((own0 * COUNT * 2)) \
	--argjson f1 $((own1 * COUNT * 2)) '
	def lc(i): .lcores[] | select(.role == "rxtx" and .lcore == i);
	lc(0).disposition.forwarded == $f0 and
	lc(1).disposition.forwarded == $f1 and
	lc(0).neigh_sync.sent > 0 and lc(1).neigh_sync.received > 0 and
	.neigh_sync.lost == 0 and
	(.drops.neigh_unresolved // 0) == 0 and
	([.disposition[]] | add) == .rx_pkts and
	([.drops[]] | add // 0) == .disposition.dropped and
	(.ports | length) == 2' >/dev/null ||
	fail "per-lcore counters are not what the flows carried (want forwarded $((own0 * COUNT * 2)) / $((own1 * COUNT * 2))): $stats"

it_strata_stop
it_log "PASS"
