#!/usr/bin/env bash
# strata's HTTP layer (l7/) beside nginx, haproxy and squid, same run.
#
# One network namespace, everything on 127.0.0.1. The origin is nginx
# (1 worker, access_log off) serving a SMALL_BYTES file. Every proxy
# under test runs on CPU PROXY_CPU (taskset; strata also with
# lcores: {rxtx: 1, workers: 1, cpus: PROXY_CPU}, so its main, rx/tx and
# worker lcores all share that CPU); the origin, the load generators,
# socat and iperf3 run on CPU CLIENT_CPU.
#
# 1. h1: reverse proxy, HTTP/1.1 keep-alive, `wrk -t1 -c50 --latency`:
#    requests/s and p99. strata (endpoint -> upstream pool), nginx
#    (proxy_pass, upstream keepalive), haproxy (mode http, nbthread 1).
# 2. h2: reverse proxy with an HTTP/2 cleartext front (prior knowledge),
#    `h2load -c10 -m10 -D SECONDS`: requests/s. strata (same endpoint),
#    nginx (`listen ... http2`), haproxy (`bind ... proto h2`); all three
#    speak HTTP/1.1 with keep-alive to the origin.
# 3. connect: CONNECT tunnel throughput. iperf3 has no proxy support, so
#    socat (-b 128 KiB) listens per proxy and opens each connection with
#    CONNECT (`PROXY:` address): iperf3 -c -> socat -> proxy -> iperf3 -s.
#    strata (forward endpoint) against squid (-N, no cache); a run
#    through socat alone (TCP: to iperf3, no proxy) is the ceiling the
#    common socat hop and CLIENT_CPU allow.
# 4. tls: new TLS 1.3 connections per second (ECDSA P-256 certificate,
#    X25519), each carrying one HTTP/1.1 request:
#    `h2load --h1 -n10000 -c50 -H 'Connection: close'` (h2load opens a
#    new connection when the server closes one; a count, not -D: h2load
#    1.52 hangs at the end of a -D run when servers close connections).
#    strata's TLS endpoint answers with the http_rules `answer` action; nginx (ssl, TLS 1.3
#    only) serves the same bytes from a file. Neither has an upstream.
# Plus, once, the ceilings of CLIENT_CPU: wrk and h2load straight at the
# origin (no proxy), so a ratio near 1 with the proxy CPU not busy means
# the client side was the limit, not the proxy.
#
# For every run the proxy's CPU time (utime+stime of its processes) over
# the run (wall time of the load generator, h2load's warm-up included)
# is recorded; for strata also per thread; the summary also gives each
# rate per second of the proxy's CPU time ("per CPU-s"), which holds up
# better than the raw rate when other jobs share the proxy's CPU. Also
# per run: how busy the rest of the proxy CPU was (softirq, other jobs)
# and how busy the client CPU was. Runs alternate peers,
# ROUNDS times (even rounds in reverse order); summary = best of each,
# ratios strata / peer (p99: strata / peer of the best runs, higher is
# worse).
#
# needs: the test peers and squid (`tools/setup --bench` installs them)
# usage: tools/bench/http_proxy.sh STRATA_BINARY   (root; ~4 min,
#        ~6 with ROUNDS=3)
# env:   SECONDS_PER_RUN=10 ROUNDS=2 CONNS=50 SMALL_BYTES=256
#        H2_CONNS=10 H2_STREAMS=10 TLS_CONNS=50 TLS_REQUESTS=10000
#        PROXY_CPU=1 CLIENT_CPU=0
#        BASELINES=1 (0: skip the no-proxy ceilings)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
STRATA=${1:?usage: http_proxy.sh STRATA_BINARY}
IT_NAME=http_proxy
. "$HERE/../../tests/integration/lib.sh"

