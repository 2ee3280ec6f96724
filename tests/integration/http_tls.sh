#!/usr/bin/env bash
# strata with TLS and as a forward proxy, with real peers: curl (ALPN h2
# and http/1.1, SNI, client certificates, -x and --proxytunnel), nghttp,
# haproxy sending PROXY protocol v1 and v2, nginx (plain and TLS) as the
# origin, all in a namespace of its own. Certificates are made here with
# the openssl command.
#
# Checks: ALPN picks h2 or http/1.1; SNI picks the certificate (each
# verified by curl against the test CA); a second connection resumes; mTLS required: a trusted client
# certificate is accepted and its subject reaches the hook, an untrusted
# one and none are refused; forward proxy: absolute-form http://, CONNECT
# to https://, CONNECT over HTTP/2 (python3-h2) carrying HTTP/1.1 that
# goes through the pipeline again, and --proxytunnel to http://, 502 for a refused target;
# TLS inspection: curl trusting strata's CA gets a minted
# certificate for the target and the hook sees the plaintext path; an
# upstream over TLS verified against the CA; PROXY protocol v1 and v2
# from haproxy: the hook sees curl's address, not haproxy's; strata
# sending PROXY v2 to an upstream (another of its endpoints).
#
# usage: http_tls.sh STRATA_BINARY    (root; about half a minute)
set -uo pipefail
STRATA=${1:?usage: http_tls.sh STRATA_BINARY}
. "$(dirname "$0")/lib.sh"

it_require_root
it_need_cmd ip curl jq timeout openssl nginx haproxy nghttp
/usr/bin/python3 -c 'import h2' 2>/dev/null || fail "missing python3-h2"
[ -x "$STRATA" ] || fail "not executable: $STRATA"
STRATA=$(readlink -f "$STRATA")

it_init
N=strata-h7t-$$
IFN=sh7t$$
it_netns "$N"
# (background processes are started with ip netns exec itself, not
# through this function, so that $! is their PID for the cleanup)
inn() { ip netns exec "$N" "$@"; }
P=$IT_WORK/pki
mkdir -p "$P"

# ---- certificates -----------------------------------------------------------
ossl() { openssl "$@" >/dev/null 2>&1 || fail "openssl $*"; }
mkca() { # name subject
	ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$P/$1.key" -out "$P/$1.pem" -days 2 -subj "$2" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign
}
mkleaf() { # name ca subject san [extra ext]
	ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$P/$1.key" -out "$P/$1.csr" -subj "$3"
	printf 'subjectAltName=%s\n%s\n' "$4" "${5:-}" >"$P/$1.ext"
	ossl x509 -req -in "$P/$1.csr" -CA "$P/$2.pem" -CAkey "$P/$2.key" \
		-CAcreateserial -days 2 -out "$P/$1.pem" -extfile "$P/$1.ext"
}
mkca ca "/CN=strata test CA"
mkca other-ca "/CN=someone else"
mkca inspect-ca "/CN=strata inspection CA"
mkleaf web ca "/CN=strata.test" "DNS:strata.test,DNS:*.example.org"
mkleaf second ca "/CN=second.test" "DNS:second.test"
mkleaf origin ca "/CN=origin.test" "DNS:origin.test,IP:127.0.0.1"
mkleaf alice ca "/CN=alice/O=strata tests" "email:alice@example.org" \
	"extendedKeyUsage=clientAuth"
mkleaf mallory other-ca "/CN=mallory" "email:m@example.org" \
	"extendedKeyUsage=clientAuth"

# ---- origins: nginx plain and TLS --------------------------------------------
mkdir -p "$IT_WORK/www"
echo hello >"$IT_WORK/www/small"
it_nginx "$N" <<NGINX
	access_log off;
	server {
		listen 127.0.0.1:18080;
		listen 127.0.0.1:18443 ssl;
		ssl_certificate $P/origin.pem;
		ssl_certificate_key $P/origin.key;
		root $IT_WORK/www;
		location = /proto { return 200 "\$scheme\n"; }
	}
NGINX

# ---- haproxy: PROXY protocol v1 and v2 towards strata -------------------------
cat >"$IT_WORK/haproxy.cfg" <<HAP
global
	log stdout format raw local0 emerg
defaults
	mode tcp
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend v1
	bind 127.0.0.1:9001
	default_backend v1
backend v1
	server s 127.0.0.1:8081 send-proxy
frontend v2
	bind 127.0.0.1:9002
	default_backend v2
backend v2
	server s 127.0.0.1:8081 send-proxy-v2
HAP
ip netns exec "$N" haproxy -f "$IT_WORK/haproxy.cfg" -db \
	>"$IT_WORK/haproxy.out" 2>&1 &
it_track_pid $!

# ---- strata ----------------------------------------------------------------------
cat >"$IT_WORK/strata.yaml" <<YAML
ports:
  - name: tun0
    kind: tun
    tun: {ifname: $IFN, kernel_addresses: [10.96.0.1/24], routes: []}
    addresses: [10.96.0.2/24]
