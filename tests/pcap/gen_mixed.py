#!/usr/bin/python3
"""Write a capture that mixes the fast path's common shapes with every
kind of packet that must leave it for the general path, several packets
per flow and interleaved, for fast_same.sh.

Addressed to strata as fast_same.sh configures it (MAC 02:00:00:00:00:02,
10.99.0.2/24, fd99::2/64; 10.99.0.200 dropped; from 10.99.1.0/24 and
fd99:1::/64 forwarded back out of the port). ARP requests from the
peers come first, so that forwarded packets find their next hops.
Deterministic (seeded), Ethernet link type.

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


def k_ttl(rnd):
    """Now and then a TTL that runs out here (time exceeded)."""
    return rnd.randrange(12) == 0


def main():
    rnd = random.Random(7)
    eth = Ether(src=PEER_MAC, dst=US_MAC)
    pkts = []

    def pay(n):
        return Raw(bytes(rnd.randrange(256) for _ in range(n)))

    for i in range(40):
        pkts.append(Ether(src=PEER_MAC, dst="ff:ff:ff:ff:ff:ff") /
                    ARP(psrc="10.99.0.%d" % (10 + i), pdst=US4,
                        hwsrc=PEER_MAC))
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
            # forwarded, v4 to a known next hop and v6 to an unknown
            # one (held while strata solicits it)
            pkts.append(eth / IP(src="10.99.1.%d" % (10 + i), dst=src4,
                                 ttl=1 if k_ttl(rnd) else 64) /
                        UDP(sport=43000 + i, dport=7) / pay(30))
            pkts.append(eth / IPv6(src="fd99:1::%x" % (0x10 + i), dst=src6) /
                        UDP(sport=44000 + i, dport=7) / pay(30))
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
                # too big to forward, DF set
                pkts.append(eth / IP(src="10.99.1.%d" % (10 + i), dst=src4,
                                     flags="DF") /
                            UDP(sport=43000 + i, dport=7) / pay(1600))
            else:
                pkts.append(Ether(src=PEER_MAC, dst="33:33:00:00:00:01") /
                            IPv6(src=src6, dst="ff02::1") /
                            ICMPv6EchoRequest(id=300 + i, seq=seq))
    for n, p in enumerate(pkts):
        p.time = 1700000000 + n * 0.0001
    wrpcap(sys.argv[1], pkts)


if __name__ == "__main__":
    main()
