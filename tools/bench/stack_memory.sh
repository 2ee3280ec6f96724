#!/usr/bin/env bash
# strata's resident memory per idle proxied TCP connection, and the
# throughput of one stream through the stack with 10 vs IDLE idle
# connections open.
#
#   netns S: strata, its TUN (routes 10.99.0.0/25 into strata), clients
#   netns O: a Python server on 10.99.0.2:9000 that accepts connections
#            and keeps them open; iperf3 -s
#
# Steps (every connection goes through strata's TUN and lwIP):
#  1. RSS with no connection;
#  2. 10 idle connections; iperf3 -c 10.99.0.2 for IPERF_SECONDS ("10");
#     RSS (after iperf3 has touched the packet and buffer paths);
#  3. IDLE - 10 more idle connections; wait until strata's counters
#     (.stack.active of the worker) and the server both see them all;
#     RSS; KiB per connection = (RSS(IDLE) - RSS(10)) / (IDLE - 10);
#     iperf3 again ("10k");
#  4. close the IDLE - 10; iperf3 again with 10 ("10 again", a noise
#     check). Ratio = 10k / mean of the two 10 runs.
# RSS is VmRSS of the strata process (/proc/PID/status): lwIP's pcbs,
# strata's connection table and malloc; the kernel memory of strata's
# egress sockets is not in it.
#
# usage: tools/bench/stack_memory.sh STRATA_BINARY   (root; ~1.5 min)
# env:   IDLE=10000 IPERF_SECONDS=8
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
STRATA=${1:?usage: stack_memory.sh STRATA_BINARY}
IT_NAME=stack_memory
. "$HERE/../../tests/integration/lib.sh"

IDLE=${IDLE:-10000}
ISECS=${IPERF_SECONDS:-8}
FEW=10

it_require_root
it_need_cmd ip iperf3 python3 jq awk timeout
[ -x "$STRATA" ] || fail "not executable: $STRATA"
STRATA=$(readlink -f "$STRATA")
[ "$IDLE" -gt "$FEW" ] || fail "IDLE must be above $FEW"
# Each of strata (egress sockets), the opener and the server holds IDLE
# descriptors. 65536 if allowed, else the hard limit if it is enough.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" ||
	fail "cannot raise the open files limit"
[ "$(ulimit -n)" -ge $((IDLE + 1024)) ] ||
	fail "open files limit $(ulimit -n) is too low for $IDLE connections"
it_init

S=strata-bm-s-$$
O=strata-bm-o-$$
VS=bms$$
VO=bmo$$
IFN=stbm$$
it_netns "$S"
it_netns "$O"
ip link add "$VS" netns "$S" type veth peer name "$VO" netns "$O" ||
	fail "veth"
ip -n "$S" addr add 10.99.0.1/24 dev "$VS"
ip -n "$O" addr add 10.99.0.2/24 dev "$VO"
ip -n "$S" link set "$VS" up
ip -n "$O" link set "$VO" up
ip netns exec "$S" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
ip netns exec "$O" sysctl -qw net.core.somaxconn=65535 \
	net.ipv4.tcp_max_syn_backlog=65535

# The origin: accept, keep, never write; count what it holds.
cat >"$IT_WORK/keeper.py" <<'PY'
import selectors, socket, sys
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], int(sys.argv[2])))
ls.listen(65535)
ls.setblocking(False)
sel = selectors.DefaultSelector()
sel.register(ls, selectors.EVENT_READ)
held = {}
while True:
    for key, _ in sel.select():
        if key.fileobj is ls:
            while True:
                try:
                    c, _ = ls.accept()
                except BlockingIOError:
                    break
                c.setblocking(False)
                held[c.fileno()] = c
                sel.register(c, selectors.EVENT_READ)
        else:
            c = key.fileobj
            try:
                d = c.recv(4096)
            except OSError:
                d = b""
            if not d:
                sel.unregister(c)
                held.pop(c.fileno(), None)
                c.close()
PY
# The clients: open N connections (at most 256 connecting at once),
# write the number established to a file, then hold them until killed.
cat >"$IT_WORK/opener.py" <<'PY'
import selectors, socket, sys, time, errno
n, host, port, status = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
sel = selectors.DefaultSelector()
held, failed, started, pending = [], 0, 0, 0
def report():
    with open(status + ".tmp", "w") as f:
        f.write("%d %d\n" % (len(held), failed))
    import os; os.replace(status + ".tmp", status)
