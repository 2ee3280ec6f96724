# Shared helpers for the integration tests and the benches (bash, sourced).
#
# Conventions: every helper is bounded in time; fail() prints the reason
# and strata's stderr, then exits 1; the EXIT trap set by it_init() kills
# what the script started (by PID) and deletes the namespaces it made.

IT_NAME=${IT_NAME:-$(basename "$0" .sh)}
IT_PIDS=()
IT_NETNS=()
IT_LINKS=()
IT_WORK=
IT_STRATA_PID=
IT_STRATA_ERR=

it_log() { echo "[$IT_NAME] $*" >&2; }

fail() {
	it_log "FAIL: $*"
	if [ -n "$IT_STRATA_ERR" ] && [ -s "$IT_STRATA_ERR" ]; then
		it_log "--- strata stderr (last 40 lines) ---"
		tail -n 40 "$IT_STRATA_ERR" >&2
	fi
	exit 1
}

# Root is needed for namespaces, TUN and DPDK vdevs. Without root the test
# is reported as SKIP (exit 77), never as a pass; with IT_REQUIRE_ROOT=1
# or CI set it fails instead, so CI cannot silently skip it.
it_require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		if [ -n "${CI:-}" ] || [ "${IT_REQUIRE_ROOT:-0}" = 1 ]; then
			it_log "FAIL: needs root (network namespaces, TUN, DPDK vdevs)"
			exit 1
		fi
		it_log "SKIP: needs root (network namespaces, TUN, DPDK vdevs);" \
			"run as root, IT_REQUIRE_ROOT=1 turns this into a failure"
		exit 77
	fi
}

it_need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || fail "missing command: $c"
	done
}

it_cleanup() {
	local rc=$? pid ns link i
	trap - EXIT INT TERM
	for pid in "${IT_PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null || continue
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 1 30); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for link in "${IT_LINKS[@]}"; do
		ip link del "$link" 2>/dev/null
	done
	for ns in "${IT_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/$ns" # it_netns_hosts
	done
	if [ -n "$IT_WORK" ] && [ "${IT_KEEP:-0}" != 1 ]; then
		rm -rf "$IT_WORK"
	fi
	exit "$rc"
}

