#!/usr/bin/env bash
# strata on DPDK ports (net_af_packet on veths) as an L4 proxy with no
# kernel on its path: client namespace C -- port p0 -- strata -- port p1
# -- origin namespace O. The client routes the origin's subnet through
# strata; strata terminates TCP in lwIP and opens the upstream connection
# with lwIP too (egress.connector: stack), from its own address on p1.
#
# Checks: a 100 MB download with a matching sha256 over IPv4 and IPv6;
# the origin sees strata's p1 address as the client (no kernel socket
# involved); a name whose IPv6 address is dead is reached over IPv4 by
# happy eyeballs through lwIP, by the L4 proxy (egress.rewrite) and by
# the HTTP proxy's upstream dials (an endpoint on strata's address); a
# closed origin port refuses the client.
#
# usage: dpdk_proxy.sh STRATA_BINARY    (root; about a minute)
set -uo pipefail
STRATA=${1:?usage: dpdk_proxy.sh STRATA_BINARY}
. "$(dirname "$0")/lib.sh"

it_require_root
it_need_cmd ip curl jq timeout python3 sha256sum nginx ethtool
[ -x "$STRATA" ] || fail "not executable: $STRATA"
STRATA=$(readlink -f "$STRATA")

it_init
NS=strata-dx-$$       # strata and the strata ends of both veths
C=strata-dxc-$$
O=strata-dxo-$$
SIZE_MB=${SIZE_MB:-100}

it_netns "$NS"
it_netns "$C"
it_netns "$O"
it_veth_strata "$NS" dxs0$$ "$C" dxc$$
it_veth_strata "$NS" dxs1$$ "$O" dxo$$
ip -n "$C" addr add 10.61.0.1/24 dev dxc$$
ip -n "$C" addr add fd61::1/64 dev dxc$$ nodad
ip -n "$C" link set dxc$$ up
ip -n "$C" route add 10.62.0.0/24 via 10.61.0.2
ip -n "$C" route add fd62::/64 via fd61::2
ip -n "$O" addr add 10.62.0.1/24 dev dxo$$
ip -n "$O" addr add fd62::1/64 dev dxo$$ nodad
ip -n "$O" link set dxo$$ up
# A veth leaves TCP checksums to "hardware" that af_packet never runs:
# have the kernel ends fill them in, as a real NIC's peer would.
ip netns exec "$C" ethtool -K dxc$$ tx off >/dev/null
ip netns exec "$O" ethtool -K dxo$$ tx off >/dev/null

mkdir -p "$IT_WORK/www"
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$IT_WORK/www/big"
echo hello >"$IT_WORK/www/small"
WANT=$(sha256sum <"$IT_WORK/www/big" | cut -d' ' -f1)
it_nginx "$O" <<NGINX
	log_format peer '\$remote_addr \$request';
	access_log $IT_WORK/access.log peer;
	server {
		listen 8080;
		listen [::]:8080;
		root $IT_WORK/www;
	}
NGINX

cat >"$IT_WORK/strata.yaml" <<YAML
ports:
  - name: p0
    kind: dpdk
    mac: "02:00:00:00:61:02"
    addresses: [10.61.0.2/24, fd61::2/64]
    dpdk: {devargs: "net_af_packet0,iface=dxs0$$"}
  - name: p1
    kind: dpdk
    mac: "02:00:00:00:62:02"
    addresses: [10.62.0.2/24, fd62::2/64]
    dpdk: {devargs: "net_af_packet1,iface=dxs1$$"}
lcores: {rxtx: 1, workers: 1}
policy: {default_action: stack}
egress:
  connector: stack
  # a name whose IPv6 address leads nowhere: happy eyeballs over lwIP
  rewrite: [{dst: 10.62.0.99/32, host: dual.test}]
endpoints:
  - name: web
    stack_port: 8081
routes:
  - upstream: origin
upstreams:
  - name: origin
    servers: ["dual.test:8080"]
YAML
it_netns_hosts "$NS" "fd62::99 dual.test" "10.62.0.1 dual.test"

it_strata_start "$NS" "$STRATA" "$IT_WORK/strata.yaml"
origin_up() { ip netns exec "$O" curl -sf http://127.0.0.1:8080/small; }
it_wait_for 20 "origin" origin_up
# strata learns both neighbours from their ARP/NDP for its addresses
it_wait_for 20 "client reaches strata" ip netns exec "$C" ping -c1 -W1 10.61.0.2
it_wait_for 20 "origin reaches strata" ip netns exec "$O" ping -c1 -W1 10.62.0.2
ip netns exec "$C" ping -6 -c1 -W2 fd61::2 >/dev/null 2>&1
ip netns exec "$O" ping -6 -c1 -W2 fd62::2 >/dev/null 2>&1

sx() { timeout "$1" ip netns exec "$C" "${@:2}"; }
for url in http://10.62.0.1:8080/big "http://[fd62::1]:8080/big"; do
	got=$(sx 150 curl -sS --max-time 140 "$url" | sha256sum | cut -d' ' -f1)
	[ "$got" = "$WANT" ] || fail "download $url: sha256 $got, want $WANT"
	it_log "download $url: ${SIZE_MB} MB, sha256 matches"
done
grep -q '^10.62.0.2 GET /big' "$IT_WORK/access.log" ||
	fail "origin did not see strata's p1 address: $(cat "$IT_WORK/access.log")"
grep -q '^fd62::2 GET /big' "$IT_WORK/access.log" ||
	fail "origin did not see strata's p1 IPv6 address: $(cat "$IT_WORK/access.log")"
it_log "origin saw strata's own addresses: $(cut -d' ' -f1 "$IT_WORK/access.log" | sort -u | tr '\n' ' ')"

# By name: the AAAA (fd62::99) never answers neighbour discovery, the A
# wins after the attempt delay; for the L4 proxy and for the HTTP
# proxy's upstream dials, both through lwIP out of p1.
for url in http://10.62.0.99:8080/small http://10.61.0.2:8081/small; do
	out=$(sx 20 curl -sS --max-time 10 -o "$IT_WORK/body" \
		-w '%{http_code} %{time_total}' "$url" 2>&1)
	[ "${out%% *}" = 200 ] && [ "$(cat "$IT_WORK/body")" = hello ] ||
		fail "$url (dual.test): '$out'"
	it_log "$url via dual.test, IPv6 dead: ${out#* } s"
done
[ "$(grep -c '^10.62.0.2 GET /small' "$IT_WORK/access.log")" -ge 2 ] ||
	fail "origin did not see both by-name requests from strata's p1: $(cat "$IT_WORK/access.log")"

out=$(sx 10 curl -sS --max-time 5 http://10.62.0.1:9/ 2>&1)
echo "$out" | grep -q "Couldn't connect\|refused" ||
	fail "closed origin port: '$out', want refused"
it_log "closed origin port: refused"

stats=$(it_strata_stats) || exit 1
it_log "stack: $(echo "$stats" | jq -c '.lcores[] | select(.role=="worker") | .stack | {tcp_conns, upstream_refused, lwip_other_out, closed}')"
it_strata_stop
it_log "PASS"
