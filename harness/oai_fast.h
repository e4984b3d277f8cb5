/* oai_fast.h - the allocation-free fast path of oai_parse_event_top.
 *
 * Parsing every streamed event into a cJSON tree (a malloc per value, a
 * strcmp per key) was most of the client's CPU per chunk
 * (docs/PERFORMANCE.md). This reads the same fields in one pass over the
 * bytes, without building anything, for the payloads it fully understands;
 * for any other it says so and the caller takes the cJSON path. Internal to
 * oai.c, declared here for tests and the fuzz target, which check that both
 * paths agree. */
#ifndef BENCH_OAI_FAST_H
#define BENCH_OAI_FAST_H

#include <stddef.h>

#include "dynbuf.h"
#include "oai.h"
#include "status.h"

/* Try the payload data[0, len) (a JSON object, surrounding whitespace
 * already trimmed; borrowed). Returns 0 ("unsure": ev and text untouched)
 * unless the payload is valid JSON that oai_parse_event_top's cJSON path
 * would read exactly so; then fills *ev as that path would, appends the
 * content to text (caller's, may be NULL) and returns 1, with *st the
 * append's status (BENCH_ETOOBIG when text's cap is reached: nothing of
 * this event appended). top: the caller's logprob wish (NULL or filled:
 * none); logprobs wanted make the payload "unsure". */
int oai_fast_event(const char *data, size_t len, oai_event *ev, dynbuf *text, const oai_top *top,
                   bench_status *st);

/* 1 when s[0, n) is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
int oai_utf8_valid(const unsigned char *s, size_t n);

/* oai_parse_event_top by the cJSON path alone (tests and fuzzing compare
 * the two). */
bench_status oai_parse_event_slow(const char *data, size_t len, oai_event *ev, dynbuf *text,
                                  oai_top *top, bench_err *err);

/* 1 unless the fast path takes data[0, len) and its answer (event, status,
 * text appended to an empty buffer capped at text_cap) differs from the
 * cJSON path's: the check tests and the fuzz target make. */
int oai_fast_agrees(const char *data, size_t len, size_t text_cap);

#endif