SECS=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-2}
CONNS=${CONNS:-50}
SMALL=${SMALL_BYTES:-256}
H2C=${H2_CONNS:-10}
H2M=${H2_STREAMS:-10}
TLSC=${TLS_CONNS:-50}
TLSN=${TLS_REQUESTS:-10000}
PCPU=${PROXY_CPU:-1}
CCPU=${CLIENT_CPU:-0}
BASELINES=${BASELINES:-1}

it_require_root
it_need_cmd ip wrk h2load nginx haproxy squid socat iperf3 openssl curl \
	jq awk timeout taskset getconf
[ -x "$STRATA" ] || fail "not executable: $STRATA"
STRATA=$(readlink -f "$STRATA")
[ "$SMALL" -le 511 ] || fail "SMALL_BYTES at most 511 (http_rules body)"
it_init
# squid drops to user proxy: it must reach its files under IT_WORK.
chmod 755 "$IT_WORK"

N=strata-hp-$$
IFN=sthp$$
it_netns "$N"
inn() { ip netns exec "$N" "$@"; }
# Commands on the client and on the proxy CPU. Arrays, not functions: a
# function run with & is a subshell, and $! would not be the program
# (ip netns exec and taskset both exec, so here it is).
ONC=(ip netns exec "$N" taskset -c "$CCPU")
ONP=(ip netns exec "$N" taskset -c "$PCPU")
inn sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
inn sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096
# Connection: close runs (tls) leave many TIME_WAITs on the client side.
inn sysctl -qw net.ipv4.tcp_tw_reuse=1

# ---- certificates (as in tests/integration/http_tls.sh) -----------------
P=$IT_WORK/pki
mkdir -p "$P"
ossl() { openssl "$@" >/dev/null 2>&1 || fail "openssl $*"; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$P/ca.key" -out "$P/ca.pem" -days 2 -subj "/CN=bench CA" \
	-addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign
ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$P/web.key" -out "$P/web.csr" -subj "/CN=bench.test"
printf 'subjectAltName=DNS:bench.test,IP:127.0.0.1\n' >"$P/web.ext"
ossl x509 -req -in "$P/web.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" \
	-CAcreateserial -days 2 -out "$P/web.pem" -extfile "$P/web.ext"

# ---- origin: nginx on CLIENT_CPU ------------------------------------------
mkdir -p "$IT_WORK/www" "$IT_WORK/origin" "$IT_WORK/ngx"
BODY=$(head -c "$SMALL" /dev/zero | tr '\0' x)
printf '%s' "$BODY" >"$IT_WORK/www/small"
cat >"$IT_WORK/origin/nginx.conf" <<NGINX
user root;
worker_processes 1;
daemon off;
pid $IT_WORK/origin/nginx.pid;
error_log $IT_WORK/origin/nginx.err;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
	access_log off;
	keepalive_requests 100000000;
	keepalive_timeout 300s;
	server {
		listen 127.0.0.1:18080 backlog=4096;
		listen 127.0.0.1:18082 http2 backlog=4096;
		root $IT_WORK/www;
	}
}
NGINX
"${ONC[@]}" nginx -p "$IT_WORK/origin" -c "$IT_WORK/origin/nginx.conf" \
	>/dev/null 2>&1 &
it_track_pid $!
"${ONC[@]}" iperf3 -s -B 127.0.0.1 -p 5201 >"$IT_WORK/iperf3-s.log" 2>&1 &
it_track_pid $!

