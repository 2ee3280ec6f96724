#!/usr/bin/python3
"""Check that strata answered a capture's requests as the Linux kernel did.

usage: compare.py [options] CAPTURE.pcap STRATA_OUT.pcap
       compare.py --self-test CAPTURE.pcap

CAPTURE was recorded by gen.sh on the server side of a veth: the client's
packets (the requests) and the kernel's answers. STRATA_OUT is what
`strata pcap` transmitted when fed CAPTURE. Every kernel answer is paired
with strata's answer to the same request (by a key: ARP sender/target,
echo id/seq, NS target, TCP ports, the datagram quoted in an ICMP error)
and compared field by field. Fragmented datagrams are compared after
reassembly. Strata must not answer what the kernel left unanswered.

--self-test uses the kernel's own answers as "strata's", which checks the
script and the capture (all checksums valid, every answer keyed).

Exit status: 0 all equal, 1 a mismatch (each printed), 2 bad usage or an
unreadable file.
"""

import argparse
import ipaddress
import struct
import sys

from scapy.utils import RawPcapReader

# Fields that cannot match by design; never compared. Each says why.
NOT_COMPARED = {
    "ip4.id": "IPv4 Identification is any value the sender picks (RFC "
              "6864); Linux uses a hashed per-destination counter, or 0 on "
              "DF segments.",
    "ip6.flowlabel": "Linux sets automatic flow labels: a hash of the flow "
                     "keyed by a random per-boot secret (auto_flowlabels).",
    "frag.id": "the Identification of a fragmented IPv4 datagram and of "
               "the IPv6 Fragment header is the sender's choice (random "
               "or counter).",
    "frag.boundaries": "where a datagram is cut is the sender's choice as "
                       "long as every fragment fits the MTU and offsets "
                       "are multiples of 8; payloads are compared after "
                       "reassembly, each fragment is checked against the "
                       "MTU.",
    "eth.padding": "frames shorter than 60 bytes may be padded or not; "
                   "only the bytes the IP/ARP headers cover are compared.",
    "ip.hbh": "hop-by-hop options (MLD router alert) appear only on "
              "multicast listener reports, which are unsolicited and "
              "not answers.",
}

# Differences RFCs allow where Linux makes one choice: reported as notes,
# not failures.
TOLERATED = {
    "na.unicast_ns": "an NA answering a unicast NS: RFC 4861 7.2.4 lets "
                     "the target link-layer address option be omitted; "
                     "Linux omits it and then clears Override, others "
                     "include it with Override set.",
}

ETH_P_IP, ETH_P_ARP, ETH_P_IPV6 = 0x0800, 0x0806, 0x86DD
DLT_EN10MB = 1
DLT_RAW = (12, 14, 101)
PROTO_ICMP, PROTO_TCP, PROTO_UDP, PROTO_ICMP6 = 1, 6, 17, 58
V6_EXT = (0, 43, 60)  # hop-by-hop, routing, destination options


def mac(b):
    return ":".join("%02x" % x for x in b)


def ip4(b):
    return str(ipaddress.IPv4Address(bytes(b)))


def ip6(b):
    return str(ipaddress.IPv6Address(bytes(b)))


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def csum_ok(data):
    return csum(data) == 0xFFFF


def pseudo4(src, dst, proto, length):
    return src + dst + struct.pack("!BBH", 0, proto, length)


def pseudo6(src, dst, nh, length):
    return src + dst + struct.pack("!IxxxB", length, nh)


class Pkt:
    """One packet, or one reassembled datagram, as parsed fields."""

    def __init__(self):
        self.idx = []         # frame numbers (1-based) it came from
        self.eth = None       # (dst, src, type) or None for raw IP
        self.kind = None      # 'arp', 'ip4', 'ip6' or 'other'
        self.arp = None
        self.ip = {}          # header fields (first fragment)
        self.proto = None     # L4 protocol (IPv6: final next header)
        self.src = self.dst = None  # address bytes
        self.l4 = b""         # L4 bytes (reassembled)
        self.frags = []       # per fragment: (ip_len, offset, more)
        self.errors = []      # malformed details found while parsing
        self.raw_l3 = b""     # IP datagram bytes (unfragmented only)

    def where(self):
        return "frame %s" % ",".join(str(i) for i in self.idx)


