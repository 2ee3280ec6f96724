#!/usr/bin/env bash
# strata as a laptop-mode L4 proxy. Namespace S holds strata, its TUN
# device and the clients (curl, socat): a prefix inside the origin's
# subnet is routed into the TUN. Namespace O holds the origins (a static
# HTTP server, a UDP echo), reached from S over a veth that strata's
# kernel-socket egress is bound to.
#
# Checks: a 100 MB download over IPv4 and IPv6 with matching sha256;
# 1,000 concurrent connections all complete; UDP request/response; a UDP
# datagram to a closed port gets ICMP port unreachable; a TCP connect to
# a closed port is refused (RST); an origin killed mid-transfer gives the
# client an error, not a hang; one audit line per finished flow; a UDP
# datagram larger than the TUN's MTU (fragmented by the client's
# kernel, reassembled by strata) reaches the origin whole and its echo
# comes back whole, over v4 and v6.
#
# usage: tun_proxy.sh STRATA_BINARY    (root; about a minute)
# env:   TUN_MTU (default 1500) WORKERS SIZE_MB CONNS
set -uo pipefail
STRATA=${1:?usage: tun_proxy.sh STRATA_BINARY}
. "$(dirname "$0")/lib.sh"

it_require_root
it_need_cmd ip curl jq timeout python3 socat sha256sum nginx
[ -x "$STRATA" ] || fail "not executable: $STRATA"
STRATA=$(readlink -f "$STRATA")

it_init
S=strata-px-s-$$
O=strata-px-o-$$
VS=pxs$$
VO=pxo$$
IFN=stpx$$
SIZE_MB=${SIZE_MB:-100}
CONNS=${CONNS:-1000}

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

# Origins: nginx serving static files (v4 and v6), a plain Python HTTP
# server to kill mid-transfer, a UDP echo.
mkdir -p "$IT_WORK/www"
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$IT_WORK/www/big"
echo hello >"$IT_WORK/www/small"
WANT=$(sha256sum <"$IT_WORK/www/big" | cut -d' ' -f1)
ip netns exec "$O" sysctl -qw net.core.somaxconn=4096
it_nginx "$O" 4096 <<NGINX
	access_log off;
	server {
		listen 8080 backlog=4096;
		listen [::]:8080 backlog=4096;
		root $IT_WORK/www;
	}
NGINX
# An origin that streams forever and, when killed, resets (linger 0).
cat >"$IT_WORK/resetter.py" <<'PY'
import socket, struct
ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("::", 8081))
ls.listen(16)
while True:
    c, _ = ls.accept()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.recv(4096)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
    while True:
        c.sendall(b"x" * 65536)
PY
ip netns exec "$O" python3 "$IT_WORK/resetter.py" >/dev/null 2>&1 &
it_track_pid $!
HTTP_PID=$!
ip netns exec "$O" socat -T 5 UDP6-RECVFROM:5353,fork,reuseaddr \
	EXEC:cat >/dev/null 2>&1 &
it_track_pid $!
# A UDP echo that logs the size and sha256 of each datagram it got.
cat >"$IT_WORK/udp_log_echo.py" <<'PY'
import hashlib, socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 5354))
with open(sys.argv[1], "a", buffering=1) as log:
    while True:
        d, peer = s.recvfrom(65535)
        log.write("%d %s\n" % (len(d), hashlib.sha256(d).hexdigest()))
        s.sendto(d, peer)
PY
ip netns exec "$O" python3 "$IT_WORK/udp_log_echo.py" "$IT_WORK/udp_origin.log" \
	>/dev/null 2>&1 &
it_track_pid $!

cat >"$IT_WORK/strata.yaml" <<YAML
ports:
  - name: tun0
    kind: tun
    addresses: [10.77.0.2/24, fd77::2/64]
    mtu: ${TUN_MTU:-1500}
    tun:
      ifname: $IFN
      kernel_addresses: [10.77.0.1/24, fd77::1/64]
      # more specific than the veth's subnet: clients go through strata
      routes: [10.99.0.0/25, "fd99::/65"]
