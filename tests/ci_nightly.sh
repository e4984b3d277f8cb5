#!/bin/sh
# tests/ci_nightly.sh - the project's own nightly, as CI runs it: the short
# suite suites/ci.json on the embedded simulator, compared with the baseline
# committed under results/baselines/ci. Exit status is bench suite's: 0 no
# regression, 1 a regression or a failed run, 2 the comparison failed.
set -u
out="$BENCH_TEST_TMP/ci-nightly"
rm -rf "$out" "$BENCH_TEST_TMP/ci-history"
mkdir -p "$BENCH_TEST_TMP"
"$BENCH_EXE" suite "$BENCH_ROOT/suites/ci.json" --out "$out" \
    --history "$BENCH_TEST_TMP/ci-history" 2>"$out.log"
rc=$?
[ -f "$out/compare.md" ] && cat "$out/compare.md"
[ $rc -ne 0 ] && tail -n 40 "$out.log"
[ -f "$out/compare.xml" ] || { echo "no comparison written (is results/baselines/ci committed?)"; exit 1; }
exit $rc
