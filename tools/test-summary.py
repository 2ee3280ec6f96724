#!/usr/bin/env python3
"""Sum meson's testlog.json files into one line: 'N passed, N failed'.

A skipped test is reported as skipped, never as passed. Exit status is
non-zero when anything failed or when no test ran."""
import json
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        print(f"test-summary: {path}: {e}")
        failed += 1
        continue
    for line in lines:
        t = json.loads(line)
        r = t.get("result")
        name = f"{path.split('/')[0]}:{t.get('name')}"
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
            print(f"SKIPPED {name}")
        else:
            failed += 1
            print(f"FAILED  {name} ({r})")

if passed + failed == 0:
    failed = 1
    print("test-summary: no test ran")
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
