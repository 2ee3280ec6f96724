#!/usr/bin/env bash
# Small HTTP/1.1 requests through strata's userspace stack in TUN mode
# (L4 proxy, kernel-socket egress) beside the kernel path, same run.
#
#   netns S: strata, its TUN (routes 10.99.0.0/25 into strata), wrk
#   netns O: nginx (1 worker) serving a SMALL_BYTES file on 10.99.0.2
#            (inside the TUN-routed /25) and 10.99.0.200 (outside it:
#            straight over the veth)
#
# 1. keep-alive: wrk -t1 -c50 -d10s --latency; requests/s and p99.
# 2. new connections: the same with -H 'Connection: close', so every
#    request is a new TCP connection (through strata: a new lwIP pcb, a
#    new egress socket, proxy setup and teardown; no audit log).
# Runs alternate kernel, strata ROUNDS times; best of each, ratios
# strata / kernel (for p99: strata / kernel of the best-throughput runs,
# higher is worse).
#
# 3. port reuse: (2) again for REUSE_SECONDS with the clients' ephemeral
#    port range cut to REUSE_PORTS ports, so 4-tuples come back quickly.
# After every strata run: proxied connections still open 3 s later.
#
# 4. scaling (only with SCALE_WORKERS, e.g. "1 2"): strata restarted with
#    lcores.workers = each count in turn (rxtx 1), (1) and (2) against it
#    ROUNDS times; requests/s, and packets/s through the stack (the
#    workers' stack_rx + stack_tx over the run); ratios to the first
#    count. Phases 1-3 run with WORKERS workers.
#
# usage: tools/bench/stack_http.sh STRATA_BINARY   (root; ~1.5 min, +20 s
#        per scaling run)
# env:   SECONDS_PER_RUN=10 ROUNDS=2 CONNS=50 SMALL_BYTES=256
#        REUSE_SECONDS=5 REUSE_PORTS=1000 WORKERS=1 SCALE_WORKERS=
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
STRATA=${1:?usage: stack_http.sh STRATA_BINARY}
IT_NAME=stack_http
. "$HERE/../../tests/integration/lib.sh"

SECS=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-2}
CONNS=${CONNS:-50}
SMALL=${SMALL_BYTES:-256}
WORKERS=${WORKERS:-1}
SCALE_WORKERS=${SCALE_WORKERS:-}

it_require_root
it_need_cmd ip wrk nginx curl jq awk timeout
[ -x "$STRATA" ] || fail "not executable: $STRATA"
STRATA=$(readlink -f "$STRATA")
it_init

S=strata-bh-s-$$
O=strata-bh-o-$$
VS=bhs$$
VO=bho$$
IFN=stbh$$
it_netns "$S"
it_netns "$O"
ip link add "$VS" netns "$S" type veth peer name "$VO" netns "$O" ||
	fail "veth"
ip -n "$S" addr add 10.99.0.1/24 dev "$VS"
ip -n "$O" addr add 10.99.0.2/24 dev "$VO"
ip -n "$O" addr add 10.99.0.200/24 dev "$VO"
ip -n "$S" link set "$VS" up
ip -n "$O" link set "$VO" up
# Connection: close runs make tens of thousands of connections: a wide
# port range for the clients in S (wrk, and strata's egress sockets), a
# deep accept queue in O. No tcp_tw_reuse: see the port reuse phase.
ip netns exec "$S" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
ip netns exec "$O" sysctl -qw net.core.somaxconn=4096 \
	net.ipv4.tcp_max_syn_backlog=4096

mkdir -p "$IT_WORK/www"
head -c "$SMALL" /dev/zero | tr '\0' x >"$IT_WORK/www/small"
# ports: 8080-8083 rounds, 8090 port reuse, 8091-8098 scaling
NGINX_LISTEN=$(for p in 8080 8081 8082 8083 $(seq 8090 8098); do
	printf '\t\tlisten %s backlog=4096;\n' "$p"; done)
cat >"$IT_WORK/nginx.conf" <<NGINX
user root;
worker_processes 1;
daemon off;
pid $IT_WORK/nginx.pid;
error_log $IT_WORK/nginx.err;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
	access_log off;
	keepalive_requests 100000000;
	keepalive_timeout 300s;
	server {
$NGINX_LISTEN
		root $IT_WORK/www;
	}
}
NGINX
ip netns exec "$O" nginx -p "$IT_WORK" -c "$IT_WORK/nginx.conf" \
	>/dev/null 2>&1 &
it_track_pid $!