def read_pcap(path):
    try:
        rd = RawPcapReader(path)
    except Exception as e:  # scapy raises plain Scapy_Exception, OSError
        raise SystemExit("compare.py: cannot read %s: %s" % (path, e))
    lt = rd.linktype
    frames = [bytes(d) for d, _meta in rd]
    rd.close()
    if lt != DLT_EN10MB and lt not in DLT_RAW:
        raise SystemExit("compare.py: %s: link type %d not supported" %
                         (path, lt))
    return lt, frames


class Reasm:
    def __init__(self):
        self.bufs = {}

    def add(self, key, first, off, more, data, idx, iplen):
        b = self.bufs.setdefault(key, {"parts": {}, "end": None,
                                       "first": None, "idx": [],
                                       "frags": []})
        b["parts"][off] = data
        b["idx"].append(idx)
        b["frags"].append((iplen, off, more))
        if off == 0:
            b["first"] = first
        if not more:
            b["end"] = off + len(data)
        if b["first"] is None or b["end"] is None:
            return None
        out, pos = b"", 0
        for o in sorted(b["parts"]):
            if o > pos:
                return None   # hole
            out = out[:o] + b["parts"][o] + out[o + len(b["parts"][o]):]
            pos = max(pos, o + len(b["parts"][o]))
        if pos < b["end"]:
            return None
        del self.bufs[key]
        p = b["first"]
        p.l4 = out[:b["end"]]
        p.idx = sorted(b["idx"])
        p.frags = b["frags"]
        return p


def parse_ip4(p, d, rs, idx):
    if len(d) < 20 or d[0] >> 4 != 4:
        p.kind = "other"
        p.errors.append("not IPv4")
        return p
    ihl = (d[0] & 15) * 4
    tot = struct.unpack("!H", d[2:4])[0]
    if ihl < 20 or tot < ihl or tot > len(d):
        p.kind = "other"
        p.errors.append("bad IPv4 lengths")
        return p
    d = d[:tot]
    fo = struct.unpack("!H", d[6:8])[0]
    p.kind = "ip4"
    p.src, p.dst = d[12:16], d[16:20]
    p.proto = d[9]
    p.ip = {"ip4.tos": d[1], "ip4.df": bool(fo & 0x4000),
            "ip4.ttl": d[8], "ip4.proto": d[9], "ip4.src": ip4(d[12:16]),
            "ip4.dst": ip4(d[16:20]), "ip4.options": d[20:ihl].hex()}
    p.ip_id = struct.unpack("!H", d[4:6])[0]
    if not csum_ok(d[:ihl]):
        p.errors.append("IPv4 header checksum invalid")
    off, more = (fo & 0x1FFF) * 8, bool(fo & 0x2000)
    if off or more:
        if more and (tot - ihl) % 8:
            p.errors.append("fragment length %d not a multiple of 8" %
                            (tot - ihl))
        return rs.add(("4", p.src, p.dst, p.proto, p.ip_id), p, off, more,
                      d[ihl:], idx, tot)
    p.l4 = d[ihl:]
    p.raw_l3 = d
    p.frags = [(tot, 0, False)]
    return p


def parse_ip6(p, d, rs, idx):
    if len(d) < 40 or d[0] >> 4 != 6:
        p.kind = "other"
        p.errors.append("not IPv6")
        return p
    plen = struct.unpack("!H", d[4:6])[0]
    if 40 + plen > len(d):
        p.kind = "other"
        p.errors.append("bad IPv6 payload length")
        return p
    d = d[:40 + plen]
    vtf = struct.unpack("!I", d[0:4])[0]
    p.kind = "ip6"
    p.src, p.dst = d[8:24], d[24:40]
    p.flowlabel = vtf & 0xFFFFF
    p.ip = {"ip6.tc": (vtf >> 20) & 0xFF, "ip6.hlim": d[7],
            "ip6.src": ip6(d[8:24]), "ip6.dst": ip6(d[24:40])}
    nh, pos, exts, frag = d[6], 40, [], None
    while True:
        if nh in V6_EXT:
            if pos + 8 > len(d):
                p.errors.append("truncated extension header")
                break
            ln = (d[pos + 1] + 1) * 8
            exts.append((nh, d[pos:pos + ln].hex()))
            nh, pos = d[pos], pos + ln
        elif nh == 44 and frag is None:
            if pos + 8 > len(d):
                p.errors.append("truncated fragment header")
                break
            fo = struct.unpack("!H", d[pos + 2:pos + 4])[0]
            fid = struct.unpack("!I", d[pos + 4:pos + 8])[0]
            frag = (fo & 0xFFF8, bool(fo & 1), fid)
            nh, pos = d[pos], pos + 8
        else:
            break
    p.ip["ip6.exthdrs"] = exts
    p.ip["ip6.nh"] = nh
    p.proto = nh
    if frag:
        off, more, fid = frag
        if more and (len(d) - pos) % 8:
            p.errors.append("fragment length not a multiple of 8")
        return rs.add(("6", p.src, p.dst, fid), p, off, more, d[pos:], idx,
                      len(d))
    p.l4 = d[pos:]
    p.raw_l3 = d
    p.frags = [(len(d), 0, False)]
    return p