it_init() {
	IT_WORK=$(mktemp -d "/tmp/strata-${IT_NAME}.XXXXXX") || exit 1
	trap it_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# it_netns NAME: create a namespace with lo up, deleted on exit.
it_netns() {
	ip netns add "$1" || fail "ip netns add $1"
	IT_NETNS+=("$1")
	ip -n "$1" link set lo up || fail "lo up in $1"
}

# it_netns_hosts NS LINE...: an /etc/hosts for programs run with
# `ip netns exec NS` (it bind-mounts /etc/netns/NS/hosts), removed on exit.
it_netns_hosts() {
	local ns=$1
	shift
	mkdir -p "/etc/netns/$ns" || fail "mkdir /etc/netns/$ns"
	printf '%s\n' "$@" >"/etc/netns/$ns/hosts" || fail "hosts for $ns"
}

# it_veth_strata SNS SIF KNS KIF: a veth pair from strata's namespace
# (end SIF, for a DPDK af_packet port: up, no kernel IPv6 of its own) to
# a peer namespace (end KIF, left down for the caller to address). Both
# go with their namespaces.
it_veth_strata() {
	local sns=$1 sif=$2 kns=$3 kif=$4
	ip link add "$sif" netns "$sns" type veth peer name "$kif" netns "$kns" ||
		fail "cannot create veth pair $sif - $kif"
	ip netns exec "$sns" sysctl -qw "net.ipv6.conf.$sif.disable_ipv6=1"
	ip -n "$sns" link set "$sif" up || fail "$sif up"
}

it_track_pid() { IT_PIDS+=("$1"); }
it_track_link() { IT_LINKS+=("$1"); }

# it_strata_start NS STRATA CFG: run `strata run -c CFG` inside namespace
# NS (empty: the current one) in the background, stdout and stderr to
# files under $IT_WORK. `ip netns exec` execs, so $! is strata itself.
it_strata_start() {
	local ns=$1 strata=$2 cfg=$3
	IT_STRATA_OUT=$IT_WORK/strata.out
	IT_STRATA_ERR=$IT_WORK/strata.err
	: >"$IT_STRATA_OUT"
	if [ -n "$ns" ]; then
		ip netns exec "$ns" "$strata" run -c "$cfg" \
			>"$IT_STRATA_OUT" 2>"$IT_STRATA_ERR" </dev/null &
	else
		"$strata" run -c "$cfg" \
			>"$IT_STRATA_OUT" 2>"$IT_STRATA_ERR" </dev/null &
	fi
	IT_STRATA_PID=$!
	it_track_pid "$IT_STRATA_PID"
}

it_strata_alive() {
	kill -0 "$IT_STRATA_PID" 2>/dev/null ||
		fail "strata (pid $IT_STRATA_PID) exited early"
}

# it_wait_for SECONDS DESCRIPTION CMD...: poll CMD every 0.1 s while
# strata is alive.
it_wait_for() {
	local limit=$1 what=$2 i
	shift 2
	for i in $(seq 1 $((limit * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		[ -n "$IT_STRATA_PID" ] && it_strata_alive
		sleep 0.1
	done
	fail "timed out after ${limit}s waiting for $what"
}

# it_link_ready NS IFNAME: the link is up and has no tentative address.
it_link_ready() {
	local ns=$1 ifn=$2
	ip -n "$ns" link show "$ifn" 2>/dev/null | grep -q '[<,]UP[,>]' ||
		return 1
	! ip -n "$ns" addr show dev "$ifn" 2>/dev/null | grep -q tentative
}

# it_strata_stats: SIGUSR1, wait for one more JSON line on stdout, print it.
it_strata_stats() {
	local before i line
	before=$(stat -c %s "$IT_STRATA_OUT")
	kill -USR1 "$IT_STRATA_PID" || fail "cannot signal strata"
	for i in $(seq 1 50); do
		sleep 0.1
		[ "$(stat -c %s "$IT_STRATA_OUT")" -gt "$before" ] || continue
		line=$(tail -c +$((before + 1)) "$IT_STRATA_OUT" | tail -n 1)
		if echo "$line" | jq -e 'has("rx_pkts")' >/dev/null 2>&1; then
			echo "$line"
			return 0
		fi
	done
	fail "no JSON counters on stdout 5 s after SIGUSR1:" \
		"$(tail -c +$((before + 1)) "$IT_STRATA_OUT" | head -c 300)"
}

# it_strata_stop: SIGTERM, strata must exit 0 within 10 s.
it_strata_stop() {
	local i rc
	kill -TERM "$IT_STRATA_PID" || fail "cannot signal strata"
	for i in $(seq 1 100); do
		kill -0 "$IT_STRATA_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$IT_STRATA_PID" 2>/dev/null &&
		fail "strata still running 10 s after SIGTERM"
	wait "$IT_STRATA_PID"
	rc=$?
	[ "$rc" -eq 0 ] || fail "strata exited $rc after SIGTERM (want 0)"
	it_log "strata exited 0 after SIGTERM"
	IT_STRATA_PID=
}

# it_ping NS COUNT ADDR [ping args...]: all COUNT echo requests answered.
# Bounded by -w (deadline) and by timeout.
it_ping() {
	local ns=$1 count=$2 addr=$3 out sent recv
	shift 3
	out=$(timeout 60 ip netns exec "$ns" ping -n -c "$count" -w 30 "$@" \
		"$addr" 2>&1)
	sent=$(echo "$out" | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
	recv=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	if [ "$sent" != "$count" ] || [ "$recv" != "$count" ]; then
		echo "$out" | tail -n 5 >&2
		fail "ping $* $addr: sent ${sent:-?}, received ${recv:-?}," \
			"want $count/$count"
	fi
	it_log "ping $* $addr: $recv/$count replies," \
		"$(echo "$out" | grep -o 'rtt.*' || true)"
}

# it_wrk_summary: wrk --latency output on stdin -> "REQ/S P99_MS ERRORS"
# (socket errors and non-2xx/3xx answers); fails when wrk printed no
# rate or p99.
it_wrk_summary() {
	awk '
	function ms(v) {
		if (v ~ /us$/) return v * 0.001
		if (v ~ /ms$/) return v + 0
		if (v ~ /m$/) return v * 60000
		if (v ~ /s$/) return v * 1000
		return v + 0
	}
	/Requests\/sec:/ { rps = $2 }
	$1 == "99%" { p99 = ms($2) }
	/Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
	/Non-2xx or 3xx/ { err += $NF }
	END {
		if (rps == "" || p99 == "") exit 1
		printf "%.0f %.3f %d\n", rps, p99, err
	}'
}

# it_nginx NS [WORKER_CONNECTIONS] <<HTTP: nginx (one worker, in the
# foreground, its files under $IT_WORK) in namespace NS, with the
# content of its http { } block read from stdin; tracked for cleanup.
it_nginx() {
	local ns=$1 conns=${2:-1024}
	{
		printf 'user root;\nworker_processes 1;\ndaemon off;\n'
		printf 'pid %s/nginx.pid;\nerror_log %s/nginx.err;\n' \
			"$IT_WORK" "$IT_WORK"
		printf 'events { worker_connections %s; }\nhttp {\n' "$conns"
		cat
		printf '}\n'
	} >"$IT_WORK/nginx.conf"
	ip netns exec "$ns" nginx -p "$IT_WORK" -c "$IT_WORK/nginx.conf" </dev/null \
		>/dev/null 2>&1 &
	it_track_pid $!
}