last = 0
while len(held) + failed < n:
    while started < n and pending < 256:
        s = socket.socket()
        s.setblocking(False)
        e = s.connect_ex((host, port))
        if e not in (0, errno.EINPROGRESS):
            failed += 1; s.close()
        else:
            sel.register(s, selectors.EVENT_WRITE); pending += 1
        started += 1
    for key, _ in sel.select(1):
        s = key.fileobj
        sel.unregister(s); pending -= 1
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            held.append(s)
        else:
            failed += 1; s.close()
    if time.time() - last > 0.5:
        report(); last = time.time()
report()
while True:
    time.sleep(3600)
PY

ip netns exec "$O" python3 "$IT_WORK/keeper.py" 10.99.0.2 9000 \
	>"$IT_WORK/keeper.log" 2>&1 &
it_track_pid $!
ip netns exec "$O" iperf3 -s -p 5201 >"$IT_WORK/iperf3-s.log" 2>&1 &
it_track_pid $!

cat >"$IT_WORK/strata.yaml" <<YAML
ports:
  - name: tun0
    kind: tun
    addresses: [10.77.0.2/24]
    tun:
      ifname: $IFN
      kernel_addresses: [10.77.0.1/24]
      routes: [10.99.0.0/25]
lcores: {rxtx: 1, workers: 1}
policy:
  default_action: stack
stack:
  max_connections: 65536
egress:
  interface: $VS
YAML
it_strata_start "$S" "$STRATA" "$IT_WORK/strata.yaml"
it_wait_for 20 "$IFN up" it_link_ready "$S" "$IFN"
route_in() { ip -n "$S" route get 10.99.0.2 | grep -q "dev $IFN"; }
it_wait_for 10 "route into $IFN" route_in
srv_up() { ip netns exec "$O" ss -ltn | grep -q ':9000 ' &&
	ip netns exec "$O" ss -ltn | grep -q ':5201 '; }
it_wait_for 10 "servers" srv_up

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$IT_STRATA_PID/status"; }
worker() { it_strata_stats | jq -c '[.lcores[] |
	select(.role=="worker")] | .[0]'; }
active() { worker | jq '.stack.active'; }
held_by_server() {
	ip netns exec "$O" ss -Htn state established '( sport = :9000 )' |
		wc -l
}

# open_conns N STATUSFILE: start an opener for N connections (its PID in
# OPENER), wait until it reports all N established, strata's worker shows
# at least WANT active and the server holds at least WANT.
open_conns() {
	local n=$1 st=$2 want=$3 t0 got
	t0=$(date +%s.%N)
	ip netns exec "$S" python3 "$IT_WORK/opener.py" "$n" 10.99.0.2 9000 \
		"$st" >"$st.log" 2>&1 &
	OPENER=$!
	it_track_pid $OPENER
	opened() { read -r got _ <"$st" && [ "$got" -ge "$n" ]; }
	for _ in $(seq 1 1200); do
		[ -s "$st" ] && opened && break
		kill -0 $OPENER 2>/dev/null ||
			fail "opener exited: $(tail -n 3 "$st.log")"
		[ -s "$st" ] && read -r got failed <"$st" &&
			[ "${failed:-0}" -gt 0 ] &&
			fail "$failed of $n connections failed ($got established)"
		it_strata_alive
		sleep 0.1
	done
	opened || fail "only $(cat "$st" 2>/dev/null) of $n connections after 120 s"
	OPEN_SECS=$(awk -v a="$t0" -v b="$(date +%s.%N)" \
		'BEGIN { printf "%.1f", b - a }')
	it_wait_for 30 "strata active >= $want" \
		eval '[ "$(active)" -ge '"$want"' ]'
	it_wait_for 30 "server holds >= $want" \
		eval '[ "$(held_by_server)" -ge '"$want"' ]'
}

# iperf: one upload through strata; prints "Gbit/s stack-pkts/s
# retransmits dropped", stack packets = the worker's rx + tx, dropped =
# strata's drop counters (all reasons) + the worker's stack_tx_dropped.
snap() { it_strata_stats | jq -c '{d: ([.drops[]] | add // 0),
	w: ([.lcores[] | select(.role=="worker")] | .[0])}'; }