def parse_all(lt, frames):
    out, rs = [], Reasm()
    for i, f in enumerate(frames, 1):
        p = Pkt()
        p.idx = [i]
        if lt == DLT_EN10MB:
            if len(f) < 14:
                p.kind = "other"
                out.append(p)
                continue
            et = struct.unpack("!H", f[12:14])[0]
            p.eth = (mac(f[0:6]), mac(f[6:12]), et)
            d = f[14:]
        else:
            et = {4: ETH_P_IP, 6: ETH_P_IPV6}.get(f[0] >> 4 if f else 0, 0)
            d = f
        if et == ETH_P_ARP:
            if len(d) < 28:
                p.kind = "other"
            else:
                p.kind = "arp"
                h = struct.unpack("!HHBBH", d[:8])
                p.arp = {"arp.hwtype": h[0], "arp.ptype": h[1],
                         "arp.hwlen": h[2], "arp.plen": h[3],
                         "arp.op": h[4], "arp.sha": mac(d[8:14]),
                         "arp.spa": ip4(d[14:18]), "arp.tha": mac(d[18:24]),
                         "arp.tpa": ip4(d[24:28])}
            out.append(p)
            continue
        if et == ETH_P_IP:
            p = parse_ip4(p, d, rs, i)
        elif et == ETH_P_IPV6:
            p = parse_ip6(p, d, rs, i)
        else:
            p.kind = "other"
        if p is not None:
            out.append(p)
    return out


def l4_csum_ok(p):
    if p.kind == "ip4":
        if p.proto == PROTO_ICMP:
            return csum_ok(p.l4)
        if p.proto in (PROTO_TCP, PROTO_UDP):
            if p.proto == PROTO_UDP and p.l4[6:8] == b"\0\0":
                return True
            return csum_ok(pseudo4(p.src, p.dst, p.proto, len(p.l4)) + p.l4)
        return True
    if p.kind == "ip6" and p.proto in (PROTO_TCP, PROTO_UDP, PROTO_ICMP6):
        return csum_ok(pseudo6(p.src, p.dst, p.proto, len(p.l4)) + p.l4)
    return True


def quoted_key(fam, q):
    """Request key of the datagram quoted in an ICMP error."""
    if fam == 4 and len(q) >= 20 and q[0] >> 4 == 4:
        return ("err4", q[12:16], q[16:20], q[9], q[4:6])
    if fam == 6 and len(q) >= 48 and q[0] >> 4 == 6:
        return ("err6", q[8:24], q[24:40], q[6], q[40:48])
    return ("err?", q[:48])