# strata_up N: strata with N workers, its TUN and routes ready.
strata_up() {
	cat >"$IT_WORK/strata.yaml" <<YAML
ports:
  - name: tun0
    kind: tun
    addresses: [10.77.0.2/24]
    tun:
      ifname: $IFN
      kernel_addresses: [10.77.0.1/24]
      routes: [10.99.0.0/25]
lcores: {rxtx: 1, workers: $1}
policy:
  default_action: stack
egress:
  interface: $VS
YAML
	it_strata_start "$S" "$STRATA" "$IT_WORK/strata.yaml"
	it_wait_for 20 "$IFN up" it_link_ready "$S" "$IFN"
	it_wait_for 10 "route into $IFN" route_in
	it_wait_for 10 "direct route over $VS" route_direct
}
route_in() { ip -n "$S" route get 10.99.0.2 | grep -q "dev $IFN"; }
route_direct() { ip -n "$S" route get 10.99.0.200 | grep -q "dev $VS"; }
strata_up "$WORKERS"
origin_up() { ip netns exec "$O" curl -sf http://127.0.0.1:8080/small; }
it_wait_for 10 "nginx" origin_up
for a in 10.99.0.200 10.99.0.2; do
	got=$(timeout 10 ip netns exec "$S" curl -sS --max-time 5 \
		"http://$a:8080/small" | wc -c)
	[ "$got" = "$SMALL" ] || fail "GET http://$a:8080/small: $got bytes"
done

# syn_retrans: the TCPSynRetrans counter of namespace S (SYNs the
# clients had to send again).
syn_retrans() {
	ip netns exec "$S" awk '/^TcpExt:/ { if (!n) { for (i = 1; i <= NF; i++)
		if ($i == "TCPSynRetrans") c = i; n = 1 } else print $c }' \
		/proc/net/netstat
}
# wrk_run ADDR [wrk args...]: wrk for DUR seconds against ADDR:PORT;
# prints "req/s p99-ms errors syn-retransmits", errors = socket errors +
# non-2xx/3xx answers.
PORT=8080
DUR=$SECS
wrk_run() {
	local addr=$1 out sum sr0 sr1
	shift
	sr0=$(syn_retrans)
	out=$(timeout $((DUR + 30)) ip netns exec "$S" wrk -t1 -c"$CONNS" \
		-d"${DUR}s" --latency "$@" "http://$addr:$PORT/small" 2>&1)
	sr1=$(syn_retrans)
	echo "$out" >>"$IT_WORK/wrk.log"
	it_strata_alive
	[ "$addr" = 10.99.0.200 ] || route_in || fail "route into $IFN gone"
	sum=$(echo "$out" | it_wrk_summary) ||
		{ it_log "wrk $addr $*: $(echo "$out" | tail -n 5)"; return 1; }
	echo "$sum $((sr1 - sr0))"
}

# settle NAME: after a strata run, give proxied connections up to 3 s
# to close; report those that stay open (LINGER).
active() { it_strata_stats | jq '[.lcores[] | select(.role=="worker") |
	.stack.active] | add'; }
LINGER=()
settle() {
	local i n
	for i in $(seq 1 6); do
		n=$(active) || exit 1
		[ "$n" -eq 0 ] && return 0
		sleep 0.5
	done
	it_log "WARN: after $1, $n proxied connections still active 3 s" \
		"after wrk ended"
	LINGER+=("$1:$n")
}

# one NAME ADDR [wrk args...]: a run; rate into array NAME, p99 into
# P99[NAME:rate], errors into ERR[NAME:rate], SYN retransmits into
# SYNR[NAME:rate], a line into DETAIL.
declare -a DETAIL KK SK KC SC KR SR
declare -A P99 ERR SYNR
one() {
	local -n arr=$1
	local name=$1 r
	shift
	r=$(wrk_run "$@") && [ -n "$r" ] || fail "wrk $*"
	set -- $r
	arr+=("$1")
	P99["$name:$1"]=$2
	ERR["$name:$1"]=$3
	SYNR["$name:$1"]=$4
	DETAIL+=("$name port $PORT: $1 req/s, p99 $2 ms, $3 errors, $4 SYN rtx")
	it_log "${DETAIL[-1]}"
	case $name in S*) settle "$name" ;; esac
	sleep 1
}
# A fresh server port per round: the 4-tuples of one round's closed
# connections are not reused by the next (see the port reuse phase).
[ "$ROUNDS" -le 4 ] || fail "ROUNDS at most 4"
for r in $(seq 1 "$ROUNDS"); do
	PORT=$((8079 + r))
	one KK 10.99.0.200
	one SK 10.99.0.2
	one KC 10.99.0.200 -H 'Connection: close'
	one SC 10.99.0.2 -H 'Connection: close'