# ---- peers, all on PROXY_CPU, idle while others run ------------------------
# nginx: reverse proxy h1 (8081) and h2c (8083), TLS server (8444).
cat >"$IT_WORK/ngx/nginx.conf" <<NGINX
user root;
worker_processes 1;
daemon off;
pid $IT_WORK/ngx/nginx.pid;
error_log $IT_WORK/ngx/nginx.err;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
	access_log off;
	keepalive_requests 100000000;
	keepalive_timeout 300s;
	upstream origin {
		server 127.0.0.1:18080;
		keepalive 256;
		keepalive_requests 100000000;
	}
	server {
		listen 127.0.0.1:8081 backlog=4096;
		listen 127.0.0.1:8083 http2 backlog=4096;
		location / {
			proxy_pass http://origin;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
	server {
		listen 127.0.0.1:8444 ssl backlog=4096;
		ssl_certificate $P/web.pem;
		ssl_certificate_key $P/web.key;
		ssl_protocols TLSv1.3;
		root $IT_WORK/www;
	}
}
NGINX
"${ONP[@]}" nginx -p "$IT_WORK/ngx" -c "$IT_WORK/ngx/nginx.conf" >/dev/null 2>&1 &
NGX_PID=$!
it_track_pid $NGX_PID

# haproxy: reverse proxy h1 (8082) and h2c (8084).
cat >"$IT_WORK/haproxy.cfg" <<HAP
global
	nbthread 1
	maxconn 8000
defaults
	mode http
	timeout connect 5s
	timeout client 300s
	timeout server 300s
	timeout http-keep-alive 300s
	http-reuse always
frontend h1
	bind 127.0.0.1:8082
	default_backend origin
frontend h2
	bind 127.0.0.1:8084 proto h2
	default_backend origin
backend origin
	server o 127.0.0.1:18080
HAP
"${ONP[@]}" haproxy -f "$IT_WORK/haproxy.cfg" -db >"$IT_WORK/haproxy.out" 2>&1 &
HAP_PID=$!
it_track_pid $HAP_PID

# squid: CONNECT forward proxy (3130), no cache, no logs.
mkdir -p "$IT_WORK/squid"
chown proxy: "$IT_WORK/squid" 2>/dev/null
cat >"$IT_WORK/squid/squid.conf" <<SQUID
http_port 127.0.0.1:3130
http_access allow all
cache deny all
cache_mem 8 MB
access_log none
cache_store_log none
cache_log $IT_WORK/squid/cache.log
pid_filename $IT_WORK/squid/squid.pid
coredump_dir $IT_WORK/squid
shutdown_lifetime 1 second
max_filedescriptors 65536
SQUID
"${ONP[@]}" squid -N -f "$IT_WORK/squid/squid.conf" >"$IT_WORK/squid/out" 2>&1 &
SQUID_PID=$!
it_track_pid $SQUID_PID

# ---- strata on PROXY_CPU ---------------------------------------------------
cat >"$IT_WORK/strata.yaml" <<YAML
ports:
  - name: tun0
    kind: tun
    tun: {ifname: $IFN, kernel_addresses: [10.95.0.1/24], routes: []}
    addresses: [10.95.0.2/24]
lcores: {rxtx: 1, workers: 1, cpus: "$PCPU"}
policy: {default_action: drop}
endpoints:
  - name: web
    listen: ["127.0.0.1:8080"]
  - name: fwd
    listen: ["127.0.0.1:3128"]
    forward: true
  - name: tls
    listen: ["127.0.0.1:8443"]
    tls:
      certs: [{cert: $P/web.pem, key: $P/web.key}]
      min_version: "1.3"
upstreams:
  - name: origin
    servers: ["127.0.0.1:18080"]
    max_idle: 1024
    idle_timeout_ms: 300000
routes:
  - endpoint: web
    upstream: origin
http_rules:
  - endpoint: tls
    action: answer
    body: "$BODY"
YAML
"$STRATA" config check "$IT_WORK/strata.yaml" >/dev/null ||
	fail "config check"
# taskset execs strata: $! stays strata's PID.
printf '#!/bin/sh\nexec taskset -c %s %s "$@"\n' "$PCPU" "$STRATA" \
	>"$IT_WORK/strata-pinned"
chmod +x "$IT_WORK/strata-pinned"
it_strata_start "$N" "$IT_WORK/strata-pinned" "$IT_WORK/strata.yaml"
STRATA_PID=$IT_STRATA_PID

# ---- everyone answers ------------------------------------------------------
get() { inn curl -sS --max-time 5 "$@" 2>/dev/null; }
it_wait_for 10 "origin" get -f http://127.0.0.1:18080/small
it_wait_for 20 "strata" get -f http://127.0.0.1:8080/small
it_wait_for 10 "nginx proxy" get -f http://127.0.0.1:8081/small
it_wait_for 10 "haproxy" get -f http://127.0.0.1:8082/small
sq_up() { get -f -x http://127.0.0.1:3130 http://127.0.0.1:18080/small; }
it_wait_for 20 "squid" sq_up
for u in http://127.0.0.1:8080/small http://127.0.0.1:8081/small \
	http://127.0.0.1:8082/small; do
	[ "$(get "$u")" = "$BODY" ] || fail "GET $u: wrong body"
done
for u in http://127.0.0.1:8080/small http://127.0.0.1:8083/small \
	http://127.0.0.1:8084/small http://127.0.0.1:18082/small; do
	v=$(get --http2-prior-knowledge -o /dev/null -w '%{http_version}' "$u")
	[ "$v" = 2 ] || fail "$u: HTTP/$v, want 2 (prior knowledge)"
done
for p in 8443 8444; do
	out=$(get --http1.1 --tlsv1.3 --cacert "$P/ca.pem" \
		"https://127.0.0.1:$p/small")
	[ "$out" = "$BODY" ] || fail "GET https://127.0.0.1:$p/small: '$out'"
done
for p in 3128 3130; do
	out=$(get -p -x "http://127.0.0.1:$p" http://127.0.0.1:18080/small)
	[ "$out" = "$BODY" ] || fail "CONNECT through :$p: '$out'"
done
it_log "all peers answer; strata pid $STRATA_PID, nginx $NGX_PID," \
	"haproxy $HAP_PID, squid $SQUID_PID"

# socat CONNECT legs: 5202 -> strata, 5203 -> squid, 5204 -> iperf3 direct.
SOCAT="socat -b 131072"
"${ONC[@]}" $SOCAT TCP-LISTEN:5202,bind=127.0.0.1,fork,reuseaddr \
	PROXY:127.0.0.1:127.0.0.1:5201,proxyport=3128 2>>"$IT_WORK/socat.err" &
it_track_pid $!
"${ONC[@]}" $SOCAT TCP-LISTEN:5203,bind=127.0.0.1,fork,reuseaddr \
	PROXY:127.0.0.1:127.0.0.1:5201,proxyport=3130 2>>"$IT_WORK/socat.err" &
it_track_pid $!
"${ONC[@]}" $SOCAT TCP-LISTEN:5204,bind=127.0.0.1,fork,reuseaddr \
	TCP:127.0.0.1:5201 2>>"$IT_WORK/socat.err" &
it_track_pid $!
sleep 0.5

# ---- CPU accounting ----------------------------------------------------------
HZ=$(getconf CLK_TCK)
# ticks PID: utime+stime of PID and its children (nginx master + worker).
ticks() {
	local p t=0 f
	for p in "$1" $(pgrep -P "$1"); do
		f=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || continue
		set -- $f
		t=$((t + ${12} + ${13}))
	done
	echo "$t"
}
# thread_ticks: "comm=ticks" for each of strata's threads.
thread_ticks() {
	local t f
	for t in /proc/"$STRATA_PID"/task/*; do
		f=$(sed 's/.*) //' "$t/stat" 2>/dev/null) || continue
		set -- $f
		echo "$(tr ' ' _ <"$t/comm")=$((${12} + ${13}))"
	done
}
thread_delta() { # before-list after-list secs -> "name:cpu% ..."
	awk -v hz="$HZ" -v s="$3" 'NR == FNR { split($0, a, "="); b[FNR] = a[2]; next }
	{ split($0, a, "="); d = a[2] - b[FNR]
	  if (d > 0) printf "%s%s:%.0f%%", sep, a[1], 100 * d / hz / s; sep = " " }
	END { print "" }' <(echo "$1") <(echo "$2")
}

# cpu_busy CPU: "busy total" jiffies of one CPU from /proc/stat.
cpu_busy() {
	awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= 9; i++) t += $i
		print t - $5 - $6, t }' /proc/stat
}

# ---- one run -----------------------------------------------------------------
# Results: RES[test:peer] = space-separated values of each round,
# and per run (test:peer:value) P99, CPU, THR, ERR.
declare -A RES P99 CPU THR ERR OTHER CBUSY
DETAIL=()
pid_of() {
	case $1 in
	strata) echo "$STRATA_PID" ;; nginx) echo "$NGX_PID" ;;
	haproxy) echo "$HAP_PID" ;; squid) echo "$SQUID_PID" ;; *) echo "" ;;
	esac
}
port_of() { # test peer
	case $1:$2 in
	h1:strata | h2:strata) echo 8080 ;; h1:nginx) echo 8081 ;;
	h1:haproxy) echo 8082 ;; h2:nginx) echo 8083 ;; h2:haproxy) echo 8084 ;;
	h1:origin) echo 18080 ;; h2:origin) echo 18082 ;;
	tls:strata) echo 8443 ;; tls:nginx) echo 8444 ;;
	connect:strata) echo 5202 ;; connect:squid) echo 5203 ;;
	connect:socat) echo 5204 ;;
	esac
}

# load TEST PORT: run the load generator; prints "value p99 errors".
load() {
	local t=$1 port=$2 out
	case $t in
	h1)
		out=$(timeout $((SECS + 30)) "${ONC[@]}" wrk -t1 \
			-c"$CONNS" -d"${SECS}s" --latency \
			"http://127.0.0.1:$port/small" 2>&1)
		echo "$out" >>"$IT_WORK/load.log"
		echo "$out" | it_wrk_summary ;;
	h2 | tls)
		# h2load 1.52 hangs at the end of a -D run when the server
		# closes connections: the tls runs use a request count.
		local args=(-D "$SECS" --warm-up-time 1 -c"$H2C" -m"$H2M"
			"http://127.0.0.1:$port/small")
		[ "$t" = tls ] && args=(-n "$TLSN" --h1 -c"$TLSC"
			-H 'Connection: close' "https://127.0.0.1:$port/small")
		out=$(timeout $((SECS + 120)) "${ONC[@]}" h2load \
			"${args[@]}" 2>&1)
		echo "$out" >>"$IT_WORK/load.log"
		if [ "$t" = tls ]; then
			echo "$out" | grep -q 'TLS Protocol: TLSv1.3' ||
				{ it_log "tls: not TLSv1.3: $(echo "$out" |
					grep -i 'tls\|protocol')"; return 1; }
		fi
		echo "$out" | awk '
		/^finished in/ { for (i = 1; i <= NF; i++)
			if ($i ~ /^req\/s/) { v = $(i - 1); gsub(/,/, "", v) } }
		/^requests:/ { gsub(/,/, ""); ok = $8; err = $10 + $12 + $14 }
		/^status codes:/ { gsub(/,/, ""); err += $7 + $9 } # 4xx 5xx
		END { if (v == "" || ok == 0) exit 1
			printf "%.0f - %d\n", v, err }' ;;
	connect)
		out=$(timeout $((SECS + 30)) "${ONC[@]}" iperf3 \
			-c 127.0.0.1 -p "$port" -t "$SECS" -O 1 -J 2>&1)
		echo "$out" >>"$IT_WORK/load.log"
		echo "$out" | jq -r '.end.sum_received.bits_per_second / 1e9 |
			. * 1000 | round / 1000 | "\(.) - 0"' 2>/dev/null |
			grep -v '^null' | grep . ;;
	esac || { it_log "$t :$port: $(echo "$out" | tail -n 5)"; return 1; }
}

unit() { case $1 in h1 | h2) echo req/s ;; tls) echo conn/s ;;
	connect) echo Gbit/s ;; esac; }
one() { # TEST PEER
	local t=$1 peer=$2 pid port r t0 t1 th0 th1 cpu w0 secs
	pid=$(pid_of "$peer")
	port=$(port_of "$t" "$peer")
	if [ -n "$pid" ]; then
		kill -0 "$pid" 2>/dev/null || fail "$peer (pid $pid) is gone"
		t0=$(ticks "$pid")
	fi
	[ "$peer" = strata ] && th0=$(thread_ticks)
	local b0 b1 c0 c1
	b0=$(cpu_busy "$PCPU")
	c0=$(cpu_busy "$CCPU")
	w0=$(date +%s.%N)
	r=$(load "$t" "$port") && [ -n "$r" ] || fail "$t through $peer"
	secs=$(awk -v a="$w0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
	b1=$(cpu_busy "$PCPU")
	c1=$(cpu_busy "$CCPU")
	set -- $r
	RES[$t:$peer]="${RES[$t:$peer]:-}${RES[$t:$peer]:+ }$1"
	P99[$t:$peer:$1]=$2
	ERR[$t:$peer:$1]=$3
	cpu=-
	if [ -n "$pid" ]; then
		t1=$(ticks "$pid")
		cpu=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v s="$secs" \
			'BEGIN { printf "%.0f", 100 * d / hz / s }')
	fi
	CPU[$t:$peer:$1]=$cpu
	# Busy time of both CPUs over the run; on the proxy CPU, what the
	# proxy's own threads did not use (softirq, other jobs on the box).
	OTHER[$t:$peer:$1]=$(echo "$b0 $b1 ${t1:-0} ${t0:-0}" | awk \
		'{ printf "%.0f", 100 * ($3 - $1 - ($5 - $6)) / ($4 - $2) }')
	CBUSY[$t:$peer:$1]=$(echo "$c0 $c1" | awk \
		'{ printf "%.0f", 100 * ($3 - $1) / ($4 - $2) }')
	if [ "$peer" = strata ]; then
		it_strata_alive
		th1=$(thread_ticks)
		THR[$t:$peer:$1]=$(thread_delta "$th0" "$th1" "$secs")
	fi
	local d="$t $peer: $1 $(unit "$t"), p99 $2 ms, $3 errors,"
	d+=" proxy CPU $cpu%, rest of CPU $PCPU ${OTHER[$t:$peer:$1]}%,"
	d+=" CPU $CCPU ${CBUSY[$t:$peer:$1]}%"
	[ -n "${THR[$t:$peer:$1]:-}" ] && d+=" (${THR[$t:$peer:$1]})"
	DETAIL+=("$d")
	it_log "${DETAIL[-1]}"
	sleep 1
}

# ---- the runs ----------------------------------------------------------------
declare -A PEERS=([h1]="strata nginx haproxy" [h2]="strata nginx haproxy"
	[connect]="strata squid" [tls]="strata nginx")
TESTS="h1 h2 connect tls"
if [ "$BASELINES" = 1 ]; then
	one h1 origin
	one h2 origin
	one connect socat
fi
for r in $(seq 1 "$ROUNDS"); do
	for t in $TESTS; do
		ps=${PEERS[$t]}
		[ $((r % 2)) = 0 ] && ps=$(echo "$ps" | tr ' ' '\n' | tac | xargs)
		for p in $ps; do one "$t" "$p"; done
	done
done

sleep 1
stats=$(it_strata_stats) || exit 1
http=$(echo "$stats" | jq -c '[.lcores[] | select(.role=="worker") |
	.http] | .[0]')
it_log "strata http counters: $http"
it_strata_stop

# ---- summary -------------------------------------------------------------------
# eff RATE CPU%: the rate per second of the proxy's CPU time.
eff() { awk -v r="$1" -v c="$2" 'BEGIN { if (c + 0 == 0) print "-";
	else { v = r / (c / 100); printf (v >= 100 ? "%.0f" : "%.3g"), v } }'; }
best() { printf '%s\n' $1 | sort -g | tail -n 1; }
ratio() { awk -v s="$1" -v k="$2" 'BEGIN { if (k + 0 == 0) print "-";
	else printf "%.3f", s / k }'; }
echo "http_proxy: $(date -u +%F) strata $("$STRATA" version 2>/dev/null |
	head -n 1) ${SECS}s runs, rounds=$ROUNDS, $SMALL-byte file," \
	"proxy on CPU $PCPU, clients and origin on CPU $CCPU"
J='{}'
for t in $TESTS; do
	sb=$(best "${RES[$t:strata]}")
	se=$(eff "$sb" "${CPU[$t:strata:$sb]}")
	line="  $t ($(unit "$t")): strata ${RES[$t:strata]} (CPU ${CPU[$t:strata:$sb]}%, $se per CPU-s)"
	jt=$(jq -cn --argjson v "$sb" --arg cpu "${CPU[$t:strata:$sb]}" \
		--arg thr "${THR[$t:strata:$sb]}" --arg p99 "${P99[$t:strata:$sb]}" \
		'{strata: {best: $v, cpu_pct: $cpu, threads: $thr, p99_ms: $p99}}')
	for p in ${PEERS[$t]}; do
		[ "$p" = strata ] && continue
		pb=$(best "${RES[$t:$p]}")
		pe=$(eff "$pb" "${CPU[$t:$p:$pb]}")
		line+="; $p ${RES[$t:$p]} (CPU ${CPU[$t:$p:$pb]}%, $pe per CPU-s), ratio $(ratio "$sb" "$pb"), per CPU-s $(ratio "$se" "$pe")"
		[ "$t" = h1 ] && line+=", p99 ${P99[$t:strata:$sb]} / ${P99[$t:$p:$pb]} ms (x$(ratio "${P99[$t:strata:$sb]}" "${P99[$t:$p:$pb]}"))"
		jt=$(echo "$jt" | jq -c --arg p "$p" --argjson v "$pb" \
			--arg cpu "${CPU[$t:$p:$pb]}" --arg p99 "${P99[$t:$p:$pb]}" \
			--arg r "$(ratio "$sb" "$pb")" --arg e "$(ratio "$se" "$pe")" \
			'.[$p] = {best: $v, cpu_pct: $cpu, p99_ms: $p99} |
			 .["ratio_vs_" + $p] = ($r | tonumber? // null) |
			 .["per_cpu_s_ratio_vs_" + $p] = ($e | tonumber? // null)')
	done
	echo "$line"
	echo "      strata threads (best run): ${THR[$t:strata:$sb]}"
	J=$(echo "$J" | jq -c --arg t "$t" --argjson v "$jt" '.[$t] = $v')
done
if [ "$BASELINES" = 1 ]; then
	echo "  ceilings without a proxy: wrk -> origin ${RES[h1:origin]} req/s" \
		"(p99 ${P99[h1:origin:${RES[h1:origin]}]} ms), h2load -> origin" \
		"${RES[h2:origin]} req/s, iperf3 through socat alone" \
		"${RES[connect:socat]} Gbit/s"
	J=$(echo "$J" | jq -c --argjson a "${RES[h1:origin]}" \
		--argjson b "${RES[h2:origin]}" --argjson c "${RES[connect:socat]}" \
		'.ceilings = {h1_rps: $a, h2_rps: $b, connect_socat_gbps: $c}')
fi
printf '    %s\n' "${DETAIL[@]}"
echo "$J" | jq -c --arg date "$(date -u +%F)" --argjson secs "$SECS" \
	--argjson rounds "$ROUNDS" --argjson http "${http:-null}" \
	'{bench: "http_proxy", date: $date, seconds: $secs, rounds: $rounds} +
	 . + {strata_http_counters: $http}'