def request_keys(p):
    """Keys under which an answer to client packet p is filed."""
    keys = []
    if p.kind == "arp":
        if p.arp["arp.op"] == 1:
            keys.append(("arp", p.arp["arp.spa"], p.arp["arp.tpa"]))
        return keys
    if p.kind == "ip4":
        if p.proto == PROTO_ICMP and len(p.l4) >= 8 and p.l4[0] == 8:
            keys.append(("echo4", p.src, p.dst, p.l4[4:8]))
        if p.proto == PROTO_TCP and len(p.l4) >= 4:
            keys.append(("tcp4", p.src, p.dst, p.l4[0:2], p.l4[2:4]))
        if p.raw_l3:
            keys.append(quoted_key(4, p.raw_l3))
        else:  # fragmented: the first fragment is what gets quoted
            keys.append(("err4", p.src, p.dst, p.proto,
                         struct.pack("!H", p.ip_id)))
        return keys
    if p.kind == "ip6":
        l4 = p.l4
        if p.proto == PROTO_ICMP6 and len(l4) >= 8 and l4[0] == 128:
            keys.append(("echo6", p.src, p.dst, l4[4:8]))
        if p.proto == PROTO_ICMP6 and len(l4) >= 24 and l4[0] == 135:
            keys.append(("ns", p.src, l4[8:24]))
        if p.proto == PROTO_TCP and len(l4) >= 4:
            keys.append(("tcp6", p.src, p.dst, l4[0:2], l4[2:4]))
        if p.raw_l3:
            keys.append(quoted_key(6, p.raw_l3))
    return keys


def reply_key(p):
    """Key of the request answer p answers; None if p is not an answer
    (a neighbour solicitation, MLD report... the sender's own traffic)."""
    if p.kind == "arp":
        if p.arp["arp.op"] == 2:
            return ("arp", p.arp["arp.tpa"], p.arp["arp.spa"])
        return None
    if p.kind == "ip4":
        l4 = p.l4
        if p.proto == PROTO_ICMP and len(l4) >= 8:
            if l4[0] == 0:
                return ("echo4", p.dst, p.src, l4[4:8])
            if l4[0] in (3, 4, 5, 11, 12):
                return quoted_key(4, l4[8:])
        if p.proto == PROTO_TCP and len(l4) >= 14 and l4[13] & 0x04:
            return ("tcp4", p.dst, p.src, l4[2:4], l4[0:2])
        return ("unkeyed", p.kind, p.proto, l4[:8])
    if p.kind == "ip6":
        l4 = p.l4
        if p.proto == PROTO_ICMP6 and len(l4) >= 8:
            t = l4[0]
            if t == 129:
                return ("echo6", p.dst, p.src, l4[4:8])
            if t == 136 and len(l4) >= 24:
                dst = p.dst
                if dst[0] == 0xFF:  # to all-nodes: the NS came from ::
                    dst = bytes(16)
                return ("ns", dst, l4[8:24])
            if t in (1, 2, 3, 4):
                return quoted_key(6, l4[8:])
            if t in (133, 134, 135, 143, 131, 132):
                return None
        if p.proto == PROTO_TCP and len(l4) >= 14 and l4[13] & 0x04:
            return ("tcp6", p.dst, p.src, l4[2:4], l4[0:2])
        return ("unkeyed", p.kind, p.proto, l4[:8])
    return ("unkeyed", p.kind)


def key_str(k):
    out = []
    for i, x in enumerate(k):
        if isinstance(x, bytes) and len(x) == 4 and i in (1, 2) and \
                k[0] in ("echo4", "tcp4", "err4"):
            out.append(ip4(x))
        elif isinstance(x, bytes) and len(x) == 16:
            out.append(ip6(x))
        elif isinstance(x, bytes):
            out.append(x.hex())
        else:
            out.append(str(x))
    return "(" + " ".join(out) + ")"


def icmp_fields(p):
    l4 = p.l4
    f = {"icmp.type": l4[0], "icmp.code": l4[1]}
    if (p.kind == "ip4" and l4[0] in (0, 8)) or \
       (p.kind == "ip6" and l4[0] in (128, 129)):
        f["echo.id"] = struct.unpack("!H", l4[4:6])[0]
        f["echo.seq"] = struct.unpack("!H", l4[6:8])[0]
        f["echo.payload"] = l4[8:]
    elif p.kind == "ip6" and l4[0] == 136:
        fl = l4[4]
        f["na.R"], f["na.S"], f["na.O"] = \
            bool(fl & 0x80), bool(fl & 0x40), bool(fl & 0x20)
        f["na.reserved"] = struct.unpack("!I", l4[4:8])[0] & 0x1FFFFFFF
        f["na.target"] = ip6(l4[8:24])
        opts, pos = [], 24
        while pos + 2 <= len(l4):
            ln = l4[pos + 1] * 8
            if ln == 0:
                opts.append(("bad-len0", l4[pos:].hex()))
                break
            opts.append((l4[pos], l4[pos:pos + ln].hex()))
            pos += ln
        f["na.options"] = opts
    else:
        # errors: the 4 bytes after the checksum (unused, pointer, MTU)
        # and the quoted datagram, byte for byte
        f["icmp.rest"] = l4[4:8].hex()
        f["icmp.quoted_len"] = len(l4) - 8
        f["icmp.quoted"] = l4[8:]
    return f


