#!/usr/bin/env bash
# strata as an HTTP reverse proxy and server, cleartext, with real peers:
# curl (HTTP/1.1, HTTP/2 prior knowledge), nghttp and h2load in front,
# nginx and a small Python origin behind, in a namespace of its own.
#
# Checks: GET and HEAD through HTTP/1.1 and HTTP/2; 20 MB down and up
# with sha256 both ways and both versions; keep-alive reuse of upstream
# connections; X-Forwarded-For; routes by path and host, 404 for no
# route, 502 naming the cause for a dead upstream and 503 while it is
# marked down, a pool with a dead server still answering, 504 for an
# upstream that never answers, an HTTP/2 upstream, an upstream capped
# at 2 connections taking a burst of 50 streams; an Upgrade (101)
# tunnel echoing 100 KB, the same from an HTTP/2 extended CONNECT client,
# and towards an HTTP/2 origin (both python3-h2); gRPC-style trailers
# (and te: trailers) through HTTP/2 both ways, and response trailers on
# HTTP/1.1's last chunk, with a trailer the http_rules app set from one
# the origin sent; an upstream capped at 1 connection whose origin holds
# a request: the next waits connect_timeout_ms in the queue, then 504
# (counted), and never reaches the origin; the http_rules app
# blocks by path, answers directly, rewrites a request header, and reads
# a form field out of a streamed 50 MB multipart upload with resident
# memory flat; h2load with many concurrent streams; nghttp with a tiny
# window (flow-control stalls recover); raw smuggling attempts each get
# 400 and never reach nginx; an endpoint on strata's own address through
# the userspace stack; clients that send nothing or half a head let go
# after header_timeout_ms; in laptop mode, TCP to port 80 of a routed prefix
# intercepted into the HTTP pipeline (its hooks run), other protocols on
# that port given back to the L4 proxy (each ends with an audit line
# whose byte counts are what crossed, and the L4 counters count it; the
# ones it serves end with an audit line too, "http_service", counting
# the bytes of the client's connection), and other
# ports proxied at L4.
#
# usage: http_proxy.sh STRATA_BINARY    (root; about a minute)
set -uo pipefail
STRATA=${1:?usage: http_proxy.sh STRATA_BINARY}
. "$(dirname "$0")/lib.sh"

it_require_root
it_need_cmd ip curl jq timeout python3 nginx nghttp h2load sha256sum
/usr/bin/python3 -c 'import h2' 2>/dev/null || fail "missing python3-h2"
[ -x "$STRATA" ] || fail "not executable: $STRATA"
STRATA=$(readlink -f "$STRATA")

it_init
N=strata-h7-$$
IFN=sh7$$
it_netns "$N"
# (background processes are started with ip netns exec itself, not
# through this function, so that $! is their PID for the cleanup)
inn() { ip netns exec "$N" "$@"; }

# ---- origins ------------------------------------------------------------
mkdir -p "$IT_WORK/www/route-b"
echo hello >"$IT_WORK/www/small"
mkdir -p "$IT_WORK/www/capped"
echo capped >"$IT_WORK/www/capped/small"
echo b-side >"$IT_WORK/www/route-b/which"
head -c $((20 * 1024 * 1024)) /dev/urandom >"$IT_WORK/www/big"
WANT=$(sha256sum <"$IT_WORK/www/big" | cut -d' ' -f1)
it_nginx "$N" <<NGINX
	log_format plain '\$request_uri \$server_protocol';
	access_log $IT_WORK/access.log plain;
	server {
		listen 127.0.0.1:18080;
		listen [::1]:18080;
		root $IT_WORK/www;
		location = /xff { return 200 "\$http_x_forwarded_for\n"; }
		location = /hdr { return 200 "\$http_x_strata\n"; }
		location = /upload {
			client_max_body_size 200m;
			client_body_buffer_size 1m;
			return 200 "ok\n";
		}
	}
	server {
		listen 127.0.0.1:18083 http2;
		root $IT_WORK/www;
	}
NGINX
# An origin that hashes request bodies (nginx has no such thing).
cat >"$IT_WORK/hasher.py" <<'PY'
import hashlib, http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        h, left = hashlib.sha256(), int(self.headers.get("content-length", 0))
        while left:
            b = self.rfile.read(min(left, 1 << 16))
            if not b: break
            h.update(b); left -= len(b)
        out = (h.hexdigest() + "\n").encode()
        self.send_response(200)
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", 18081), H).serve_forever()
PY
ip netns exec "$N" python3 "$IT_WORK/hasher.py" &
it_track_pid $!
# An origin that takes requests and never answers.
ip netns exec "$N" python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 18082)); s.listen(64)
held = []
while True:
    held.append(s.accept()[0])
