#!/usr/bin/python3
"""Check the counters `strata pcap` prints (one JSON object on stdout).

usage: check_stats.py STATS.json [--rx-pkts N] [--tx-pkts N]

Checks: the object parses; rx/tx counters are non-negative integers;
the dispositions add up to rx_pkts; the drop reasons (nonzero ones only)
add up to disposition.dropped; with --rx-pkts/--tx-pkts, the packet
counts equal the frames in the input/output capture.
Exit status: 0 good, 1 a check failed (each printed).
"""

import argparse
import json
import sys

DISPOSITIONS = ("answered", "consumed", "forwarded", "stack", "dropped", "fragment")


def check(s, rx=None, tx=None):
    errs = []

    def count(obj, name, where):
        v = obj.get(name) if isinstance(obj, dict) else None
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            errs.append("%s%s is %r, not a count" % (where, name, v))
            return 0
        return v

    if not isinstance(s, dict):
        return ["the output is not a JSON object"]
    rxp = count(s, "rx_pkts", "")
    for n in ("rx_bytes", "tx_pkts", "tx_bytes"):
        count(s, n, "")
    d = s.get("disposition")
    if not isinstance(d, dict):
        errs.append("no disposition object")
        d = {}
    for n in d:
        if n not in DISPOSITIONS:
            errs.append("unknown disposition %r" % n)
    dsum = sum(count(d, n, "disposition.") for n in DISPOSITIONS)
    if dsum != rxp:
        errs.append("dispositions add up to %d, rx_pkts is %d (%s)" %
                    (dsum, rxp, json.dumps(d)))
    dr = s.get("drops")
    if not isinstance(dr, dict):
        errs.append("no drops object")
        dr = {}
    rsum = 0
    for n in dr:
        v = count(dr, n, "drops.")
        if v == 0:
            errs.append("drops.%s is 0 (only nonzero reasons are listed)" % n)
        rsum += v
    if rsum != d.get("dropped", 0):
        errs.append("drop reasons add up to %d, disposition.dropped is %r "
                    "(%s)" % (rsum, d.get("dropped"), json.dumps(dr)))
    f = s.get("flows")
    if not isinstance(f, dict):
        errs.append("no flows object")
    else:
        for n in ("created", "expired", "active"):
            count(f, n, "flows.")
    if not isinstance(s.get("ports"), list):
        errs.append("no ports list")
    if rx is not None and rxp != rx:
        errs.append("rx_pkts %d but the input has %d frames" % (rxp, rx))
    if tx is not None and s.get("tx_pkts") != tx:
        errs.append("tx_pkts %r but the output has %d frames" %
                    (s.get("tx_pkts"), tx))
    return errs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("stats")
    ap.add_argument("--rx-pkts", type=int)
    ap.add_argument("--tx-pkts", type=int)
    a = ap.parse_args()
    try:
        with open(a.stats) as fh:
            s = json.load(fh)
    except (OSError, ValueError) as e:
        print("check_stats: %s: not one JSON object: %s" % (a.stats, e))
        return 1
    errs = check(s, a.rx_pkts, a.tx_pkts)
    for e in errs:
        print("check_stats: %s: %s" % (a.stats, e))
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
