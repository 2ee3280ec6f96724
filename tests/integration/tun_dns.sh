#!/usr/bin/env bash
# Egress by name: strata's egress.rewrite sends connections for some
# addresses routed into its TUN to host names, resolved through c-ares
# (dnsmasq in the origin namespace) and connected with happy eyeballs.
#
# Checks: a name with A and AAAA is reached (IPv6 first) and the answer
# is cached for its TTL, then asked again; the first resolver is dead and
# the second answers; a name whose AAAA goes nowhere still connects
# quickly over IPv4 (happy eyeballs); NXDOMAIN refuses the client (RST)
# and is remembered (negative cache); UDP to a name works.
#
# usage: tun_dns.sh STRATA_BINARY    (root; about 30 s)
set -uo pipefail
STRATA=${1:?usage: tun_dns.sh STRATA_BINARY}
. "$(dirname "$0")/lib.sh"

it_require_root
it_need_cmd ip curl jq timeout python3 socat dnsmasq
[ -x "$STRATA" ] || fail "not executable: $STRATA"
STRATA=$(readlink -f "$STRATA")

it_init
S=strata-dns-s-$$
O=strata-dns-o-$$
VS=dns$$s
VO=dns$$o
IFN=stdn$$

it_netns "$S"
it_netns "$O"
ip link add "$VS" netns "$S" type veth peer name "$VO" netns "$O" ||
	fail "veth"
ip -n "$S" addr add 10.99.0.1/24 dev "$VS"
ip -n "$S" addr add fd99::1/64 dev "$VS" nodad
ip -n "$O" addr add 10.99.0.2/24 dev "$VO"
ip -n "$O" addr add fd99::2/64 dev "$VO" nodad
ip -n "$S" link set "$VS" up
ip -n "$O" link set "$VO" up

# Origins: an HTTP server on both families, a UDP echo; dnsmasq
# authoritative for .test with a 6 s TTL (long enough that a loaded
# machine still asks twice within it).
mkdir -p "$IT_WORK/www"
echo hello >"$IT_WORK/www/small"
ip netns exec "$O" python3 -m http.server --bind :: --directory \
	"$IT_WORK/www" 8080 >/dev/null 2>&1 &
it_track_pid $!
ip netns exec "$O" socat UDP6-RECVFROM:5353,fork,reuseaddr EXEC:cat \
	>/dev/null 2>&1 &
it_track_pid $!
ip netns exec "$O" dnsmasq --keep-in-foreground --no-resolv --no-hosts \
	--listen-address=10.99.0.2 --bind-interfaces --port=53 \
	--local=/test/ --local-ttl=6 --log-facility=/dev/null \
	--host-record=origin.test,10.99.0.2,fd99::2 \
	--host-record=brokenv6.test,10.99.0.2,fd99::dead \
	--pid-file="$IT_WORK/dnsmasq.pid" >/dev/null 2>&1 &
it_track_pid $!

cat >"$IT_WORK/strata.yaml" <<YAML
ports:
  - name: tun0
    kind: tun
    addresses: [10.77.0.2/24]
    tun:
      ifname: $IFN
      kernel_addresses: [10.77.0.1/24]
      routes: [198.18.0.0/24]
lcores: {rxtx: 1, workers: 1}
policy: {default_action: stack}
egress:
  interface: $VS
  rewrite:
    - {dst: 198.18.0.1/32, host: origin.test, port: 8080}
    - {dst: 198.18.0.2/32, host: brokenv6.test, port: 8080}
    - {dst: 198.18.0.3/32, host: nx.test, port: 8080}
    - {dst: 198.18.0.4/32, host: origin.test, port: 5353}
dns:
  # the first resolver does not exist: c-ares must move on
  servers: [10.99.0.77, 10.99.0.2]
  timeout_ms: 300
  tries: 2
  negative_ttl_s: 30
YAML

it_strata_start "$S" "$STRATA" "$IT_WORK/strata.yaml"
it_wait_for 20 "$IFN up" it_link_ready "$S" "$IFN"
route_in() { ip -n "$S" route get 198.18.0.1 | grep -q "dev $IFN"; }
it_wait_for 10 "route into $IFN" route_in
dns_up() { ip netns exec "$O" ss -lun | grep -q '10.99.0.2:53 '; }
it_wait_for 10 "dnsmasq" dns_up

sx() { timeout "$1" ip netns exec "$S" "${@:2}"; }
dns() { it_strata_stats | jq -c '[.lcores[] | select(.role=="worker") | .stack.dns] | .[0]'; }

get() {
	sx 20 curl -sS --max-time 15 -o /dev/null -w '%{http_code} %{time_total}' \
		"http://$1:8080/small" 2>&1
}

out=$(get 198.18.0.1)
[ "${out%% *}" = 200 ] || fail "origin.test via 198.18.0.1: $out"
d=$(dns)
[ "$(echo "$d" | jq .answers)" = 1 ] || fail "want one DNS answer: $d"
it_log "origin.test: $out (first resolver dead, second answered): dns $d"
out=$(get 198.18.0.1)
[ "${out%% *}" = 200 ] || fail "second request: $out"
d=$(dns)
[ "$(echo "$d" | jq .cache_hits)" = 1 ] || fail "want a cache hit: $d"
sleep 7 # past the 6 s TTL
out=$(get 198.18.0.1)
[ "${out%% *}" = 200 ] || fail "after the TTL: $out"
d=$(dns)
[ "$(echo "$d" | jq .answers)" = 2 ] || fail "want a new answer after the TTL: $d"
it_log "TTL honoured: cached, then asked again: dns $d"

# Happy eyeballs: the AAAA leads nowhere, IPv4 must win well before the
# IPv6 attempt gives up (neighbour discovery takes ~3 s).
out=$(get 198.18.0.2)
[ "${out%% *}" = 200 ] || fail "brokenv6.test: $out"
t=${out#* }
python3 -c "import sys; sys.exit(0 if float('$t') < 2.0 else 1)" ||
	fail "brokenv6.test took $t s: no happy eyeballs"
it_log "brokenv6.test: $out (IPv4 won while IPv6 hung)"

# NXDOMAIN: the client is refused, and the failure is cached.
out=$(get 198.18.0.3)
echo "$out" | grep -q "Couldn't connect\|refused" || fail "nx.test: $out"

out=$(get 198.18.0.3)
d=$(dns)
[ "$(echo "$d" | jq .negative_hits)" -ge 1 ] || fail "want a negative cache hit: $d"
it_log "nx.test refused and negatively cached: dns $d"

# UDP to a name.
got=$(echo ping-dns | sx 10 socat -T 3 - UDP4:198.18.0.4:9)
[ "$got" = ping-dns ] || fail "UDP via origin.test: got '$got'"
it_log "UDP to origin.test works"

it_strata_stop
it_log "PASS"
