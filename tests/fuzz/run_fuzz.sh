#!/usr/bin/env bash
# Run one libFuzzer target for a bounded time: run_fuzz.sh EXE SECONDS SEED_DIR...
# The seeds are copied to a scratch corpus so the tree stays clean. For
# the parser, one-packet seeds from the tcpdump captures are added.
set -euo pipefail
exe=$1 secs=$2
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
for d in "$@"; do
	[[ -d $d ]] && cp -r "$d"/. "$work/corpus/" 2>/dev/null || true
done
here=$(cd "$(dirname "$0")" && pwd)
corpus=${STRATA_CORPUS:-$here/../../../shared/corpus/tcpdump-pcaps}
if [[ $(basename "$exe") == fuzz_parse* || $(basename "$exe") == fuzz_l3* ]] &&
	[[ -d $corpus && -f $here/../../tools/pcap_to_seeds.py ]]; then
	python3 "$here/../../tools/pcap_to_seeds.py" "$corpus" "$work/corpus" >/dev/null ||
		echo "run_fuzz: could not extract seeds from $corpus"
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# libFuzzer's own default exit code for a finding is 77, which meson
# reads as "skipped": a crash must count as a failure.
rc=0
"$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-error_exitcode=1 -timeout_exitcode=1 \
	-artifact_prefix="$work/" -print_final_stats=1 "$work/corpus" \
	>"$work/log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
	# the whole report (every frame), and the input that did it
	sed -n '/^==[0-9]*==ERROR\|^INFO: Seed\|runtime error\|deadly signal/,$p' \
		"$work/log" | head -n 120
	for f in "$work"/crash-* "$work"/timeout-* "$work"/oom-*; do
		[ -f "$f" ] && echo "input ($f):" && od -An -tx1 "$f" | head -n 20
	done
else
	tail -n 25 "$work/log"
fi
exit "$rc"
