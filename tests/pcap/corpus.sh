#!/bin/bash
# Run every file of the tcpdump corpus through `strata pcap` (default
# config, no -c) and check, per file:
#   - it finishes within 20 s (no hang);
#   - exit 0, stdout one JSON object whose counters add up (check_stats.py);
#   - no sanitizer report on stderr (ASan/UBSan builds abort on the first);
#   - exit 1 with a message on stderr is accepted only for a file the
#     installed libpcap cannot read itself (pcap_readable.py).
# Two files at a time (xargs -P2). Prints a summary; exit 1 if any failed.
#
# usage: corpus.sh STRATA [CORPUS_DIR]     (STRATA_CORPUS overrides the dir)
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
TIMEOUT=${CORPUS_TIMEOUT:-20}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# One file: prints "STATUS FILE DETAIL" on stdout. Runs under xargs.
if [ "${1:-}" = --one ]; then
	STRATA=$2 WORK=$3 f=$4
	b=$(basename "$f")
	o=$WORK/$b.out.pcap s=$WORK/$b.json e=$WORK/$b.err
	timeout -k 5 "$TIMEOUT" "$STRATA" pcap "$f" "$o" >"$s" 2>"$e"
	rc=$?
	res() { echo "$1 $b $2"; rm -f "$o"; exit 0; }
	if grep -Eq 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|UndefinedBehaviorSanitizer' "$e"; then
		res FAIL "sanitizer report (rc $rc): $(grep -Em1 'ERROR|runtime error' "$e")"
	fi
	case $rc in
	124|137) res FAIL "hang: no exit within ${TIMEOUT} s" ;;
	0)
		msg=$("$PY" "$HERE/check_stats.py" "$s" 2>&1) ||
			res FAIL "counters: $(echo "$msg" | head -3 | tr '\n' ' ')"
		res OK "" ;;
	1)
		why=$("$PY" "$HERE/pcap_readable.py" "$f")
		[ $? -eq 0 ] && res FAIL "exit 1 on a file libpcap reads ($why): $(head -c 300 "$e" | tr '\n' ' ')"
		[ -s "$e" ] || res FAIL "exit 1 without a message on stderr"
		res UNREADABLE "$why; strata: $(head -n1 "$e")" ;;
	*) res FAIL "exit $rc: $(tail -n 3 "$e" | tr '\n' ' ')" ;;
	esac
fi

STRATA=${1:?usage: corpus.sh STRATA [CORPUS_DIR]}
CORPUS=${STRATA_CORPUS:-${2:-$HERE/../../../shared/corpus/tcpdump-pcaps}}
[ -x "$STRATA" ] || { echo "corpus: FAIL: no strata binary at $STRATA" >&2; exit 1; }
[ -d "$CORPUS" ] || { echo "corpus: FAIL: no corpus at $CORPUS (set STRATA_CORPUS)" >&2; exit 1; }
STRATA=$(cd "$(dirname "$STRATA")" && pwd)/$(basename "$STRATA")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/strata-corpus.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
start=$(date +%s)
find "$CORPUS" -maxdepth 1 -type f -print0 | sort -z |
	xargs -0 -n1 -P2 "$0" --one "$STRATA" "$WORK" >"$WORK/results"
t=$(( $(date +%s) - start ))

total=$(wc -l <"$WORK/results")
ok=$(grep -c '^OK ' "$WORK/results")
unread=$(grep -c '^UNREADABLE ' "$WORK/results")
failed=$(grep -c '^FAIL ' "$WORK/results")
grep '^UNREADABLE ' "$WORK/results" | sed 's/^/corpus: /'
grep '^FAIL ' "$WORK/results" | sed 's/^/corpus: /'
echo "corpus: $total files in ${t}s: $ok ok, $unread unreadable by libpcap" \
	"(exit 1 accepted), $failed failed"
nfiles=$(find "$CORPUS" -maxdepth 1 -type f | wc -l)
if [ "$total" -ne "$nfiles" ]; then
	echo "corpus: FAIL: $nfiles files but $total results" >&2
	exit 1
fi
[ "$failed" -eq 0 ] && [ "$total" -gt 0 ]