done

# Port reuse: new connections with the clients' ephemeral range cut to
# REUSE_PORTS ports, so a client port (and the 4-tuple) comes back within
# a second or two. The kernel path is fine with that (the client closes
# second and keeps no TIME_WAIT; the origin's TIME_WAIT accepts a newer
# SYN). Through strata the lwIP side closes first and holds the tuple
# in TIME_WAIT for 2 MSL.
REUSE_SECS=${REUSE_SECONDS:-5}
REUSE_PORTS=${REUSE_PORTS:-1000}
ip netns exec "$S" sysctl -qw \
	net.ipv4.ip_local_port_range="40000 $((40000 + REUSE_PORTS - 1))"
PORT=8090 DUR=$REUSE_SECS
one KR 10.99.0.200 -H 'Connection: close'
one SR 10.99.0.2 -H 'Connection: close'

sleep 1
stats=$(it_strata_stats) || exit 1
stk=$(echo "$stats" | jq -c '{drops, stack_out,
	worker: ([.lcores[] | select(.role=="worker") |
		{stack_rx, stack_tx, stack_tx_dropped, stack}] | .[0])}')
it_log "strata counters: $stk"
it_strata_stop

# Scaling: strata again with each worker count of SCALE_WORKERS in turn,
# the counts alternating within each round; the best of the rounds per
# count. Packets through the stack: all workers' stack_rx + stack_tx.
stack_pkts() { it_strata_stats | jq '[.lcores[] |
	select(.role=="worker") | .stack_rx + .stack_tx] | add'; }
