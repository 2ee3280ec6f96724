#!/usr/bin/env python3
"""Sum meson's testlog.json files into one line: 'N passed, N failed'.

None of strata's tests may skip: one that does (exit 77) did not run
what it promises, so it counts as failed. Exit status is non-zero when
anything failed or when no test ran."""
import json
import sys

passed = failed = 0
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
            failed += 1
            print(f"SKIPPED {name} (counted as failed)")
        else:
            failed += 1
            print(f"FAILED  {name} ({r})")

if passed + failed == 0:
    failed = 1
    print("test-summary: no test ran")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
