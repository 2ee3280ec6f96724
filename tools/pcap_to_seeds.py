#!/usr/bin/env python3
"""Split pcap / pcapng captures into one-packet libFuzzer seeds.

    pcap_to_seeds.py [--max-per-file N] [--max-size B] INPUT... OUTDIR

INPUT is a capture file or a directory (every file in it whose name has
.pcap, .pcapng or .cap in it). Each packet becomes OUTDIR/<sha1>, holding
one byte for the link (0 = Ethernet, 1 = raw IP, what fuzz_parse and
fuzz_l3 read from byte 0) and then the packet. Identical packets are
written once.

Link types: Ethernet is kept as it is; raw IP (DLT_RAW, IPV4, IPV6) as
raw; BSD loopback (NULL, LOOP) and Linux cooked (SLL, SLL2) lose their
pseudo-header and become raw IP when they carry IP, else an Ethernet
header is made up for them. Other link types are skipped.

Plain struct parsing, no scapy: the tcpdump test captures are broken on
purpose and a reader must stop at a bad record, not give up on the
file or crash.
"""
import argparse
import hashlib
import os
import struct
import sys

ETH, RAW = 0, 1

LT_NULL, LT_EN10MB, LT_RAW_A, LT_RAW_B = 0, 1, 12, 14
LT_RAW, LT_LOOP, LT_SLL, LT_IPV4, LT_IPV6, LT_SLL2 = 101, 108, 113, 228, 229, 276

FAKE_MACS = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x02"


def to_seed(linktype, pkt):
    """Return (link byte, bytes) for the fuzz target, or None."""
    if linktype == LT_EN10MB:
        return ETH, pkt
    if linktype in (LT_RAW_A, LT_RAW_B, LT_RAW, LT_IPV4, LT_IPV6):
        return RAW, pkt
    if linktype in (LT_NULL, LT_LOOP):
        return (RAW, pkt[4:]) if len(pkt) > 4 else None
    if linktype in (LT_SLL, LT_SLL2):
        hl, po = (16, 14) if linktype == LT_SLL else (20, 0)
        if len(pkt) < hl:
            return None
        proto = struct.unpack_from(">H", pkt, po)[0]
        body = pkt[hl:]
        if proto in (0x0800, 0x86DD):
            return RAW, body
        if proto >= 0x0600:
            return ETH, FAKE_MACS + struct.pack(">H", proto) + body
        return None
    return None


def read_pcap(data):
    """Yield (linktype, packet) from a classic pcap file."""
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return
    if len(data) < 24:
        return
    linktype = struct.unpack_from(e + "I", data, 20)[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(data):
        caplen = struct.unpack_from(e + "I", data, off + 8)[0]
        off += 16
        if caplen > len(data) - off:
            caplen = len(data) - off  # cut short: keep what is there
        yield linktype, data[off:off + caplen]
        off += caplen


def read_pcapng(data):
    """Yield (linktype, packet) from a pcapng file."""
    off, e, ifaces = 0, "<", []
    while off + 12 <= len(data):
        btype = struct.unpack_from(e + "I", data, off)[0]
        if btype == 0x0A0D0D0A:
            bom = data[off + 8:off + 12]
            e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            ifaces = []
        blen = struct.unpack_from(e + "I", data, off + 4)[0]
        if blen < 12 or blen > len(data) - off:
            return
        body = data[off + 8:off + blen - 4]
        if btype == 1 and len(body) >= 2:
            ifaces.append(struct.unpack_from(e + "H", body, 0)[0])
        elif btype == 6 and len(body) >= 20:
            iface, _, _, caplen = struct.unpack_from(e + "IIII", body, 0)
            if iface < len(ifaces):
                yield ifaces[iface], body[20:20 + caplen]
        elif btype == 3 and len(body) >= 4 and ifaces:
            olen = struct.unpack_from(e + "I", body, 0)[0]
            yield ifaces[0], body[4:4 + olen]
        elif btype == 2 and len(body) >= 20:
            iface = struct.unpack_from(e + "H", body, 0)[0]
            caplen = struct.unpack_from(e + "I", body, 12)[0]
            if iface < len(ifaces):
                yield ifaces[iface], body[20:20 + caplen]
        off += blen


def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        yield from read_pcapng(data)
    else:
        yield from read_pcap(data)


def inputs(args):
    for a in args:
        if os.path.isdir(a):
            for name in sorted(os.listdir(a)):
                p = os.path.join(a, name)
                if os.path.isfile(p) and any(
                        x in name for x in (".pcap", ".cap")):
                    yield p
        else:
            yield a


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("inputs", nargs="+", help="capture files or directories")
    ap.add_argument("outdir")
    ap.add_argument("--max-per-file", type=int, default=0,
                    help="seeds per capture, 0 for all (default)")
    ap.add_argument("--max-size", type=int, default=70000,
                    help="skip packets longer than this (bytes)")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    seen = set()
    files = written = skipped = 0
    for path in inputs(a.inputs):
        files += 1
        n = 0
        try:
            for linktype, pkt in packets(path):
                s = to_seed(linktype, pkt)
                if s is None or len(s[1]) > a.max_size:
                    skipped += 1
                    continue
                seed = bytes([s[0]]) + s[1]
                h = hashlib.sha1(seed).hexdigest()
                if h in seen:
                    continue
                seen.add(h)
                with open(os.path.join(a.outdir, h), "wb") as f:
                    f.write(seed)
                written += 1
                n += 1
                if a.max_per_file and n >= a.max_per_file:
                    break
        except (OSError, struct.error) as err:
            print(f"{path}: {err}", file=sys.stderr)
    print(f"{files} captures, {written} seeds, {skipped} packets skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