SCALE_JSON=[]
SCALE_LINES=()
if [ -n "$SCALE_WORKERS" ]; then
	set -- $SCALE_WORKERS
	[ $(($# * ROUNDS)) -le 8 ] ||
		fail "SCALE_WORKERS counts x ROUNDS at most 8 (server ports)"
	ip netns exec "$S" sysctl -qw \
		net.ipv4.ip_local_port_range="1024 65000"
	DUR=$SECS
	declare -A WK WC WKP WCP
	cport=8091
	for r in $(seq 1 "$ROUNDS"); do
		for n in $SCALE_WORKERS; do
			strata_up "$n"
			# keep-alive: 50 tuples a run, port 8080 will do
			PORT=8080
			p0=$(stack_pkts) || exit 1
			k=$(wrk_run 10.99.0.2) && [ -n "$k" ] || fail "wrk"
			p1=$(stack_pkts) || exit 1
			kp=$(((p1 - p0) / DUR))
			PORT=$cport
			cport=$((cport + 1))
			p0=$(stack_pkts) || exit 1
			c=$(wrk_run 10.99.0.2 -H 'Connection: close') &&
				[ -n "$c" ] || fail "wrk"
			p1=$(stack_pkts) || exit 1
			cp=$(((p1 - p0) / DUR))
			settle "W$n"
			it_strata_stop
			set -- $k; k=$1
			set -- $c; c=$1
			SCALE_LINES+=("workers $n round $r: keep-alive $k req/s ($kp stack pkts/s), close $c conn/s ($cp pkts/s)")
			it_log "${SCALE_LINES[-1]}"
			if [ "$k" -gt "${WK[$n]:-0}" ]; then
				WK[$n]=$k; WKP[$n]=$kp
			fi
			if [ "$c" -gt "${WC[$n]:-0}" ]; then
				WC[$n]=$c; WCP[$n]=$cp
			fi
		done
	done
	first=${SCALE_WORKERS%% *}
	for n in $SCALE_WORKERS; do
		SCALE_JSON=$(echo "$SCALE_JSON" | jq -c --argjson n "$n" \
			--argjson k "${WK[$n]}" --argjson kp "${WKP[$n]}" \
			--argjson c "${WC[$n]}" --argjson cp "${WCP[$n]}" \
			--argjson k1 "${WK[$first]}" --argjson c1 "${WC[$first]}" \
			'def r3: . * 1000 | round / 1000;
			. + [{workers: $n, keepalive_rps: $k, keepalive_pps: $kp,
			  close_cps: $c, close_pps: $cp,
			  keepalive_ratio: ($k / $k1 | r3),
			  close_ratio: ($c / $c1 | r3)}]')
	done
fi

best() { printf '%s\n' "$@" | sort -g | tail -n 1; }
ratio() { awk -v s="$1" -v k="$2" 'BEGIN { printf "%.3f", s / k }'; }
bkk=$(best "${KK[@]}"); bsk=$(best "${SK[@]}")
bkc=$(best "${KC[@]}"); bsc=$(best "${SC[@]}")
pkk=${P99["KK:$bkk"]}; psk=${P99["SK:$bsk"]}
pkc=${P99["KC:$bkc"]}; psc=${P99["SC:$bsc"]}
echo "stack_http: $(date -u +%F) wrk -t1 -c$CONNS -d${SECS}s," \
	"$SMALL-byte file, rounds=$ROUNDS"
echo "  keep-alive: kernel ${KK[*]}, strata ${SK[*]} req/s;" \
	"ratio (best) $(ratio "$bsk" "$bkk"); p99 kernel $pkk ms," \
	"strata $psk ms (x$(ratio "$psk" "$pkk"))"
echo "  Connection: close: kernel ${KC[*]}, strata ${SC[*]} conn/s;" \
	"ratio (best) $(ratio "$bsc" "$bkc"); p99 kernel $pkc ms," \
	"strata $psc ms (x$(ratio "$psc" "$pkc")); SYN retransmits kernel" \
	"${SYNR["KC:$bkc"]}, strata ${SYNR["SC:$bsc"]}"
echo "  port reuse ($REUSE_PORTS client ports, ${REUSE_SECS}s):" \
	"kernel $KR, strata $SR conn/s; ratio $(ratio "$SR" "$KR");" \
	"SYN retransmits kernel ${SYNR["KR:$KR"]}, strata ${SYNR["SR:$SR"]}"
[ ${#LINGER[@]} -eq 0 ] || echo "  still active 3 s after wrk ended" \
	"(strata run:count): ${LINGER[*]}"
printf '    %s\n' "${DETAIL[@]}"
if [ -n "$SCALE_WORKERS" ]; then
	echo "  scaling (rxtx 1; best of $ROUNDS; ratio to workers $first):"
	echo "$SCALE_JSON" | jq -r '.[] | "    workers \(.workers):" +
		" keep-alive \(.keepalive_rps) req/s (\(.keepalive_pps) pkts/s)," +
		" x\(.keepalive_ratio); close \(.close_cps) conn/s" +
		" (\(.close_pps) pkts/s), x\(.close_ratio)"'
	printf '    %s\n' "${SCALE_LINES[@]}"
fi
jq -cn --arg date "$(date -u +%F)" --argjson secs "$SECS" \
	--argjson conns "$CONNS" --argjson size "$SMALL" \
	--argjson kk "$bkk" --argjson sk "$bsk" --argjson pkk "$pkk" \
	--argjson psk "$psk" --argjson kc "$bkc" --argjson sc "$bsc" \
	--argjson pkc "$pkc" --argjson psc "$psc" \
	--argjson kr "$KR" --argjson sr "$SR" \
	--argjson ekr "${ERR["KR:$KR"]}" --argjson esr "${ERR["SR:$SR"]}" \
	--argjson skc "${SYNR["KC:$bkc"]}" --argjson ssc "${SYNR["SC:$bsc"]}" \
	--argjson skr "${SYNR["KR:$KR"]}" --argjson ssr "${SYNR["SR:$SR"]}" \
	--argjson rports "$REUSE_PORTS" --argjson rsecs "$REUSE_SECS" \
	--arg linger "${LINGER[*]}" --argjson counters "$stk" \
	--argjson scaling "$SCALE_JSON" --argjson workers "$WORKERS" \
	'def r3: . * 1000 | round / 1000;
	{bench: "stack_http", date: $date, seconds: $secs, conns: $conns,
	  file_bytes: $size, workers: $workers,
	  keepalive: {kernel_rps: $kk, strata_rps: $sk, ratio: ($sk / $kk | r3),
		kernel_p99_ms: $pkk, strata_p99_ms: $psk,
		p99_ratio: ($psk / $pkk | r3)},
	  close: {kernel_cps: $kc, strata_cps: $sc, ratio: ($sc / $kc | r3),
		kernel_p99_ms: $pkc, strata_p99_ms: $psc,
		p99_ratio: ($psc / $pkc | r3),
		kernel_syn_retrans: $skc, strata_syn_retrans: $ssc},
	  port_reuse: {client_ports: $rports, seconds: $rsecs,
		kernel_cps: $kr, strata_cps: $sr, ratio: ($sr / $kr | r3),
		kernel_errors: $ekr, strata_errors: $esr,
		kernel_syn_retrans: $skr, strata_syn_retrans: $ssr},
	  lingering: ($linger | split(" ") | map(select(. != ""))),
	  scaling: $scaling, counters: $counters}'