policy: {default_action: drop}
endpoints:
  - name: tls
    listen: ["127.0.0.1:8443"]
    tls:
      certs:
        - {cert: $P/web.pem, key: $P/web.key}
        - {cert: $P/second.pem, key: $P/second.key}
  - name: mtls
    listen: ["127.0.0.1:8444"]
    tls:
      certs: [{cert: $P/web.pem, key: $P/web.key}]
      client_auth: required
      client_ca: $P/ca.pem
  - name: fwd
    listen: ["127.0.0.1:3128"]
    forward: true
  - name: inspect
    listen: ["127.0.0.1:3129"]
    forward: true
    tls:
      inspect_ca_cert: $P/inspect-ca.pem
      inspect_ca_key: $P/inspect-ca.key
      inspect_upstream_ca: $P/ca.pem
  - name: pp
    listen: ["127.0.0.1:8081"]
    proxy_protocol: true
upstreams:
  - name: nginx
    servers: ["127.0.0.1:18080"]
  - name: nginx-tls
    servers: ["127.0.0.1:18443"]
    tls: true
    tls_ca: $P/ca.pem
    sni: origin.test
  - name: self-pp
    servers: ["127.0.0.1:8081"]
    proxy_protocol: v2
routes:
  - path: /tls/
    upstream: nginx-tls
  - endpoint: tls
    path: /via-pp/
    upstream: self-pp
  - upstream: nginx
http_rules:
  - endpoint: pp
    action: set_response_header
    header: x-pp-client
    value: "\$client"
  - path: /tls/
    action: set_header
    header: x-unused
    value: "-"
  - action: set_response_header
    header: x-seen
    value: "\$endpoint \$client \$sni \$alpn \$path"
  - action: set_response_header
    header: x-client-subject
    value: "\$client_subject"
YAML
"$STRATA" config check "$IT_WORK/strata.yaml" || fail "config check"
it_strata_start "$N" "$STRATA" "$IT_WORK/strata.yaml"
C="inn curl -sS --max-time 20"
R="--resolve strata.test:8443:127.0.0.1 --resolve second.test:8443:127.0.0.1"
R="$R --resolve strata.test:8444:127.0.0.1 --resolve x.example.org:8443:127.0.0.1"
it_wait_for 20 "strata's TLS listener" $C --cacert "$P/ca.pem" $R -o /dev/null \
	https://strata.test:8443/small

# ---- ALPN and SNI ------------------------------------------------------------------
for name in strata.test x.example.org second.test; do
	for v in --http2 --http1.1; do
		out=$($C $v --cacert "$P/ca.pem" $R -D "$IT_WORK/h" \
			-w '%{http_version}' "https://$name:8443/small") ||
			fail "https://$name $v"
		want="hello
2"
		[ "$v" = --http1.1 ] && want="hello
1.1"
		[ "$out" = "$want" ] || fail "https://$name $v: '$out'"
		grep -qi "^x-seen: tls 127.0.0.1 $name" "$IT_WORK/h" ||
			fail "hook did not see SNI $name: $(cat "$IT_WORK/h")"
	done
done
out=$(inn nghttp -v "https://127.0.0.1:8443/small" 2>&1) || true
echo "$out" | grep -q 'negotiated protocol: h2' ||
	fail "nghttp did not get h2 by ALPN: $(echo "$out" | head -5)"
# Session resumption: curl keeps the session of its first connection.
$C --http1.1 --cacert "$P/ca.pem" $R -H 'Connection: close' -o /dev/null -o /dev/null \
	https://strata.test:8443/small https://strata.test:8443/small ||
	fail "two connections for resumption"
it_log "ALPN h2/http1.1 and SNI-selected certificates verified by curl"