' &
it_track_pid $!
# Echo origins: a WebSocket-like one (101, then it echoes) on 18084;
# for other protocols on intercepted port 80, a plain echo (the client
# speaks first) on 18085, one that speaks first (a banner) on 18086, and
# one whose banner comes after the endpoint's header timeout on 18088.
ip netns exec "$N" python3 -c '
import socket, threading, time
def serve(c, mode):
    if mode == "ws":
        head = b""
        while b"\r\n\r\n" not in head:
            head += c.recv(4096)
        if b"upgrade: websocket" not in head.lower():
            c.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            c.close()
            return
        c.sendall(b"HTTP/1.1 101 Switching Protocols\r\n"
                  b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
    elif mode == "banner":
        c.sendall(b"220 ready\r\n")
    elif mode == "slow":
        time.sleep(2.5)
        c.sendall(b"220 slow\r\n")
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()
def listen(port, mode):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port)); s.listen(16)
    while True:
        threading.Thread(target=serve, args=(s.accept()[0], mode)).start()
threading.Thread(target=listen, args=(18084, "ws")).start()
threading.Thread(target=listen, args=(18085, "echo")).start()
threading.Thread(target=listen, args=(18088, "slow")).start()
listen(18086, "banner")
' &
it_track_pid $!
# An HTTP/2 origin that takes extended CONNECT (RFC 8441) for websocket,
# answers 200 and echoes the stream; and answers a POST the way gRPC
# does: body, then trailers (grpc-status, and what it saw: the request's
# trailer and its te).
cat >"$IT_WORK/h2wsd.py" <<'PY'
import socket, threading
import h2.config, h2.connection, h2.events, h2.settings
def serve(sock):
    c = h2.connection.H2Connection(h2.config.H2Configuration(
        client_side=False, validate_inbound_headers=False))
    c.initiate_connection()
    c.update_settings({h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1})
    sock.sendall(c.data_to_send())
    echo = {}  # stream -> bytes waiting for flow-control credit
    rpc = {}   # stream -> [te, body, request trailer]
    while True:
        data = sock.recv(65536)
        if not data:
            break
        for ev in c.receive_data(data):
            if isinstance(ev, h2.events.RequestReceived):
                h = dict(ev.headers)
                if h.get(b":method") == b"POST":
                    rpc[ev.stream_id] = [h.get(b"te", b"none"), b"", b"none"]
                    continue
                ok = h.get(b":method") == b"CONNECT" and \
                     h.get(b":protocol") == b"websocket"
                c.send_headers(ev.stream_id,
                               [(b":status", b"200" if ok else b"400")],
                               end_stream=not ok)
                echo[ev.stream_id] = b""
            elif isinstance(ev, h2.events.DataReceived):
                c.acknowledge_received_data(len(ev.data), ev.stream_id)
                if ev.stream_id in rpc:
                    rpc[ev.stream_id][1] += ev.data
                else:
                    echo[ev.stream_id] += ev.data
            elif isinstance(ev, h2.events.TrailersReceived):
                rpc[ev.stream_id][2] = dict(ev.headers).get(b"x-req-sum",
                                                            b"none")
            elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id in rpc:
                te, body, tr = rpc.pop(ev.stream_id)
                c.send_headers(ev.stream_id, [(b":status", b"200"),
                    (b"content-type", b"application/grpc")])
                c.send_data(ev.stream_id, b"reply:" + body)
                c.send_headers(ev.stream_id, [(b"grpc-status", b"0"),
                    (b"x-got-trailer", tr), (b"x-got-te", te)],
                    end_stream=True)
        for sid in echo:
            while echo[sid]:
                n = min(len(echo[sid]), c.local_flow_control_window(sid),
                        c.max_outbound_frame_size)
                if n <= 0:
                    break
                c.send_data(sid, echo[sid][:n])
                echo[sid] = echo[sid][n:]
        sock.sendall(c.data_to_send())
    sock.close()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 18087)); s.listen(16)
while True:
    threading.Thread(target=serve, args=(s.accept()[0],)).start()
PY
ip netns exec "$N" /usr/bin/python3 "$IT_WORK/h2wsd.py" &
it_track_pid $!
# An origin that takes 2 s to answer, and notes each request it gets.
cat >"$IT_WORK/slow.py" <<'PY'
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        with open(sys.argv[1], "a") as f:
            f.write(self.path + "\n")
        time.sleep(2)
        self.send_response(200)
        self.send_header("content-length", "5")
        self.end_headers()
        self.wfile.write(b"slow\n")
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", 18089), H).serve_forever()
PY
ip netns exec "$N" python3 "$IT_WORK/slow.py" "$IT_WORK/slow.log" &
it_track_pid $!

# ---- strata -------------------------------------------------------------
cat >"$IT_WORK/strata.yaml" <<YAML
ports:
  - name: tun0
    kind: tun
    tun:
      ifname: $IFN
      kernel_addresses: [10.97.0.1/24]
      routes: [10.97.5.0/24]
    addresses: [10.97.0.2/24]
policy:
  default_action: stack
egress:
  interface: ""
  # the "remote" site 10.97.5.5 is the local nginx
  rewrite:
    - dst: 10.97.5.5/32
      host: 127.0.0.1
      port: 18080
    - dst: 10.97.5.6/32
      host: 127.0.0.1
      port: 18085
    - dst: 10.97.5.7/32
      host: 127.0.0.1
      port: 18086
    - dst: 10.97.5.8/32
      host: 127.0.0.1
      port: 18088
