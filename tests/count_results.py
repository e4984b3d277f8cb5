#!/usr/bin/env python3
"""Count test results across meson testlog.json files.

A CUnit program counts one per test case it ran ("Test: NAME ...passed" /
"...FAILED"); any other test counts once. A program that failed without a
failing CUnit case (crash, timeout, sanitizer report) adds one failure.
Prints the failures by name, then the closing line "N passed, N failed".
Exit status 1 when anything failed or nothing ran.
"""
import json
import re
import sys

CASE = re.compile(r"^\s*Test: (.*?) \.\.\.(passed|FAILED)", re.M)


def main(paths):
    passed = failed = 0
    failures = []
    for path in paths:
        tag = "asan:" if "asan" in path else ""
        try:
            lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
        except OSError as e:
            print(f"cannot read {path}: {e}")
            failed += 1
            continue
        for line in lines:
            if not line.strip():
                continue
            t = json.loads(line)
            name, ok = t["name"], t["result"] in ("OK", "EXPECTEDFAIL")
            cases = CASE.findall(t.get("stdout") or "")
            if cases:
                for case, res in cases:
                    if res == "passed":
                        passed += 1
                    else:
                        failed += 1
                        failures.append(f"{tag}{name}: {case}")
                if not ok and all(r == "passed" for _, r in cases):
                    failed += 1
                    failures.append(f"{tag}{name}: {t['result']} (crash, timeout or sanitizer)")
            elif ok:
                passed += 1
            else:
                failed += 1
                failures.append(f"{tag}{name}: {t['result']}")
    for f in failures:
        print(f"FAILED {f}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