# ---- mTLS --------------------------------------------------------------------------
out=$($C --cacert "$P/ca.pem" $R --cert "$P/alice.pem" --key "$P/alice.key" \
	-D "$IT_WORK/h" https://strata.test:8444/small) || fail "mTLS with alice"
[ "$out" = hello ] || fail "mTLS: '$out'"
grep -qi '^x-client-subject: .*alice' "$IT_WORK/h" ||
	fail "hook did not get the client subject: $(cat "$IT_WORK/h")"
$C --cacert "$P/ca.pem" $R --cert "$P/mallory.pem" --key "$P/mallory.key" \
	-o /dev/null https://strata.test:8444/small 2>/dev/null &&
	fail "an untrusted client certificate was accepted"
$C --cacert "$P/ca.pem" $R -o /dev/null https://strata.test:8444/small \
	2>/dev/null && fail "no client certificate was accepted"
it_log "mTLS: trusted accepted (subject seen), untrusted and none refused"

# ---- upstream over TLS ----------------------------------------------------------------
code=$($C --cacert "$P/ca.pem" $R -o /dev/null -w '%{http_code}' \
	https://strata.test:8443/tls/small)
[ "$code" = 404 ] || fail "TLS upstream: $code (nginx has no /tls/small: want its 404)"
it_log "upstream over TLS verified against the test CA"

# ---- forward proxy --------------------------------------------------------------------
out=$($C -x http://127.0.0.1:3128 http://127.0.0.1:18080/small) ||
	fail "absolute-form through the forward proxy"
[ "$out" = hello ] || fail "absolute-form: '$out'"
out=$($C -x http://127.0.0.1:3128 --cacert "$P/ca.pem" \
	https://127.0.0.1:18443/proto) || fail "CONNECT to https"
[ "$out" = https ] || fail "CONNECT: '$out'"
out=$($C -p -x http://127.0.0.1:3128 http://127.0.0.1:18080/small) ||
	fail "--proxytunnel"
[ "$out" = hello ] || fail "--proxytunnel: '$out'"
code=$($C -x http://127.0.0.1:3128 -o /dev/null -w '%{http_code}' \
	http://127.0.0.1:1/small)
[ "$code" = 502 ] || fail "absolute-form to a closed port: $code"
# CONNECT over HTTP/2 (RFC 9113 8.5), with HTTP/1.1 inside: that goes
# through the pipeline again (a nested client) to the CONNECT target.
cat >"$IT_WORK/h2connect.py" <<'PY'
import socket, sys
import h2.config, h2.connection, h2.events
s = socket.create_connection(("127.0.0.1", 3128), timeout=10)
c = h2.connection.H2Connection(h2.config.H2Configuration(
    client_side=True, validate_outbound_headers=False))
c.initiate_connection()
c.send_headers(1, [(b":method", b"CONNECT"), (b":authority", b"127.0.0.1:18080")])
s.sendall(c.data_to_send())
status, body, sent = None, b"", False
while b"hello" not in body:
    data = s.recv(65536)
    if not data:
        break
    for ev in c.receive_data(data):
        if isinstance(ev, h2.events.ResponseReceived):
            status = dict(ev.headers)[b":status"].decode()
            c.send_data(1, b"GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
        elif isinstance(ev, h2.events.DataReceived):
            body += ev.data
            c.acknowledge_received_data(len(ev.data), ev.stream_id)
        elif isinstance(ev, h2.events.StreamReset):
            print("reset", ev.error_code); sys.exit(1)
    s.sendall(c.data_to_send())
print(status, body.split(b"\r\n")[0].decode(), body.endswith(b"hello\n"))
PY
out=$(inn timeout 20 /usr/bin/python3 "$IT_WORK/h2connect.py" 2>&1)
[ "$out" = "200 HTTP/1.1 200 OK True" ] || fail "CONNECT over HTTP/2: '$out'"
it_log "forward proxy: absolute-form, CONNECT over HTTP/1.1 and HTTP/2, --proxytunnel, 502 on refusal"

# ---- TLS inspection ---------------------------------------------------------------------
out=$($C -x http://127.0.0.1:3129 --cacert "$P/inspect-ca.pem" -D "$IT_WORK/h" \
	https://127.0.0.1:18443/small) || fail "inspected CONNECT"
[ "$out" = hello ] || fail "inspection: '$out'"
grep -qi '^x-seen: inspect .* /small' "$IT_WORK/h" ||
	fail "the hook did not see the plaintext path: $(cat "$IT_WORK/h")"
it_log "TLS inspection: minted certificate trusted by curl, path seen by the hook"

# ---- PROXY protocol from haproxy ------------------------------------------------------------
for port in 9001 9002; do
	$C --interface 127.0.0.5 -D "$IT_WORK/h" -o /dev/null \
		http://127.0.0.1:$port/small || fail "through haproxy :$port"
	grep -qi '^x-seen: pp 127.0.0.5 ' "$IT_WORK/h" ||
		fail "PROXY protocol (:$port): hook saw $(grep -i x-seen "$IT_WORK/h")"
done
$C --interface 127.0.0.6 --cacert "$P/ca.pem" $R -D "$IT_WORK/h" -o /dev/null \
	https://strata.test:8443/via-pp/small
grep -qi '^x-pp-client: 127.0.0.6' "$IT_WORK/h" ||
	fail "PROXY v2 sent to an upstream: $(grep -i x-pp "$IT_WORK/h")"
it_log "PROXY protocol v1 and v2 from haproxy: the hook sees curl's address; v2 sent upstream too"

st=$(it_strata_stats)
http=$(echo "$st" | jq -c '[.lcores[] | select(.role=="worker") | .http][0]')
[ "$(echo "$http" | jq '.tls_handshakes')" -gt 5 ] || fail "tls_handshakes: $http"
[ "$(echo "$http" | jq '.pp_accepted')" -ge 2 ] || fail "pp_accepted: $http"
[ "$(echo "$http" | jq '.tls_resumed')" -ge 1 ] || fail "no session resumed: $http"
it_log "counters: $(echo "$http" | jq -c '{tls_handshakes, tls_resumed, tls_failed, pp_accepted, tunnels}')"
it_strata_stop
it_log PASS