lcores: {rxtx: 1, workers: ${WORKERS:-1}}
policy:
  default_action: stack
egress:
  interface: $VS
audit:
  path: $IT_WORK/audit.log
YAML

it_strata_start "$S" "$STRATA" "$IT_WORK/strata.yaml"
it_wait_for 20 "$IFN up" it_link_ready "$S" "$IFN"
route_in() { ip -n "$S" route get 10.99.0.2 | grep -q "dev $IFN"; }
it_wait_for 10 "route into $IFN" route_in
origin_up() {
	ip netns exec "$O" curl -sf http://127.0.0.1:8080/small &&
		ip netns exec "$O" ss -ltn | grep -q ':8081 '
}
it_wait_for 10 "origin HTTP servers" origin_up

sx() { timeout "$1" ip netns exec "$S" "${@:2}"; }

# Downloads, v4 and v6.
for url in http://10.99.0.2:8080/big "http://[fd99::2]:8080/big"; do
	got=$(sx 120 curl -sS --max-time 100 "$url" | sha256sum | cut -d' ' -f1)
	[ "$got" = "$WANT" ] || fail "download $url: sha256 $got, want $WANT"
	it_log "download $url: ${SIZE_MB} MB, sha256 matches"
done

# A slow client: the origin is fast, the client reads 256 KB/s. Flow
# control must hold the bytes back in the origin, not in strata.
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$IT_STRATA_PID/status"; }
sx 30 curl -sS --limit-rate 256K --max-time 10 -o /dev/null \
	http://10.99.0.2:8080/big 2>/dev/null &
SLOW_PID=$!
it_track_pid $SLOW_PID
sleep 2
rss0=$(rss_kb)
sleep 7
rss1=$(rss_kb)
wait "$SLOW_PID"
[ $((rss1 - rss0)) -le 8192 ] ||
	fail "strata grew from $rss0 to $rss1 KiB during a slow download"
it_log "slow client: strata RSS $rss0 -> $rss1 KiB over 7 s"

# Many at once.
cat >"$IT_WORK/many.py" <<'PY'
import socket, sys, selectors, time
n, host, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
sel = selectors.DefaultSelector()
req = b"GET /small HTTP/1.0\r\nHost: x\r\n\r\n"
done = 0
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.connect_ex((host, port))
    sel.register(s, selectors.EVENT_WRITE, [b"", False])
deadline = time.time() + 60
while done < n and time.time() < deadline:
    for key, ev in sel.select(1):
        s, st = key.fileobj, key.data
        if ev & selectors.EVENT_WRITE and not st[1]:
            s.send(req); st[1] = True
            sel.modify(s, selectors.EVENT_READ, st)
            continue
        d = s.recv(65536)
        if d:
            st[0] += d
            continue
        sel.unregister(s); s.close()
        if st[0].startswith(b"HTTP/1.1 200") and st[0].endswith(b"hello\n"):
            done += 1
print(done)
PY
got=$(sx 90 python3 "$IT_WORK/many.py" "$CONNS" 10.99.0.2 8080)
[ "$got" = "$CONNS" ] || fail "$CONNS concurrent connections: ${got:-0} completed"
it_log "$CONNS concurrent connections completed"

# UDP request/response, and ICMP port unreachable from a closed port.
got=$(echo ping-udp | sx 10 socat -T 3 - UDP6:[fd99::2]:5353)
[ "$got" = ping-udp ] || fail "UDP echo over v6: got '$got'"
got=$(echo ping-udp4 | sx 10 socat -T 3 - UDP4:10.99.0.2:5353)
[ "$got" = ping-udp4 ] || fail "UDP echo over v4: got '$got'"
it_log "UDP echo works over v4 and v6"

