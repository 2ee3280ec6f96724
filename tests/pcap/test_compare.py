#!/usr/bin/python3
"""Checks compare.py itself: the kernel's answers compared with themselves
pass, and answers with one field changed fail naming that field.

usage: test_compare.py CAPTURES_DIR
"""

import os
import subprocess
import sys
import tempfile

from scapy.all import (ARP, ICMP, IP, TCP, Ether, ICMPv6EchoReply,
                       ICMPv6ND_NA, IPv6, IPv6ExtHdrFragment, Raw, rdpcap,
                       wrpcap)
from scapy.layers.inet import IPerror

HERE = os.path.dirname(os.path.abspath(__file__))
COMPARE = os.path.join(HERE, "compare.py")
SRV = "02:00:00:00:00:02"
failures = 0


def run(cap, out):
    r = subprocess.run([sys.executable, COMPARE, cap, out],
                       capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def kernel_answers(cap):
    return [p for p in rdpcap(cap) if p[Ether].src == SRV]


def rebuild(p):
    """Drop checksums and lengths so scapy recomputes them."""
    for layer in (IP, TCP, ICMP, IPv6, ICMPv6EchoReply, ICMPv6ND_NA):
        if layer in p:
            for f in ("chksum", "cksum", "len", "plen"):
                if f in p[layer].fields:
                    # setattr, not del: it also drops scapy's raw cache
                    setattr(p[layer], f, None)
    return Ether(bytes(p))


def expect(name, cap, pkts, rc_want, needles=()):
    global failures
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out.pcap")
        wrpcap(out, pkts)
        rc, text = run(cap, out)
    bad = rc != rc_want or any(n not in text for n in needles)
    print("%s %s (rc %d)" % ("FAIL" if bad else "ok", name, rc))
    if bad:
        failures += 1
        print(text)


def mutate(cap, pred, fn):
    out = []
    for p in kernel_answers(cap):
        if pred(p):
            p = p.copy()
            fn(p)
            p = rebuild(p)
        out.append(p)
    return out


def main():
    caps = sys.argv[1]
    c = lambda n: os.path.join(caps, n + ".pcap")

    for n in sorted(os.listdir(caps)):
        if n.endswith(".pcap"):
            cap = os.path.join(caps, n)
            expect("identical " + n, cap, kernel_answers(cap), 0)

    expect("arp sha", c("arping"), mutate(
        c("arping"), lambda p: ARP in p,
        lambda p: setattr(p[ARP], "hwsrc", "02:00:00:00:00:09")), 1,
        ["arp.sha"])
    expect("echo ttl", c("ping4"), mutate(
        c("ping4"), lambda p: ICMP in p,
        lambda p: setattr(p[IP], "ttl", 63)), 1, ["ip4.ttl"])
    expect("echo payload", c("ping4"), mutate(
        c("ping4"), lambda p: ICMP in p,
        lambda p: setattr(p[Raw], "load", b"x" + p[Raw].load[1:])), 1,
        ["echo.payload"])
    expect("echo id differs: unexpected + missing", c("ping4"), mutate(
        c("ping4"), lambda p: ICMP in p and p[ICMP].seq == 3,
        lambda p: setattr(p[ICMP], "id", 7)), 1,
        ["where the kernel did not", "kernel sent 1 answer(s), strata 0"])

    def bad_csum(p):
        raw = bytearray(bytes(p))
        raw[14 + 20 + 2] ^= 0xFF   # ICMP checksum
        return Ether(bytes(raw))
    pk = kernel_answers(c("ping4"))
    pk = [bad_csum(p) if ICMP in p and p[ICMP].seq == 1 else p for p in pk]
    expect("echo checksum", c("ping4"), pk, 1, ["L4 checksum invalid"])

    expect("ipv4 id ignored", c("ping4"), mutate(
        c("ping4"), lambda p: ICMP in p,
        lambda p: setattr(p[IP], "id", 1234)), 0)
    expect("flow label ignored", c("ping6"), mutate(
        c("ping6"), lambda p: IPv6 in p,
        lambda p: setattr(p[IPv6], "fl", 0)), 0)
    expect("hop limit", c("ping6"), mutate(
        c("ping6"), lambda p: ICMPv6EchoReply in p,
        lambda p: setattr(p[IPv6], "hlim", 255)), 1, ["ip6.hlim"])
    expect("na flags", c("ping6"), mutate(
        c("ping6"), lambda p: ICMPv6ND_NA in p,
        lambda p: setattr(p[ICMPv6ND_NA], "S", 0)), 1, ["na.S"])
    expect("rst ack", c("tcp_rst4"), mutate(
        c("tcp_rst4"), lambda p: TCP in p,
        lambda p: setattr(p[TCP], "ack", p[TCP].ack + 1)), 1, ["tcp.ack"])
    expect("rst window", c("tcp_rst6"), mutate(
        c("tcp_rst6"), lambda p: TCP in p,
        lambda p: setattr(p[TCP], "window", 512)), 1, ["tcp.window"])
    expect("unreach code", c("udp_unreach4"), mutate(
        c("udp_unreach4"), lambda p: ICMP in p,
        lambda p: setattr(p[ICMP], "code", 1)), 1, ["icmp.code"])
    expect("unreach tos", c("udp_unreach4"), mutate(
        c("udp_unreach4"), lambda p: ICMP in p,
        lambda p: setattr(p[IP], "tos", 0)), 1, ["ip4.tos"])

    # A quote cut to header + 8 bytes differs in length and bytes.
    def cut_quote(p):
        q = bytes(p[IPerror])[:28]
        p[ICMP].remove_payload()
        p[ICMP].add_payload(Raw(q))
    expect("unreach quote", c("udp_unreach4"), mutate(
        c("udp_unreach4"), lambda p: ICMP in p, cut_quote), 1,
        ["icmp.quoted_len"])

    # Fragmented replies cut elsewhere still pass (boundaries by design).
    pk = []
    for p in kernel_answers(c("ping4_frag")):
        if IP in p and p[IP].frag == 0 and p[IP].flags.MF:
            continue
        pk.append(p)
    from scapy.all import defragment, fragment
    full = [p for p in defragment(
        [p for p in kernel_answers(c("ping4_frag")) if IP in p])]
    pk = [p for p in kernel_answers(c("ping4_frag")) if ARP in p]
    for d in full:
        e = Ether(src=SRV, dst="02:00:00:00:00:01") / d[IP]
        for f in fragment(e[IP], fragsize=1000):
            pk.append(Ether(src=SRV, dst="02:00:00:00:00:01") / f)
    expect("refragmented 1000", c("ping4_frag"), pk, 0)
    pk2 = [p for p in kernel_answers(c("ping4_frag")) if ARP in p]
    for d in full:
        pk2.append(Ether(src=SRV, dst="02:00:00:00:00:01") / d[IP])
    expect("not fragmented above MTU", c("ping4_frag"), pk2, 1,
           ["exceeds MTU"])

    # An extra answer (to the bad-checksum echo in odd4) is flagged.
    extra = kernel_answers(c("odd4")) + [
        Ether(src=SRV, dst="02:00:00:00:00:01") /
        IP(src="10.99.0.2", dst="10.99.0.1") /
        ICMP(type=0, id=0x4242, seq=1) / b"badicmpcsum"]
    expect("answer to a bad checksum", c("odd4"), extra, 1,
           ["where the kernel did not"])

    print("test_compare: %s" % ("FAIL" if failures else "OK"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
