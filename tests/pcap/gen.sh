#!/bin/bash
# Regenerate tests/pcap/captures/*.pcap with real tools and the Linux kernel
# as the reference responder.
#
# Two network namespaces joined by a veth:
#   sp-cli  veth-cli  02:00:00:00:00:01  10.99.0.1/24  fd99::1/64
#   sp-srv  veth-srv  02:00:00:00:00:02  10.99.0.2/24  fd99::2/64
# Each scenario runs its client tool in sp-cli while tcpdump records the
# srv side of the veth; the kernel in sp-srv answers. compare.py later
# checks that strata, fed the client's packets, answers as that kernel did.
#
# Needs root. Usage: tests/pcap/gen.sh [SCENARIO...]   (default: all)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE/captures}
CLI=sp-cli
SRV=sp-srv
CLI_MAC=02:00:00:00:00:01
SRV_MAC=02:00:00:00:00:02
PY=/usr/bin/python3	# Debian's python3 has scapy; a pyenv one may not
TCPDUMP_PID=

log() { echo "[gen] $*" >&2; }
die() { log "FAIL: $*"; exit 1; }

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$TCPDUMP_PID" ]; then
		kill -TERM "$TCPDUMP_PID" 2>/dev/null || true
		wait "$TCPDUMP_PID" 2>/dev/null || true
	fi
	ip netns del "$CLI" 2>/dev/null || true
	ip netns del "$SRV" 2>/dev/null || true
	exit "$rc"
}

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
for c in ip ethtool tcpdump ping arping curl socat hping3 "$PY"; do
	command -v "$c" >/dev/null || die "missing $c (apt-get install" \
		"iproute2 ethtool tcpdump iputils-ping iputils-arping curl socat" \
		"hping3 python3-scapy)"
done
"$PY" -c 'import scapy.all' 2>/dev/null || die "python3-scapy missing"
mkdir -p "$OUT"

trap cleanup EXIT INT TERM
ip netns del "$CLI" 2>/dev/null || true
ip netns del "$SRV" 2>/dev/null || true
ip netns add "$CLI"
ip netns add "$SRV"

in_cli() { ip netns exec "$CLI" "$@"; }
in_srv() { ip netns exec "$SRV" "$@"; }

# No router solicitations, no RA processing: keeps the captures to what
# the scenarios send. Link-local addresses stay (NDP does not need them,
# but that is the kernel's normal state).
for ns in "$CLI" "$SRV"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.router_solicitations=0
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_ra=0
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0
	ip netns exec "$ns" ip link set lo up
done
in_cli ip link add veth-cli address "$CLI_MAC" type veth \
	peer name veth-srv address "$SRV_MAC" netns "$SRV"
in_cli ip addr add 10.99.0.1/24 dev veth-cli
in_cli ip addr add fd99::1/64 dev veth-cli nodad
in_srv ip addr add 10.99.0.2/24 dev veth-srv
in_srv ip addr add fd99::2/64 dev veth-srv nodad
# veth leaves TCP/UDP checksums to "hardware" that never computes them: the
# capture would hold wrong checksums, and strata rightly drops those.
in_cli ethtool -K veth-cli tx off >/dev/null
in_srv ethtool -K veth-srv tx off >/dev/null
in_cli ip link set veth-cli up
in_srv ip link set veth-srv up

# Wait for both ends to be up and the v6 addresses usable (not tentative).
for i in $(seq 1 50); do
	if in_cli ip -o link show veth-cli | grep -q 'state UP' &&
	   in_srv ip -o link show veth-srv | grep -q 'state UP' &&
	   ! in_cli ip -o addr show dev veth-cli | grep -q tentative &&
	   ! in_srv ip -o addr show dev veth-srv | grep -q tentative; then
		break
	fi
	[ "$i" -lt 50 ] || die "links did not come up"
	sleep 0.1
done
# Let the unsolicited MLD reports of the address joins pass before any
# capture starts.
sleep 3

flush_neigh() {
	in_cli ip neigh flush dev veth-cli
	in_srv ip neigh flush dev veth-srv
}

cap_start() {
	local file=$1 errf
	errf=$(mktemp)
	rm -f "$file"
	# Not through a shell function: $! must be tcpdump itself (ip netns
	# exec execs it), and a background subshell would ignore signals.
	ip netns exec "$SRV" tcpdump -i veth-srv --immediate-mode -U -n -s 0 -w "$file" \
		2>"$errf" &
	TCPDUMP_PID=$!
	for i in $(seq 1 50); do
		grep -q 'listening on' "$errf" && break
		[ "$i" -lt 50 ] || die "tcpdump did not start: $(cat "$errf")"
		sleep 0.1
	done
	rm -f "$errf"
}