iperf() {
	local out a b t0 t1
	a=$(snap) || exit 1
	t0=$(date +%s.%N)
	out=$(timeout $((ISECS + 30)) ip netns exec "$S" iperf3 -J \
		-c 10.99.0.2 -p 5201 -t "$ISECS" 2>&1)
	t1=$(date +%s.%N)
	b=$(snap) || exit 1
	it_strata_alive
	echo "$out" | jq -e '.end.sum_received.bits_per_second' >/dev/null \
		2>&1 || fail "iperf3: $(echo "$out" | jq -r '.error? // empty' \
		2>/dev/null | head -c 300)"
	jq -rn --argjson o "$out" --argjson a "$a" --argjson b "$b" \
		--argjson dt "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
		'[($o.end.sum_received.bits_per_second / 1e9 * 1000 | round / 1000),
		  (($b.w.stack_rx + $b.w.stack_tx - $a.w.stack_rx -
		    $a.w.stack_tx) / $dt | round),
		  ($o.end.sum_sent.retransmits // 0),
		  ($b.d - $a.d + $b.w.stack_tx_dropped - $a.w.stack_tx_dropped)] |
		map(tostring) | join(" ")'
}

sleep 1
RSS0=$(rss)
it_log "RSS with no connection: $RSS0 KiB"

open_conns $FEW "$IT_WORK/few.st" $FEW
FEW_PID=$OPENER
RSS_FEW0=$(rss)
it_log "$FEW idle connections: RSS $RSS_FEW0 KiB"
read -r G_A P_A R_A D_A <<<"$(iperf)"
[ -n "$D_A" ] || fail "iperf3 with $FEW idle connections"
RSS_FEW=$(rss)
it_log "iperf3 with $FEW idle: $G_A Gbit/s, $P_A stack pkts/s," \
	"$R_A retransmits, $D_A dropped in strata; RSS $RSS_FEW KiB"

# dropped A B: packets strata dropped between two snap outputs
dropped() { jq -rn --argjson a "$1" --argjson b "$2" \
	'$b.d - $a.d + $b.w.stack_tx_dropped - $a.w.stack_tx_dropped'; }
s0=$(snap) || exit 1
open_conns $((IDLE - FEW)) "$IT_WORK/many.st" "$IDLE"
MANY_PID=$OPENER
sleep 2
s1=$(snap) || exit 1
D_OPEN=$(dropped "$s0" "$s1")
RSS_MANY=$(rss)
W_MANY=$(worker)
ACT=$(echo "$W_MANY" | jq '.stack.active')
HELD=$(held_by_server)
it_log "$IDLE idle connections (opened in $OPEN_SECS s): strata active $ACT," \
	"server holds $HELD, RSS $RSS_MANY KiB"
read -r G_B P_B R_B D_B <<<"$(iperf)"
[ -n "$D_B" ] || fail "iperf3 with $IDLE idle connections"
RSS_MANY2=$(rss)
it_log "iperf3 with $IDLE idle: $G_B Gbit/s, $P_B stack pkts/s," \
	"$R_B retransmits, $D_B dropped in strata; RSS $RSS_MANY2 KiB"

s0=$(snap) || exit 1
t0=$(date +%s.%N)
kill -TERM "$MANY_PID"
wait "$MANY_PID" 2>/dev/null
it_wait_for 60 "strata back to about $FEW active" \
	eval '[ "$(active)" -le '"$((FEW + 2))"' ]'
CLOSE_SECS=$(awk -v a="$t0" -v b="$(date +%s.%N)" \
	'BEGIN { printf "%.1f", b - a }')
sleep 1
s1=$(snap) || exit 1
D_CLOSE=$(dropped "$s0" "$s1")
it_log "closed $((IDLE - FEW)) in $CLOSE_SECS s; strata dropped" \
	"$D_OPEN packets while they opened, $D_CLOSE while they closed"
RSS_BACK=$(rss)
read -r G_C P_C R_C D_C <<<"$(iperf)"
[ -n "$D_C" ] || fail "iperf3 with $FEW idle connections, again"
it_log "iperf3 with $FEW idle again: $G_C Gbit/s, $P_C stack pkts/s," \
	"$R_C retransmits, $D_C dropped in strata;" \
	"RSS after closing $((IDLE - FEW)): $RSS_BACK KiB"