audit:
  path: $IT_WORK/audit.log
endpoints:
  - name: web
    listen: ["127.0.0.1:8080", "[::1]:8080"]
    stack_port: 80
    intercept_dports: "80"
    header_timeout_ms: 1500
upstreams:
  - name: nginx
    servers: ["127.0.0.1:18080"]
  - name: hasher
    servers: ["127.0.0.1:18081"]
  - name: dead
    servers: ["127.0.0.1:1"]
    retries: 0
  - name: pair
    servers: ["127.0.0.1:1", "127.0.0.1:18080"]
  - name: silent
    servers: ["127.0.0.1:18082"]
    response_timeout_ms: 500
  - name: nginx-h2
    servers: ["127.0.0.1:18083"]
    protocol: http2
  - name: ws
    servers: ["127.0.0.1:18084"]
  - name: ws-h2
    servers: ["127.0.0.1:18087"]
    protocol: http2
  - name: capped
    servers: ["127.0.0.1:18080"]
    max_connections: 2
  # one connection, a short wait for it in the queue
  - name: queued
    servers: ["127.0.0.1:18089"]
    max_connections: 1
    connect_timeout_ms: 300
routes:
  - host: ws.test
    upstream: ws
  - host: ws-h2.test
    upstream: ws-h2
  - host: grpc.test
    upstream: ws-h2
  - host: queue.test
    upstream: queued
  # answers once it read the whole body: the form field is seen by then
  - path: /upload
    upstream: hasher
  - host: pair.test
    upstream: pair
  - host: silent.test
    upstream: silent
  - host: h2up.test
    upstream: nginx-h2
  - path: /sha
    upstream: hasher
  - path: /dead
    upstream: dead
  - path: /capped
    upstream: capped
  - host: "*.b.test"
    upstream: nginx
  - host: nowhere.test
    status: 421
  - host: ""
    path: /
    upstream: nginx
http_rules:
  - path: /blocked
    action: block
    body: "blocked by policy\n"
  - path: /hello
    action: answer
    body: "hello from strata\n"
  - path: /hdr
    action: set_header
    header: x-strata
    value: "seen \$method \$path"
  - path: /upload
    action: form_field
    field: note
    header: x-note
  - action: set_response_header
    header: x-served-by
    value: "strata \$endpoint \$alpn"
  # reads the origin's trailer, sets one of its own
  - host: grpc.test
    action: set_response_trailer
    header: x-strata-saw
    value: "grpc-status=\$trailer:grpc-status"
YAML
"$STRATA" config check "$IT_WORK/strata.yaml" || fail "config check"
# a trailer rule for a field trailers may not carry is refused up front
sed 's/header: x-strata-saw/header: Content-Length/' "$IT_WORK/strata.yaml" \
	>"$IT_WORK/bad.yaml"
"$STRATA" config check "$IT_WORK/bad.yaml" 2>"$IT_WORK/err" &&
	fail "config check took a Content-Length trailer rule"
grep -q "may not be sent as a trailer field" "$IT_WORK/err" ||
	fail "trailer rule refusal: $(cat "$IT_WORK/err")"
it_strata_start "$N" "$STRATA" "$IT_WORK/strata.yaml"
it_wait_for 20 "strata's listener" inn curl -sf -o /dev/null \
	http://127.0.0.1:8080/small
it_wait_for 10 "the hasher" inn curl -sf -o /dev/null \
	-d x http://127.0.0.1:18081/

C="inn curl -sS --max-time 30"

