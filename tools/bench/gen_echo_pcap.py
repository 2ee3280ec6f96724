#!/usr/bin/env python3
"""Write a pcap of ICMP echo requests (Ethernet, IPv4 and/or IPv6).

Standard library only, so benches need no scapy. Each request comes from a
different source address (10.<net>.x.y or fdXX::x:y), so a flow table sees
COUNT distinct flows when the file is replayed in a loop.

With --arp-from A, the file starts with an ARP request from A (at
--src-mac) for the first address of --dst4's /16 plus 2 (strata's in the
benches), so that strata learns A as a neighbour: the forwarding bench
sends the requests to A through strata.

usage: gen_echo_pcap.py OUT.pcap [--count N] [--dst-mac MAC] [--dst4 A]
                        [--dst6 A] [--family 4|6|46] [--payload BYTES]
                        [--arp-from A]
"""
import argparse
import ipaddress
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def echo4(src, dst, ident, seq, payload):
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), ident, 0,
                     64, 1, 0, src.packed, dst.packed)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return 0x0800, ip + icmp


def echo6(src, dst, ident, seq, payload):
    icmp = struct.pack("!BBHHH", 128, 0, 0, ident, seq) + payload
    pseudo = (src.packed + dst.packed + struct.pack("!I", len(icmp)) +
              b"\0\0\0" + bytes([58]))
    icmp = icmp[:2] + struct.pack("!H", csum(pseudo + icmp)) + icmp[4:]
    ip = struct.pack("!IHBB16s16s", 0x60000000, len(icmp), 58, 64,
                     src.packed, dst.packed)
    return 0x86DD, ip + icmp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--dst-mac", default="02:00:00:00:00:02")
    ap.add_argument("--src-mac", default="02:00:00:00:00:01")
    ap.add_argument("--dst4", default="10.99.0.2")
    ap.add_argument("--dst6", default="fd99::2")
    ap.add_argument("--family", default="4", choices=["4", "6", "46"])
    ap.add_argument("--payload", type=int, default=18,
                    help="ICMP payload bytes (18 gives 64-byte v4 frames "
                         "with FCS, 60 without)")
    ap.add_argument("--arp-from", default=None)
    a = ap.parse_args()

    dst4 = ipaddress.IPv4Address(a.dst4)
    dst6 = ipaddress.IPv6Address(a.dst6)
    net4 = int(dst4) & 0xFFFF0000
    net6 = int(dst6) & ~((1 << 64) - 1)
    payload = bytes(i & 0xFF for i in range(a.payload))
    eth = mac(a.dst_mac) + mac(a.src_mac)

    with open(a.out, "wb") as f:
        # Classic pcap, microsecond timestamps, Ethernet.
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        if a.arp_from:
            spa = ipaddress.IPv4Address(a.arp_from).packed
            tpa = ipaddress.IPv4Address(net4 | 2).packed
            arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1,
                              mac(a.src_mac), spa, b"\0" * 6, tpa)
            frame = (b"\xff" * 6 + mac(a.src_mac) +
                     struct.pack("!H", 0x0806) + arp)
            frame += b"\0" * (60 - len(frame))
            f.write(struct.pack("<IIII", 0, 0, len(frame), len(frame)))
            f.write(frame)
        for i in range(a.count):
            fam = a.family if a.family != "46" else ("4" if i % 2 else "6")
            host = 0x100 + i  # never .0/.1/.2 of the /16
            if fam == "4":
                src = ipaddress.IPv4Address(net4 | host)
                et, l3 = echo4(src, dst4, 0x1000 + i, i & 0xFFFF, payload)
            else:
                src = ipaddress.IPv6Address(net6 | host)
                et, l3 = echo6(src, dst6, 0x1000 + i, i & 0xFFFF, payload)
            frame = eth + struct.pack("!H", et) + l3
            f.write(struct.pack("<IIII", i // 1000000, i % 1000000,
                                len(frame), len(frame)))
            f.write(frame)
    return 0


if __name__ == "__main__":
    sys.exit(main())