stats=$(it_strata_stats) || exit 1
stk=$(echo "$stats" | jq -c '{drops, stack_out,
	rx_held_back: ([.lcores[] | select(.role=="rxtx") | .rx_held_back] |
		add),
	worker: ([.lcores[] | select(.role=="worker") |
		{stack_rx, stack_tx, stack_tx_dropped, stack}] | .[0])}')
it_log "strata counters: $stk"
kill -TERM "$FEW_PID"
it_strata_stop

PER=$(awk -v a="$RSS_FEW" -v b="$RSS_MANY" -v n=$((IDLE - FEW)) \
	'BEGIN { printf "%.2f", (b - a) / n }')
RG=$(awk -v a="$G_A" -v c="$G_C" -v b="$G_B" \
	'BEGIN { printf "%.3f", b / ((a + c) / 2) }')
RP=$(awk -v a="$P_A" -v c="$P_C" -v b="$P_B" \
	'BEGIN { printf "%.3f", b / ((a + c) / 2) }')
VERDICT=$(awk -v p="$PER" 'BEGIN { print (p <= 16 ? "within" : "ABOVE") }')
echo "stack_memory: $(date -u +%F) $IDLE idle proxied TCP connections"
echo "  strata VmRSS: none $RSS0, $FEW $RSS_FEW0 ($RSS_FEW after iperf3)," \
	"$IDLE $RSS_MANY KiB ($RSS_MANY2 after iperf3), back to $FEW $RSS_BACK KiB"
echo "  per connection: $PER KiB ($VERDICT the 16 KiB target);" \
	"$((IDLE - FEW)) opened in $OPEN_SECS s ($D_OPEN packets dropped" \
	"in strata), closed in $CLOSE_SECS s ($D_CLOSE dropped)"
echo "  iperf3 through strata, ${ISECS}s: $FEW idle $G_A, $IDLE idle $G_B," \
	"$FEW idle again $G_C Gbit/s; ratio $RG"
echo "  stack packets/s (worker rx+tx): $P_A, $P_B, $P_C; ratio $RP"
echo "  iperf3 retransmits: $R_A, $R_B, $R_C; packets dropped in strata" \
	"(drop counters + stack_tx_dropped): $D_A, $D_B, $D_C"
jq -cn --arg date "$(date -u +%F)" --argjson idle "$IDLE" \
	--argjson r0 "$RSS0" --argjson rf0 "$RSS_FEW0" --argjson rf "$RSS_FEW" \
	--argjson rm "$RSS_MANY" --argjson rm2 "$RSS_MANY2" \
	--argjson rb "$RSS_BACK" --argjson per "$PER" \
	--argjson ga "$G_A" --argjson gb "$G_B" --argjson gc "$G_C" \
	--argjson pa "$P_A" --argjson pb "$P_B" --argjson pc "$P_C" \
	--argjson rg "$RG" --argjson rp "$RP" --argjson osecs "$OPEN_SECS" \
	--argjson ra "$R_A" --argjson rb_ "$R_B" --argjson rc "$R_C" \
	--argjson dopen "$D_OPEN" --argjson dclose "$D_CLOSE" \
	--argjson csecs "$CLOSE_SECS" \
	--argjson da "$D_A" --argjson db "$D_B" --argjson dc "$D_C" \
	--argjson counters "$stk" \
	'{bench: "stack_memory", date: $date, idle_conns: $idle,
	  open_seconds: $osecs, open_dropped: $dopen,
	  close_seconds: $csecs, close_dropped: $dclose,
	  rss_kib: {none: $r0, few: $rf0, few_after_iperf: $rf, idle: $rm,
		idle_after_iperf: $rm2, back_to_few: $rb},
	  kib_per_conn: $per, target_kib_per_conn: 16,
	  iperf_gbps: {few: $ga, idle: $gb, few_again: $gc, ratio: $rg},
	  stack_pps: {few: $pa, idle: $pb, few_again: $pc, ratio: $rp},
	  iperf_retransmits: {few: $ra, idle: $rb_, few_again: $rc},
	  strata_dropped: {few: $da, idle: $db, few_again: $dc},
	  counters: $counters}'