def tcp_fields(l4):
    if len(l4) < 20:
        return {"tcp.truncated": len(l4)}
    sp, dp, seq, ack, offfl, win, _c, urg = \
        struct.unpack("!HHIIHHHH", l4[:20])
    doff = (offfl >> 12) * 4
    return {"tcp.sport": sp, "tcp.dport": dp, "tcp.seq": seq,
            "tcp.ack": ack, "tcp.doff": doff, "tcp.flags": offfl & 0x1FF,
            "tcp.window": win, "tcp.urgptr": urg,
            "tcp.options": l4[20:doff].hex(), "tcp.payload": l4[doff:]}


def fields(p):
    f = {}
    if p.eth:
        f["eth.dst"], f["eth.src"], f["eth.type"] = p.eth
    if p.kind == "arp":
        f.update(p.arp)
        return f
    f.update(p.ip)
    f["l4.len"] = len(p.l4)
    if p.kind == "ip4" and p.proto == PROTO_ICMP and len(p.l4) >= 8:
        f.update(icmp_fields(p))
    elif p.kind == "ip6" and p.proto == PROTO_ICMP6 and len(p.l4) >= 8:
        f.update(icmp_fields(p))
    elif p.proto == PROTO_TCP:
        f.update(tcp_fields(p.l4))
    else:
        f["l4.bytes"] = p.l4
    return f


def show(v):
    if isinstance(v, bytes):
        h = v.hex()
        return "%d bytes %s%s" % (len(v), h[:64], "..." if len(h) > 64 else "")
    return repr(v)


def sanity(p, who, mtu):
    """Problems with one answer on its own: checksums, fragment sizes."""
    errs = list(p.errors)
    if p.kind in ("ip4", "ip6") and not l4_csum_ok(p):
        errs.append("L4 checksum invalid")
    for iplen, off, more in p.frags:
        if iplen > mtu:
            errs.append("fragment of %d bytes exceeds MTU %d" % (iplen, mtu))
        if off % 8:
            errs.append("fragment offset %d not a multiple of 8" % off)
    return ["%s %s: %s" % (who, p.where(), e) for e in errs]


def compare_pair(k, kp, sp, notes):
    kf, sf = fields(kp), fields(sp)
    tolerate = set()
    if k[0] == "ns" and not any(o[0] == 2 for o in kf.get("na.options", [])):
        # the kernel took its unicast-NS path (no TLLA, O clear): see
        # TOLERATED["na.unicast_ns"]
        if kf.get("na.options") != sf.get("na.options") or \
                kf.get("na.O") != sf.get("na.O"):
            notes.append("%s: NA to a unicast NS: kernel O=%s options=%s, "
                         "strata O=%s options=%s (%s)" %
                         (key_str(k), kf.get("na.O"), kf.get("na.options"),
                          sf.get("na.O"), sf.get("na.options"),
                          TOLERATED["na.unicast_ns"]))
        tolerate = {"na.O", "na.options", "l4.len"}
    if "eth.dst" not in sf:  # strata wrote raw IP: no Ethernet to compare
        for x in ("eth.dst", "eth.src", "eth.type"):
            kf.pop(x, None)
    diffs = []
    for name in sorted(set(kf) | set(sf)):
        if name in tolerate:
            continue
        a, b = kf.get(name, "<absent>"), sf.get(name, "<absent>")
        if a != b:
            diffs.append("  %-18s expected %s, got %s" % (name, show(a),
                                                          show(b)))
    return diffs


