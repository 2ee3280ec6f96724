#!/usr/bin/python3
"""Does libpcap itself read FILE? Asks the installed libpcap through ctypes
(pcap_open_offline, then pcap_next_ex to the end), so the answer is the
library's, not a reimplementation's.

usage: pcap_readable.py FILE
Prints one line. Exit status: 0 readable to the end, 1 libpcap cannot
open it, 2 it opens but a read fails part way (truncated record...).
"""

import ctypes
import ctypes.util
import sys


def main():
    name = ctypes.util.find_library("pcap") or "libpcap.so.0.8"
    lib = ctypes.CDLL(name)
    lib.pcap_open_offline.restype = ctypes.c_void_p
    lib.pcap_open_offline.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    lib.pcap_next_ex.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                 ctypes.c_void_p]
    lib.pcap_geterr.restype = ctypes.c_char_p
    lib.pcap_geterr.argtypes = [ctypes.c_void_p]
    lib.pcap_datalink.argtypes = [ctypes.c_void_p]
    lib.pcap_close.argtypes = [ctypes.c_void_p]
    err = ctypes.create_string_buffer(512)
    h = lib.pcap_open_offline(sys.argv[1].encode(), err)
    if not h:
        print("unopenable: %s" % err.value.decode(errors="replace"))
        return 1
    hdr, data = ctypes.c_void_p(), ctypes.c_void_p()
    n = 0
    while True:
        rc = lib.pcap_next_ex(h, ctypes.byref(hdr), ctypes.byref(data))
        if rc == 1:
            n += 1
            continue
        break
    dlt = lib.pcap_datalink(h)
    if rc == -1:
        msg = lib.pcap_geterr(h).decode(errors="replace")
        lib.pcap_close(h)
        print("read error after %d packets (dlt %d): %s" % (n, dlt, msg))
        return 2
    lib.pcap_close(h)
    print("readable: %d packets, dlt %d" % (n, dlt))
    return 0


if __name__ == "__main__":
    sys.exit(main())