# ---- basics, both versions -------------------------------------------------
for v in --http1.1 --http2-prior-knowledge; do
	out=$($C $v http://127.0.0.1:8080/small) || fail "GET $v"
	[ "$out" = hello ] || fail "GET $v: got '$out'"
	out=$($C $v -g http://[::1]:8080/small) || fail "GET [::1] $v"
	[ "$out" = hello ] || fail "GET [::1] $v: got '$out'"
	ver=$($C $v -o /dev/null -w '%{http_version}' \
		http://127.0.0.1:8080/small)
	want=2
	[ "$v" = --http1.1 ] && want=1.1
	[ "$ver" = "$want" ] || fail "$v: spoke HTTP/$ver"
	hdrs=$($C $v -sI http://127.0.0.1:8080/small) || fail "HEAD $v"
	echo "$hdrs" | grep -qi '^content-length: 6' ||
		fail "HEAD $v: no content-length 6: $hdrs"
	echo "$hdrs" | grep -qi '^x-served-by: strata web' ||
		fail "$v: set_response_header missing: $hdrs"
	got=$($C $v http://127.0.0.1:8080/big | sha256sum | cut -d' ' -f1)
	[ "$got" = "$WANT" ] || fail "20 MB download $v: sha256 differs"
	got=$($C $v --data-binary @"$IT_WORK/www/big" \
		http://127.0.0.1:8080/sha)
	[ "$got" = "$WANT" ] || fail "20 MB upload $v: origin hashed '$got'"
	it_log "$v: GET, HEAD, 20 MB both ways ok"
done
out=$($C http://127.0.0.1:8080/xff)
[ "$out" = 127.0.0.1 ] || fail "x-forwarded-for: '$out'"

# ---- routes and strata's own answers -----------------------------------------
out=$($C -H 'Host: x.b.test' http://127.0.0.1:8080/route-b/which)
[ "$out" = b-side ] || fail "host route: '$out'"
code=$($C -o "$IT_WORK/body" -w '%{http_code}' -H 'Host: nowhere.test' \
	http://127.0.0.1:8080/x)
[ "$code" = 421 ] || fail "status route: $code"
code=$($C -o "$IT_WORK/body" -w '%{http_code}' http://127.0.0.1:8080/dead)
[ "$code" = 502 ] || fail "dead upstream: $code"
grep -q upstream_connect_failed "$IT_WORK/body" ||
	fail "502 body does not name the cause: $(cat "$IT_WORK/body")"
$C -p -x http://127.0.0.1:8080 -o /dev/null http://127.0.0.1:18080/small \
	2>"$IT_WORK/err" && fail "CONNECT accepted by a reverse-proxy endpoint"
grep -q 405 "$IT_WORK/err" || fail "CONNECT refusal: $(cat "$IT_WORK/err")"
code=$($C -o "$IT_WORK/body" -w '%{http_code}' http://127.0.0.1:8080/dead)
[ "$code" = 503 ] && grep -q upstream_unavailable "$IT_WORK/body" ||
	fail "dead upstream, marked down: $code $(cat "$IT_WORK/body")"
for i in 1 2 3 4 5 6; do
	out=$($C -H 'Host: pair.test' http://127.0.0.1:8080/small) ||
		fail "pair upstream, request $i"
	[ "$out" = hello ] || fail "pair upstream, request $i: '$out'"
done
code=$($C -o "$IT_WORK/body" -w '%{http_code}' -H 'Host: silent.test' \
	http://127.0.0.1:8080/small)
[ "$code" = 504 ] && grep -q upstream_timeout "$IT_WORK/body" ||
	fail "silent upstream: $code $(cat "$IT_WORK/body")"
out=$($C -H 'Host: h2up.test' http://127.0.0.1:8080/route-b/which)
[ "$out" = b-side ] || fail "HTTP/2 upstream: '$out'"
grep -q '^/route-b/which HTTP/2.0' "$IT_WORK/access.log" ||
	fail "nginx did not see HTTP/2 from strata: $(tail -3 "$IT_WORK/access.log")"
it_log "routes by host and path, 421 by route, 502 then 503 for a dead upstream (passive health), a dead server skipped, 504 for a silent one, an HTTP/2 upstream, CONNECT 405"

# ---- the upstream queue: past max_connections, 504 after connect_timeout_ms -----
# The first request holds the one connection of "queued" for 2 s; the
# second waits for it 300 ms, then gets 504, and the origin never sees it.
queue_stats() {
	it_strata_stats | jq -c '[.lcores[] | select(.role=="worker") | .http]
		| {timeouts: (map(.errors.upstream_timeout) | add),
		   queued: (map(.upstreams.queued.queued // 0) | add),
		   waiting: (map(.upstreams.queued.waiting // 0) | add),
		   dialed: (map(.upstreams.queued.dialed // 0) | add)}'
}
q0=$(queue_stats)
$C -o "$IT_WORK/slow1" -w '%{http_code}' -H 'Host: queue.test' \
	http://127.0.0.1:8080/first >"$IT_WORK/slow1.code" &
slow1=$!
it_wait_for 10 "the first request at the slow origin" test -s "$IT_WORK/slow.log"
out=$($C -o "$IT_WORK/body" -w '%{http_code} %{time_total}' \
	-H 'Host: queue.test' http://127.0.0.1:8080/second) ||
	fail "queued request: curl failed"
read -r code secs <<<"$out"
[ "$code" = 504 ] && grep -q upstream_timeout "$IT_WORK/body" ||
	fail "queued past connect_timeout_ms: $code $(cat "$IT_WORK/body")"
awk -v t="$secs" 'BEGIN { exit !(t >= 0.25 && t < 1.5) }' ||
	fail "queued request answered after ${secs}s, not about 0.3 s"
wait "$slow1" || fail "the request holding the connection: curl failed"
[ "$(cat "$IT_WORK/slow1.code")" = 200 ] && [ "$(cat "$IT_WORK/slow1")" = slow ] ||
	fail "the request holding the connection: $(cat "$IT_WORK/slow1.code") $(cat "$IT_WORK/slow1")"
[ "$(cat "$IT_WORK/slow.log")" = /first ] ||
	fail "the slow origin saw: $(tr '\n' ' ' <"$IT_WORK/slow.log")"
q1=$(queue_stats)
jq -en --argjson a "$q0" --argjson b "$q1" '$b.timeouts == $a.timeouts + 1 and
	$b.queued == $a.queued + 1 and $b.waiting == 0 and $b.dialed == 1' \
	>/dev/null || fail "queue counters: before $q0, after $q1"
it_log "max_connections 1: a queued request got 504 upstream_timeout after ${secs}s and never reached the origin; counters $q0 -> $q1"

# ---- Upgrade: a WebSocket-style tunnel through the proxy ----------------------
cat >"$IT_WORK/ws.py" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", 8080), timeout=5)
s.sendall(b"GET /chat HTTP/1.1\r\nHost: " + sys.argv[1].encode() +
          b"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(4096)
status = head.split(b"\r\n")[0].decode()
rest = head.split(b"\r\n\r\n", 1)[1]
msg = bytes(range(256)) * 400
s.sendall(msg)
got = rest
while len(got) < len(msg):
    d = s.recv(65536)
    if not d:
        break
    got += d
print(status, got == msg)
PY
out=$(inn python3 "$IT_WORK/ws.py" ws.test)
[ "$out" = "HTTP/1.1 101 Switching Protocols True" ] || fail "Upgrade tunnel: '$out'"
it_log "Upgrade: 101 from the origin, then 100 KB echoed through the tunnel"
# An HTTP/1.1 Upgrade towards an HTTP/2 origin goes out as an extended
# CONNECT, and its 200 comes back as a 101.
out=$(inn timeout 20 python3 "$IT_WORK/ws.py" ws-h2.test)
[ "$out" = "HTTP/1.1 101 Switching Protocols True" ] ||
	fail "Upgrade to an HTTP/2 origin: '$out'"
it_log "HTTP/1.1 Upgrade bridged to an HTTP/2 extended CONNECT: 100 KB echoed"

# ---- trailers: gRPC-style, HTTP/2 both sides; then an HTTP/1.1 client ----------
cat >"$IT_WORK/rpc.py" <<'PY'
import socket
import h2.config, h2.connection, h2.events
s = socket.create_connection(("127.0.0.1", 8080), timeout=10)
c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
c.initiate_connection()
c.send_headers(1, [(":method", "POST"), (":scheme", "http"),
                   (":authority", "grpc.test"), (":path", "/pkg.Svc/Call"),
                   ("te", "trailers"), ("content-type", "application/grpc")])
c.send_data(1, b"ping")
c.send_headers(1, [("x-req-sum", "42")], end_stream=True)
s.sendall(c.data_to_send())
body, trailers, done = b"", {}, False
while not done:
    data = s.recv(65536)
    if not data:
        break
    for ev in c.receive_data(data):
        if isinstance(ev, h2.events.DataReceived):
            body += ev.data
            c.acknowledge_received_data(len(ev.data), ev.stream_id)
        elif isinstance(ev, h2.events.TrailersReceived):
            trailers = {k.decode(): v.decode() for k, v in ev.headers}
        elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)):
            done = True
    s.sendall(c.data_to_send())
print(body.decode(), trailers.get("grpc-status"),
      trailers.get("x-got-trailer"), trailers.get("x-got-te"),
      trailers.get("x-strata-saw"))
PY
out=$(inn timeout 20 /usr/bin/python3 "$IT_WORK/rpc.py" 2>&1)
[ "$out" = "reply:ping 0 42 trailers grpc-status=0" ] ||
	fail "trailers through HTTP/2 both ways: '$out'"
# to HTTP/1.1, the response's trailers ride on the last chunk
hdrs=$($C --http1.1 -H 'Host: grpc.test' -d pong -D - -o "$IT_WORK/body" \
	http://127.0.0.1:8080/pkg.Svc/Call) || fail "trailers to HTTP/1.1"
[ "$(cat "$IT_WORK/body")" = reply:pong ] ||
	fail "trailers to HTTP/1.1: body '$(cat "$IT_WORK/body")'"
echo "$hdrs" | grep -qi '^transfer-encoding: chunked' &&
	echo "$hdrs" | grep -qi '^grpc-status: 0' &&
	echo "$hdrs" | grep -qi '^x-strata-saw: grpc-status=0' ||
	fail "trailers to HTTP/1.1: $hdrs"
it_log "trailers: request and response trailers and te: trailers through HTTP/2; response trailers on HTTP/1.1's last chunk; a trailer set by http_rules from the origin's grpc-status, both versions"
# The same origin behind an HTTP/2 extended CONNECT (RFC 8441): strata
# turns it into an HTTP/1.1 Upgrade, and the 101 into a 200.
cat >"$IT_WORK/h2ws.py" <<'PY'
import socket, sys
import h2.config, h2.connection, h2.events
s = socket.create_connection(("127.0.0.1", 8080), timeout=10)
c = h2.connection.H2Connection(h2.config.H2Configuration(
    client_side=True, validate_outbound_headers=False))
c.initiate_connection()
s.sendall(c.data_to_send())
msg, got, status, sent = bytes(range(256)) * 100, b"", None, False
while len(got) < len(msg):
    data = s.recv(65536)
    if not data:
        break
    for ev in c.receive_data(data):
        if isinstance(ev, h2.events.RemoteSettingsChanged) and not sent:
            sent = True
            c.send_headers(1, [(b":method", b"CONNECT"),
                               (b":protocol", b"websocket"),
                               (b":scheme", b"http"), (b":path", b"/chat"),
                               (b":authority", b"ws.test")])
        elif isinstance(ev, h2.events.ResponseReceived):
            status = dict(ev.headers)[b":status"].decode()
            for i in range(0, len(msg), 8192):
                c.send_data(1, msg[i:i + 8192])
        elif isinstance(ev, h2.events.DataReceived):
            got += ev.data
            c.acknowledge_received_data(len(ev.data), ev.stream_id)
        elif isinstance(ev, h2.events.StreamReset):
            print("reset", ev.error_code); sys.exit(1)
    s.sendall(c.data_to_send())
print(status, got == msg)
PY
out=$(inn timeout 20 /usr/bin/python3 "$IT_WORK/h2ws.py" 2>&1)
[ "$out" = "200 True" ] || fail "extended CONNECT to an HTTP/1.1 Upgrade: '$out'"
it_log "HTTP/2 extended CONNECT (websocket) bridged to an HTTP/1.1 Upgrade: 25 KB echoed"

# ---- the http_rules app --------------------------------------------------------
code=$($C -o "$IT_WORK/body" -w '%{http_code}' http://127.0.0.1:8080/blocked/x)
[ "$code" = 403 ] && grep -q "blocked by policy" "$IT_WORK/body" ||
	fail "block: $code $(cat "$IT_WORK/body")"
out=$($C --http2-prior-knowledge http://127.0.0.1:8080/hello)
[ "$out" = "hello from strata" ] || fail "answer: '$out'"
out=$($C http://127.0.0.1:8080/hdr)
[ "$out" = "seen GET /hdr" ] || fail "set_header: '$out'"
grep -q '^/blocked\|^/hello' "$IT_WORK/access.log" &&
	fail "blocked or answered requests reached nginx"
it_log "http_rules: block, answer, set_header ok"

# 50 MB multipart upload: the form field is read as it streams by.
head -c $((50 * 1024 * 1024)) /dev/zero >"$IT_WORK/fifty"
rss() { awk '/VmRSS/ {print $2}' "/proc/$IT_STRATA_PID/status"; }
rss0=$(rss)
hdrs=$($C -o /dev/null -D - -F "note=secret-value-42" \
	-F "file=@$IT_WORK/fifty" http://127.0.0.1:8080/upload) ||
	fail "50 MB multipart upload"
echo "$hdrs" | grep -qi '^x-note: secret-value-42' ||
	fail "form field not seen: $hdrs"
rss1=$(rss)
[ $((rss1 - rss0)) -lt 20480 ] ||
	fail "RSS grew ${rss0} -> ${rss1} KiB over a 50 MB upload"
it_log "form field from a 50 MB multipart upload; RSS ${rss0} -> ${rss1} KiB"

# ---- HTTP/2 peers: h2load, nghttp with a small window ---------------------------
out=$(inn timeout 60 h2load -n 4000 -c 8 -m 32 http://127.0.0.1:8080/small 2>&1)
echo "$out" | grep -q '4000 succeeded, 0 failed' ||
	fail "h2load: $(echo "$out" | grep -E 'requests:|status codes')"
it_log "h2load: 4000 requests on 8 connections x 32 streams"
# 50 streams at once towards an upstream capped at 2 connections: the
# rest wait their turn instead of dialing, and all are answered.
out=$(inn timeout 60 h2load -n 1000 -c 1 -m 50 \
	http://127.0.0.1:8080/capped/small 2>&1)
echo "$out" | grep -q '1000 succeeded, 0 failed' ||
	fail "h2load to the capped upstream: $(echo "$out" |
		grep -E 'requests:|status codes')"
capped=$(it_strata_stats | jq -c '[.lcores[] | select(.role=="worker") |
	.http.upstreams.capped | select(. != null)]')
echo "$capped" | jq -e 'length > 0 and all(.dialed <= 2 and .conns <= 2 and
	.waiting == 0) and (map(.queued) | add) > 0' >/dev/null ||
	fail "capped upstream: $capped"
it_log "max_connections 2: 1000 requests over $(echo "$capped" |
	jq '[.[].dialed] | add') connection(s), $(echo "$capped" |
	jq '[.[].queued] | add') waited for one"
got=$(inn timeout 60 nghttp -w 14 -W 16 http://127.0.0.1:8080/big |
	sha256sum | cut -d' ' -f1)
[ "$got" = "$WANT" ] || fail "nghttp with a 16 KiB window: sha256 differs"
it_log "nghttp with a 16 KiB stream window: 20 MB intact"

# ---- smuggling: each gets 400 and nothing reaches nginx -------------------------
raw() { # send bytes, print the status line
	inn python3 - "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", 8080), timeout=5)
s.sendall(sys.argv[1].encode().decode("unicode_escape").encode("latin1"))
try:
    print(s.recv(4096).split(b"\r\n")[0].decode())
except Exception as e:
    print("error", e)
PY
}
cases=(
	'POST /s1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
	'POST /s2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd'
	'GET /s3 HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n'
	'GET /s4 HTTP/1.1\nHost: a\n\n'
	'GET /s5 HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n'
	'GET /s6 HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n'
	'POST /s7 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n'
	'GET /s8 HTTP/1.1\r\n\r\n'
)
for c in "${cases[@]}"; do
	st=$(raw "$c")
	case "$st" in
	"HTTP/1.1 400 "* | "HTTP/1.1 501 "*) ;;
	*) fail "smuggling case '$c' got '$st'" ;;
	esac
done
long=$(python3 -c 'print("GET /s9 HTTP/1.1\\r\\nHost: a\\r\\nX: " + "a" * 70000 + "\\r\\n\\r\\n")')
st=$(raw "$long")
case "$st" in "HTTP/1.1 431 "* | "HTTP/1.1 400 "*) ;;
*) fail "oversized head got '$st'" ;; esac
sleep 0.5
grep -q '^/s[0-9]' "$IT_WORK/access.log" &&
	fail "a smuggling attempt reached nginx: $(grep '^/s' "$IT_WORK/access.log")"
it_log "${#cases[@]} smuggling cases and an oversized head: 400/431, none reached nginx"

# ---- a client that sends nothing, or half a head, is let go ----------------------
out=$(inn python3 -c '
import socket, time
res = []
for first in (b"", b"GET /small HTTP/1.1\r\nHost: a\r\n"):
    s = socket.create_connection(("127.0.0.1", 8080), timeout=10)
    s.sendall(first)
    t = time.time()
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    res.append(time.time() - t)
print(" ".join("%.1f" % x for x in res))
')
for t in $out; do
	awk -v t="$t" 'BEGIN { exit !(t >= 1.0 && t <= 4.0) }' ||
		fail "header timeout 1.5 s: connections closed after $out s"
done
it_log "silent and half-head clients closed after $out s (header_timeout_ms 1500)"

# ---- through the userspace stack --------------------------------------------------
it_wait_for 10 "$IFN" it_link_ready "$N" "$IFN"
out=$($C http://10.97.0.2/small) || fail "GET through the stack endpoint"
[ "$out" = hello ] || fail "stack endpoint: '$out'"
got=$($C http://10.97.0.2/big | sha256sum | cut -d' ' -f1)
[ "$got" = "$WANT" ] || fail "20 MB through the stack endpoint: sha256 differs"
it_log "endpoint on strata's own address through lwIP: ok"
# Laptop mode: TCP to 10.97.5.5 is routed into strata and proxied; port
# 80 is intercepted as HTTP (the hooks run: x-served-by), 8080 is not.
# curl says what it sent and got: request, response head, body bytes.
cw='%{size_request},%{size_header},%{size_download}'
sizes_small=$($C -D "$IT_WORK/hdrs" -o "$IT_WORK/body" -w "$cw" \
	http://10.97.5.5/small) || fail "intercepted GET"
hdrs=$(cat "$IT_WORK/hdrs")
[ "$(cat "$IT_WORK/body")" = hello ] || fail "intercepted: $(cat "$IT_WORK/body")"
echo "$hdrs" | grep -qi '^x-served-by: strata web' ||
	fail "port 80 was not read as HTTP: $hdrs"
sizes_big=$($C -o "$IT_WORK/big.got" -w "$cw" http://10.97.5.5/big) ||
	fail "intercepted GET /big"
got=$(sha256sum <"$IT_WORK/big.got" | cut -d' ' -f1)
rm -f "$IT_WORK/big.got"
[ "$got" = "$WANT" ] || fail "20 MB intercepted: sha256 differs"
hdrs=$($C -D - -o "$IT_WORK/body" http://10.97.5.5:8080/small) ||
	fail "proxied GET to :8080"
echo "$hdrs" | grep -qi '^x-served-by' &&
	fail "port 8080 went through HTTP: $hdrs"
it_log "laptop mode: port 80 intercepted into the HTTP pipeline, 8080 proxied at L4"
# Each intercepted connection the HTTP layer served (the two GETs above)
# still ends with one audit line, closed by the HTTP service, with the
# bytes that crossed the client's connection: up at least curl's
# request, down at least its response head and body (chunk framing
# aside, little more). The larger answer is /big's.
served() {
	jq -c 'select(.orig_dst == "10.97.5.5" and .orig_dport == 80)
		| [.bytes_up, .bytes_down, .close]' "$IT_WORK/audit.log"
}
all_served() {
	[ "$(served | jq -s 'length == 2 and
		all(.[2] == "http_service")')" = true ]
}
it_wait_for 10 "audit lines of the served intercepted flows" all_served
counts_ok=$(served | jq -s --argjson s "[$sizes_small]" \
	--argjson b "[$sizes_big]" '
	def fits($line; $curl):
		($curl[1] + $curl[2]) as $down |
		$line[0] >= $curl[0] and $line[0] <= $curl[0] + 4096 and
		$line[1] >= $down and
		$line[1] <= $down + ($down / 100 | floor) + 4096;
	sort_by(.[1]) as [$small, $big] |
	fits($small; $s) and fits($big; $b)')
[ "$counts_ok" = true ] || fail "served flows' bytes: $(served | tr '\n' ' ')" \
	"for curl's (request, head, body) $sizes_small and $sizes_big"
closed=$(it_strata_stats | jq '[.lcores[] | select(.role=="worker") |
	.stack.closed.http_service] | add')
[ "$closed" -ge 2 ] || fail "closed.http_service: $closed"
it_log "served intercepted flows: $(served | tr "\n" " ")(curl: $sizes_small, $sizes_big)"
# Other protocols on the intercepted port go on at L4, untouched: bytes
# that are not HTTP (a line, a TLS record the endpoint may not inspect),
# and a server that speaks first (at once, or after the endpoint stopped
# waiting for the client), with half-close carried across.
cat >"$IT_WORK/notHttp.py" <<'PY'
import socket, sys
def conn(host):
    s = socket.create_connection((host, 80), timeout=5)
    return s
def recv_n(s, n):
    got = b""
    while len(got) < n:
        d = s.recv(n - len(got))
        if not d:
            break
        got += d
    return got
for first in (b"SSH-2.0-strata-test\r\n", b"\x16\x03\x01\x00\x04abcd"):
    s = conn("10.97.5.6")
    s.sendall(first + b"more")
    got = recv_n(s, len(first) + 4)
    assert got == first + b"more", ("echo", first, got)
    s.shutdown(socket.SHUT_WR)
    assert s.recv(10) == b"", "half-close not carried"
    s.close()
s = conn("10.97.5.7")
got = recv_n(s, 11)
assert got == b"220 ready\r\n", ("banner", got)
s.sendall(b"QUIT\r\n")
assert recv_n(s, 6) == b"QUIT\r\n", "echo after banner"
s.close()
# a silent client: the endpoint gives up on HTTP after its header
# timeout, and the banner that comes later still crosses
s = conn("10.97.5.8")
got = recv_n(s, 10)
assert got == b"220 slow\r\n", ("slow banner", got)
s.sendall(b"QUIT\r\n")
assert recv_n(s, 6) == b"QUIT\r\n", "echo after the slow banner"
s.close()
print("ok")
PY
got=$(inn timeout 20 python3 "$IT_WORK/notHttp.py" 2>&1)
[ "$got" = ok ] || fail "non-HTTP on the intercepted port: $got"
it_log "laptop mode: non-HTTP on port 80 (client or server first) passed through"
# The HTTP layer gave them back to the L4 proxy, so they end like any
# proxied connection: one audit line each, the sniffed and held bytes
# counted with the rest (echo: 25 and 13 bytes each way; banners: 6 up,
# 11 + 6 and 10 + 6 down), closed cleanly after the half-closes.
passed() {
	jq -c 'select(.orig_dport == 80 and
		(.orig_dst | test("^10[.]97[.]5[.][678]$")))
		| [.orig_dst, .dport, .bytes_up, .bytes_down, .close]' \
		"$IT_WORK/audit.log" | sort
}
want='["10.97.5.6",18085,13,13,"done"]
["10.97.5.6",18085,25,25,"done"]
["10.97.5.7",18086,6,17,"done"]
["10.97.5.8",18088,6,16,"done"]'
all_passed() { [ "$(passed)" = "$want" ]; }
it_wait_for 10 "audit lines of the passed-through flows" all_passed
# every flow the HTTP layer counted as passthrough went back to L4
pass=$(it_strata_stats | jq -c '[.lcores[] | select(.role=="worker")] |
	{passthrough: (map(.http.passthrough) | add),
	 passed_back: (map(.stack.passed_back) | add)}')
[ "$(echo "$pass" | jq '.passthrough == .passed_back and
	.passed_back >= 4')" = true ] || fail "passed back to L4: $pass"
it_log "passed through at L4: $(passed | tr '\n' ' ')"

# ---- counters, then a clean stop -----------------------------------------------------
st=$(it_strata_stats)
http=$(echo "$st" | jq -c '[.lcores[] | select(.role=="worker") | .http][0]')
[ "$(echo "$http" | jq '.requests')" -gt 4000 ] || fail "requests: $http"
[ "$(echo "$http" | jq '.errors.bad_request')" -ge 9 ] ||
	fail "bad_request count: $http"
[ "$(echo "$http" | jq '.errors.upstream_connect_failed')" -ge 1 ] ||
	fail "upstream_connect_failed count: $http"
[ "$(echo "$http" | jq '.upstream_reused')" -gt 0 ] ||
	fail "no upstream connection was reused: $http"
[ "$(echo "$http" | jq '.passthrough')" -ge 4 ] ||
	fail "passthrough count: $http"
it_log "counters: $(echo "$http" | jq -c '{requests, upstream_conns, upstream_reused, errors}')"
it_strata_stop
it_log PASS