# A datagram past the TUN's MTU: fragments in, one datagram to the
# origin, fragments back out.
BIG_UDP=$(( ${TUN_MTU:-1500} + 2500 > 65400 ? 65400 : ${TUN_MTU:-1500} + 2500 ))
cat >"$IT_WORK/udp_big.py" <<'PY'
import hashlib, os, socket, sys
host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                  socket.SOCK_DGRAM)
s.settimeout(3)
d = os.urandom(size)
for attempt in range(3):
    s.sendto(d, (host, port))
    try:
        r = s.recv(65535)
    except socket.timeout:
        continue
    print("%d %s %s" % (size, hashlib.sha256(d).hexdigest(),
                        "same" if r == d else "differs(%d)" % len(r)))
    break
else:
    print("%d %s timeout" % (size, hashlib.sha256(d).hexdigest()))
PY
for host in 10.99.0.2 fd99::2; do
	got=$(sx 15 python3 "$IT_WORK/udp_big.py" "$host" 5354 "$BIG_UDP")
	set -- $got
	[ "${3:-}" = same ] ||
		fail "UDP $BIG_UDP bytes to $host (MTU ${TUN_MTU:-1500}): ${3:-no answer}"
	grep -q "^$1 $2\$" "$IT_WORK/udp_origin.log" ||
		fail "origin did not log the $BIG_UDP-byte datagram from $host:" \
			"$(tail -n 3 "$IT_WORK/udp_origin.log")"
done
it_log "UDP datagram of $BIG_UDP bytes (TUN MTU ${TUN_MTU:-1500}) reached" \
	"the origin whole and came back whole, v4 and v6"
cat >"$IT_WORK/closed.py" <<'PY'
# Connect to a closed port over UDP or TCP; print what the client saw.
import socket, sys
kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                  socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
s.settimeout(3)
try:
    s.connect((host, port))
    s.send(b"x")
    s.recv(100)
    print("answer")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
PY
for host in 10.99.0.2 fd99::2; do
	for kind in udp tcp; do
		got=$(sx 10 python3 "$IT_WORK/closed.py" $kind $host 9)
		[ "$got" = refused ] ||
			fail "$kind to closed port $host:9: $got, want refused"
	done
done
it_log "closed ports: UDP gets ICMP port unreachable, TCP gets RST (v4, v6)"

# Origin dies mid-transfer and resets: the client must be reset too,
# quickly, not left hanging.
sx 60 curl -sS --limit-rate 1M --max-time 50 -o /dev/null \
	http://10.99.0.2:8081/ 2>"$IT_WORK/killed.err" &
CURL_PID=$!
it_track_pid $CURL_PID
sleep 2
kill -KILL "$HTTP_PID"
t0=$(date +%s)
wait "$CURL_PID"
rc=$?
t1=$(date +%s)
[ "$rc" -ne 0 ] || fail "download from a killed origin reported success"
[ $((t1 - t0)) -le 20 ] || fail "client hung $((t1 - t0)) s after the origin died"
grep -q 'reset' "$IT_WORK/killed.err" ||
	fail "client saw '$(cat "$IT_WORK/killed.err")', want a reset"
it_log "origin killed mid-transfer: curl failed after $((t1 - t0)) s" \
	"($(head -c 120 "$IT_WORK/killed.err"))"

stats=$(it_strata_stats) || exit 1
it_log "stack: $(echo "$stats" | jq -c '.lcores[] | select(.role=="worker") | .stack')"
it_strata_stop
lines=$(wc -l <"$IT_WORK/audit.log")
[ "$lines" -ge $((CONNS + 3)) ] || fail "audit log has $lines lines, want >= $((CONNS + 3))"
jq -e -s 'all(.[]; has("start") and has("end") and has("client") and
	has("orig_dst") and has("dst") and has("bytes_up") and
	has("bytes_down") and has("close"))' "$IT_WORK/audit.log" >/dev/null ||
	fail "audit lines lack fields: $(head -n 2 "$IT_WORK/audit.log")"
big=$(jq -s --argjson sz $((SIZE_MB * 1024 * 1024)) \
	'[.[] | select(.bytes_down >= $sz)] | length' "$IT_WORK/audit.log")
[ "$big" -ge 2 ] || fail "audit log does not show the two downloads"
it_log "audit log: $lines lines"
it_log "PASS"