def role(p, args):
    """'cli', 'srv' or None for a packet of the capture."""
    if p.eth:
        if p.eth[1] == args.cli_mac:
            return "cli"
        if p.eth[1] == args.srv_mac:
            return "srv"
        return None
    if p.kind == "ip4" and p.src:
        a = ip4(p.src)
        return "cli" if a == args.cli_ip4 else \
            "srv" if a == args.srv_ip4 else None
    if p.kind == "ip6" and p.src:
        a = ip6(p.src)
        return "cli" if a == args.cli_ip6 else \
            "srv" if a == args.srv_ip6 else None
    return None


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("capture")
    ap.add_argument("strata_out", nargs="?")
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--cli-mac", default="02:00:00:00:00:01")
    ap.add_argument("--srv-mac", default="02:00:00:00:00:02")
    ap.add_argument("--cli-ip4", default="10.99.0.1")
    ap.add_argument("--srv-ip4", default="10.99.0.2")
    ap.add_argument("--cli-ip6", default="fd99::1")
    ap.add_argument("--srv-ip6", default="fd99::2")
    ap.add_argument("--mtu", type=int, default=1500)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if not args.self_test and not args.strata_out:
        ap.error("need STRATA_OUT.pcap (or --self-test)")
    args.cli_mac, args.srv_mac = args.cli_mac.lower(), args.srv_mac.lower()

    lt, frames = read_pcap(args.capture)
    cap = parse_all(lt, frames)
    reqs = [p for p in cap if role(p, args) == "cli"]
    kern = [p for p in cap if role(p, args) == "srv"]
    if args.self_test:
        strata = kern
    else:
        slt, sframes = read_pcap(args.strata_out)
        strata = parse_all(slt, sframes)

    problems, notes = [], []

    def bucket(pkts, who):
        by, own = {}, []
        for p in pkts:
            k = reply_key(p)
            if k is None:
                own.append(p)
            else:
                by.setdefault(k, []).append(p)
        return by, own

    kby, kown = bucket(kern, "kernel")
    sby, sown = bucket(strata, "strata")

    for p in kern:
        for e in sanity(p, "kernel", args.mtu):
            notes.append("capture problem: " + e)
    for p in strata:
        problems.extend(sanity(p, "strata", args.mtu))

    # Which request each key answers, for the report.
    req_of = {}
    for p in reqs:
        for k in request_keys(p):
            req_of.setdefault(k, p)

    for k in kby:
        if k[0] == "unkeyed":
            notes.append("capture: kernel packet %s answers no known "
                         "request; ignored" % kby[k][0].where())
    compared = 0
    for k in sorted(set(kby) | set(sby), key=repr):
        if k[0] == "unkeyed" and k not in sby:
            continue
        kl, sl = kby.get(k, []), sby.get(k, [])
        rq = req_of.get(k)
        rqs = " (request %s)" % rq.where() if rq else ""
        if not kl:
            problems.append("strata answered %s%s where the kernel did "
                            "not: %s" % (key_str(k), rqs, ", ".join(
                                p.where() for p in sl)))
            continue
        if len(sl) != len(kl):
            problems.append("%s%s: kernel sent %d answer(s), strata %d" %
                            (key_str(k), rqs, len(kl), len(sl)))
        for kp, sp in zip(kl, sl):
            compared += 1
            d = compare_pair(k, kp, sp, notes)
            if d:
                problems.append("%s%s: kernel %s vs strata %s differ:\n%s" %
                                (key_str(k), rqs, kp.where(), sp.where(),
                                 "\n".join(d)))
            elif args.verbose:
                print("ok %s: kernel %s = strata %s" %
                      (key_str(k), kp.where(), sp.where()))

    # Requests the kernel left unanswered that strata answered are caught
    # above (keys only strata has); list them for the record.
    unanswered = [p for p in reqs
                  if not any(k in kby for k in request_keys(p))]
    for p in sown:
        notes.append("strata sent its own %s packet %s (neighbour "
                     "resolution or similar; not compared)" %
                     (p.kind, p.where()))
    for n in notes:
        print("note: " + n)
    print("compare: %d client packets, %d kernel answers, %d strata "
          "packets; %d answer pairs compared; %d requests unanswered by "
          "the kernel" % (len(reqs), sum(len(v) for v in kby.values()),
                          len(strata), compared, len(unanswered)))
    if problems:
        for e in problems:
            print("MISMATCH: " + e)
        print("compare: FAIL (%d mismatches)" % len(problems))
        return 1
    print("compare: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
