/* history.h - the history index of suite runs: <dir>/index.jsonl.
 *
 * One JSON object per line, appended and never rewritten, so the file is
 * the audit trail of the nightly runs and of baseline promotions
 * (docs/SUITES.md "History" documents every member):
 *
 *   {"event": "run", "date": "2026-11-29T02:00:00Z", "suite": "nightly",
 *    "run_dir": "/abs/results/nightly-42", "git_commit": "<sha1>|unknown",
 *    "git_dirty": false, "harness_version": "0.1.0",
 *    "endpoints": {"mistral-7b": "simulated" | "http://host:8000/v1"},
 *    "headline": {"mistral-7b": {"ttft_p50_ms_c1": 35.1, ...}},
 *    "baseline": "/abs/results/baselines/nightly" | null,
 *    "compare": {"path": ".../compare.json", "regressions": [...]} | null,
 *    "status": "ok" | "regression" | "failed"}
 *   {"event": "promote", "date": ..., "run_dir": ..., "baseline_dir": ...,
 *    "suite": ..., "by": "alice", "reason": "...", "git_commit": ...}
 *
 * Appends are one write(2) of the whole line on a descriptor opened with
 * O_APPEND, under flock(2), followed by fsync: two processes appending at
 * once never interleave their lines, and a line cut short by a crash or a
 * kill is closed off by the next append (which starts on a new line), so it
 * can only spoil itself. Readers report such a line, naming the file and the
 * line number, and skip it. */
#ifndef BENCH_HISTORY_H
#define BENCH_HISTORY_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>

#include "status.h"

#define HISTORY_INDEX "index.jsonl"

/* <dir>/index.jsonl into buf. BENCH_EUSAGE when it does not fit. */
bench_status history_index_path(const char *dir, char *buf, size_t bufsz, bench_err *err);

/* Append entry (a JSON object; borrowed) as one line of <dir>/index.jsonl,
 * creating dir and the file when missing; fsyncs the file (and the
 * directory when the file was created). BENCH_EIO naming the file. */
bench_status history_append(const char *dir, const cJSON *entry, bench_err *err);

/* Read <dir>/index.jsonl. *out (the caller's; cJSON_Delete) is an array of
 * the well-formed entries in file order. A line that is not a JSON object
 * with a string "event", or a "run"/"promote" entry without its string
 * "date" (ISO 8601 UTC) and "run_dir", is reported on warn (NULL: stderr)
 * as "<file>:<line>: malformed history entry (<why>), skipped" and skipped;
 * *n_skipped (may be NULL) counts them. Blank lines are ignored. A missing
 * or unreadable index is BENCH_EIO naming it. */
bench_status history_read(const char *dir, FILE *warn, cJSON **out, size_t *n_skipped,
                          bench_err *err);

/* The newest "run" entry of entries (a history_read array; borrowed) whose
 * run_dir names the same directory as run_dir (compared after realpath when
 * both exist, else as strings). NULL when none. */
const cJSON *history_find_run(const cJSON *entries, const char *run_dir);

/* Seconds since the epoch of "YYYY-MM-DDTHH:MM:SSZ"; -1 when s is not that. */
long long history_parse_date(const char *s);

/* The current UTC time as "YYYY-MM-DDTHH:MM:SSZ". */
void history_now(char buf[32]);

/* The commit of the git checkout at root: `git -C root rev-parse HEAD`
 * (and `git status --porcelain --untracked-files=no` for *dirty), run with
 * posix_spawnp, no shell, 10 s limit. commit receives the 40-digit hash or
 * "unknown" (git missing, not a checkout, ...); *dirty is 1 when tracked
 * files differ from the commit, 0 when not, -1 when unknown. */
void history_git(const char *root, char commit[72], int *dirty);

/* Who is acting: $USER, else the password entry's name, else "unknown". */
void history_user(char *buf, size_t bufsz);

/* url without credentials for the record: the user-info part
 * ("user:pass@"), the query and the fragment are dropped. */
void history_clean_url(const char *url, char *out, size_t outsz);

#endif