cap_stop() {
	# --immediate-mode: without it packets wait in the ring for a block
	# timeout and a stop before that loses them.
	sleep 0.5	# let the last replies reach the capture
	kill -TERM "$TCPDUMP_PID"
	wait "$TCPDUMP_PID" || true
	TCPDUMP_PID=
}

# Scapy in the client namespace: the script as an argument, sendp() on
# veth-cli.
cli_scapy() {
	in_cli "$PY" -c "$1"
}
SCAPY_HDR='
import time
from scapy.all import *
conf.verb = 0
CM, SM = "02:00:00:00:00:01", "02:00:00:00:00:02"
def tx(p):
    sendp(p, iface="veth-cli")
    time.sleep(0.2)
'

sc_arping() {
	flush_neigh
	in_cli arping -c 3 -I veth-cli 10.99.0.2 >/dev/null
}

sc_ping4() {
	flush_neigh
	in_cli ping -n -c 5 -i 0.2 10.99.0.2 >/dev/null
}

sc_ping6() {
	flush_neigh
	in_cli ping -6 -n -c 5 -i 0.2 fd99::2 >/dev/null
}

sc_ping4_frag() {
	flush_neigh
	in_cli ping -n -s 3000 -c 2 -i 0.2 10.99.0.2 >/dev/null
}

sc_ping6_frag() {
	flush_neigh
	in_cli ping -6 -n -s 3000 -c 2 -i 0.2 fd99::2 >/dev/null
}

# curl to a closed port: SYN, the kernel answers RST|ACK.
sc_tcp_rst4() {
	flush_neigh
	in_cli curl -s -m 3 http://10.99.0.2:81/ && die "port 81 is open?"
	true
}

sc_tcp_rst6() {
	flush_neigh
	in_cli curl -s -m 3 'http://[fd99::2]:81/' && die "port 81 is open?"
	true
}

# One datagram to a closed UDP port: ICMP port unreachable. The kernel
# rate-limits ICMP errors, so one datagram per run with a pause after.
sc_udp_unreach4() {
	flush_neigh
	echo hello-strata | in_cli socat -u - UDP4-SENDTO:10.99.0.2:9999
	sleep 0.3
}

sc_udp_unreach6() {
	flush_neigh
	echo hello-strata | in_cli socat -u - 'UDP6-SENDTO:[fd99::2]:9999'
	sleep 0.3
}

# Odd IPv4 cases. A ping first so both ends know each other's MAC (the
# later hand-made packets then get replies without ARP in between).
sc_odd4() {
	flush_neigh
	in_cli ping -n -c 1 10.99.0.2 >/dev/null
	# TTL 1 is fine for a packet addressed to the host itself.
	in_cli ping -n -c 1 -t 1 10.99.0.2 >/dev/null
	# SYN carrying 20 bytes of data: the RST acknowledges seq+1+20.
	in_cli hping3 -q -S -c 1 -p 82 -s 40000 -d 20 10.99.0.2 \
		>/dev/null 2>&1 || true
	sleep 0.3
	cli_scapy "$SCAPY_HDR"'
e = Ether(src=CM, dst=SM)
ip = IP(src="10.99.0.1", dst="10.99.0.2")
# ICMP echo with a bad ICMP checksum: no reply
tx(e/ip/ICMP(id=0x4242, seq=1, chksum=0x1234)/b"badicmpcsum")
# bad IPv4 header checksum: no reply
tx(e/IP(src="10.99.0.1", dst="10.99.0.2", chksum=0x1234)/ICMP(id=0x4242, seq=2)/b"badipcsum")
# unknown protocol 253: ICMP protocol unreachable
tx(e/IP(src="10.99.0.1", dst="10.99.0.2", proto=253)/(b"proto253-" * 4))
time.sleep(0.3)
# UDP to a closed port with a bad checksum: dropped, no ICMP
tx(e/ip/UDP(sport=40001, dport=9999, chksum=0x1234)/b"badudpcsum")
# TCP ACK (no SYN) to a closed port: RST with seq = the ACK number
tx(e/ip/TCP(sport=40002, dport=83, flags="A", seq=1000, ack=5000))
time.sleep(0.3)
# TCP RST to a closed port: never answered
tx(e/ip/TCP(sport=40003, dport=84, flags="R", seq=7))
# echo to another host on the link, sent to our MAC: not for us
tx(e/IP(src="10.99.0.1", dst="10.99.0.3")/ICMP(id=0x4242, seq=3)/b"notforus")
# ARP request for another host: no reply
tx(Ether(src=CM, dst="ff:ff:ff:ff:ff:ff")/ARP(op=1, hwsrc=CM, psrc="10.99.0.1", pdst="10.99.0.3"))
# broadcast echo: Linux ignores it (icmp_echo_ignore_broadcasts)
tx(Ether(src=CM, dst="ff:ff:ff:ff:ff:ff")/IP(src="10.99.0.1", dst="10.99.0.255")/ICMP(id=0x4242, seq=4)/b"bcast")
# truncated IPv4 (total length beyond the frame): dropped
tx(e/IP(src="10.99.0.1", dst="10.99.0.2", len=200)/ICMP(id=0x4242, seq=5)/b"short")
'
}

