#!/usr/bin/python3
"""Write a capture that mixes the fast path's common shapes with every
kind of packet that must leave it for the general path, several packets
per flow and interleaved, for fast_same.sh.

Addressed to strata as run_replay.sh configures it (MAC 02:00:00:00:00:02,
10.99.0.2/24, fd99::2/64). Deterministic (seeded), Ethernet link type.

usage: gen_mixed.py OUT.pcap
"""
import random
import sys

from scapy.layers.inet import ICMP, IP, TCP, UDP, fragment
from scapy.layers.inet6 import (ICMPv6EchoRequest, ICMPv6EchoReply,
                                IPv6, IPv6ExtHdrHopByHop)
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

US_MAC, PEER_MAC = "02:00:00:00:00:02", "02:00:00:00:00:09"
US4, US6 = "10.99.0.2", "fd99::2"


def main():
    rnd = random.Random(7)
    eth = Ether(src=PEER_MAC, dst=US_MAC)
    pkts = []

    def pay(n):
        return Raw(bytes(rnd.randrange(256) for _ in range(n)))

    for rounds in range(6):
        for i in range(40):
            src4, src6 = "10.99.0.%d" % (10 + i), "fd99::%x" % (0x10 + i)
            seq = rounds + 1
            # common shapes: echo requests, TCP ACKs and UDP to us
            pkts.append(eth / IP(src=src4, dst=US4, tos=i) /
                        ICMP(id=100 + i, seq=seq) / pay(rnd.randrange(64)))
            pkts.append(eth / IPv6(src=src6, dst=US6) /
                        ICMPv6EchoRequest(id=200 + i, seq=seq) /
                        pay(rnd.randrange(64)))
            pkts.append(eth / IP(src=src4, dst=US4) /
                        TCP(sport=40000 + i, dport=80, flags="PA",
                            seq=seq) / pay(10))
            pkts.append(eth / IPv6(src=src6, dst=US6) /
                        UDP(sport=41000 + i, dport=53) / pay(20))
            # a dropped prefix: the fast path drops known flows too
            pkts.append(eth / IP(src="10.99.0.%d" % (100 + i),
                                 dst="10.99.0.200") /
                        UDP(sport=42000 + i, dport=9) / pay(8))
            # and what must take the general path, on the same flows
            k = rnd.randrange(10)
            if k == 0:
                pkts.append(eth / IP(src=src4, dst=US4,
                                     options=b"\x01\x01\x01\x00") /
                            ICMP(id=100 + i, seq=seq))
            elif k == 1:
                pkts.append(Ether(src=PEER_MAC, dst=US_MAC) / Dot1Q(vlan=5) /
                            IP(src=src4, dst=US4) / ICMP(id=100 + i, seq=seq))
            elif k == 2:
                bad = eth / IP(src=src4, dst=US4) / ICMP(id=100 + i, seq=seq)
                bad = Ether(bytes(bad))
                bad[ICMP].chksum ^= 0x0101
                pkts.append(bad)
            elif k == 3:
                pkts.extend(eth / f for f in fragment(
                    IP(src=src4, dst=US4) / ICMP(id=100 + i, seq=seq) /
                    pay(1600), fragsize=600))
            elif k == 4:
                pkts.append(eth / IP(src=src4, dst=US4) /
                            TCP(sport=40000 + i, dport=80, flags="F"))
            elif k == 5:
                pkts.append(eth / IPv6(src=src6, dst=US6) /
                            IPv6ExtHdrHopByHop() /
                            ICMPv6EchoRequest(id=200 + i, seq=seq))
            elif k == 6:
                pkts.append(Ether(src=PEER_MAC, dst="ff:ff:ff:ff:ff:ff") /
                            ARP(psrc=src4, pdst=US4, hwsrc=PEER_MAC))
            elif k == 7:
                pkts.append(eth / IP(src=src4, dst=US4) /
                            ICMP(type=0, id=100 + i, seq=seq))
            elif k == 8:
                pkts.append(eth / IPv6(src=src6, dst=US6) /
                            ICMPv6EchoReply(id=200 + i, seq=seq))
            else:
                pkts.append(Ether(src=PEER_MAC, dst="33:33:00:00:00:01") /
                            IPv6(src=src6, dst="ff02::1") /
                            ICMPv6EchoRequest(id=300 + i, seq=seq))
    for n, p in enumerate(pkts):
        p.time = 1700000000 + n * 0.0001
    wrpcap(sys.argv[1], pkts)


if __name__ == "__main__":
    main()