sc_odd6() {
	flush_neigh
	in_cli ping -6 -n -c 1 fd99::2 >/dev/null
	# hop limit 1 is fine for a packet addressed to the host itself
	in_cli ping -6 -n -c 1 -t 1 fd99::2 >/dev/null
	cli_scapy "$SCAPY_HDR"'
e = Ether(src=CM, dst=SM)
ip = IPv6(src="fd99::1", dst="fd99::2")
# echo with a bad ICMPv6 checksum: no reply
tx(e/ip/ICMPv6EchoRequest(id=0x4242, seq=1, cksum=0x1234, data=b"badcsum"))
# unknown next header 253: parameter problem (unrecognized next header)
tx(e/IPv6(src="fd99::1", dst="fd99::2", nh=253)/(b"nh253-" * 4))
time.sleep(0.3)
# UDP with a bad checksum: dropped, no ICMPv6
tx(e/ip/UDP(sport=40001, dport=9999, chksum=0x1234)/b"badudpcsum")
# UDP with a zero checksum (invalid over IPv6): dropped
tx(e/ip/UDP(sport=40004, dport=9999, chksum=0)/b"zerocsum")
# TCP ACK (no SYN) to a closed port: RST with seq = the ACK number
tx(e/ip/TCP(sport=40002, dport=83, flags="A", seq=1000, ack=5000))
time.sleep(0.3)
# TCP SYN with data: RST|ACK acknowledging seq+1+len
tx(e/ip/TCP(sport=40005, dport=85, flags="S", seq=3000)/(b"x" * 20))
time.sleep(0.3)
# TCP RST to a closed port: never answered
tx(e/ip/TCP(sport=40003, dport=84, flags="R", seq=7))
# echo to another host on the link, sent to our MAC: not for us
tx(e/IPv6(src="fd99::1", dst="fd99::3")/ICMPv6EchoRequest(id=0x4242, seq=3, data=b"notforus"))
# NS for another host: no NA
tx(Ether(src=CM, dst="33:33:ff:00:00:03")/IPv6(src="fd99::1", dst="ff02::1:ff00:3", hlim=255)/ICMPv6ND_NS(tgt="fd99::3")/ICMPv6NDOptSrcLLAddr(lladdr=CM))
# NS for us with hop limit 64: invalid (RFC 4861 7.1.1), no NA
tx(e/IPv6(src="fd99::1", dst="fd99::2", hlim=64)/ICMPv6ND_NS(tgt="fd99::2")/ICMPv6NDOptSrcLLAddr(lladdr=CM))
# unicast NS for us, valid: NA (solicited)
tx(e/IPv6(src="fd99::1", dst="fd99::2", hlim=255)/ICMPv6ND_NS(tgt="fd99::2")/ICMPv6NDOptSrcLLAddr(lladdr=CM))
# truncated IPv6 (payload length beyond the frame): dropped
tx(e/IPv6(src="fd99::1", dst="fd99::2", plen=200)/ICMPv6EchoRequest(id=0x4242, seq=5, data=b"short"))
'
}

ALL="arping ping4 ping6 ping4_frag ping6_frag tcp_rst4 tcp_rst6
udp_unreach4 udp_unreach6 odd4 odd6"
[ $# -gt 0 ] && ALL="$*"
for s in $ALL; do
	declare -F "sc_$s" >/dev/null || die "unknown scenario $s"
	log "$s"
	cap_start "$OUT/$s.pcap"
	"sc_$s"
	cap_stop
	n=$(tcpdump -n -r "$OUT/$s.pcap" 2>/dev/null | wc -l)
	log "$s: $n packets"
	[ "$n" -gt 0 ] || die "$s: empty capture"
done
