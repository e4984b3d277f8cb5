/* sse.h - incremental Server-Sent Events parser (WHATWG "event stream"
 * interpretation), fed bytes exactly as the transport delivers them.
 *
 * Any split is fine: one byte at a time, several events in one call, a CRLF
 * pair split across two calls. Lines may end in CRLF, LF or CR. Comment lines
 * (starting with ':') are ignored; `event:`, `id:` and `retry:` are parsed;
 * several `data:` lines join with '\n'. A blank line dispatches the event to
 * the callback. Both the current line and the accumulated event data are
 * capped, so a peer cannot exhaust memory. */
#ifndef BENCH_SSE_H
#define BENCH_SSE_H

#include <stddef.h>
#include "status.h"

/* Called once per dispatched event. `event` is the event type ("message"
 * when no event: field was given), `data` the joined data lines (NUL-
 * terminated, len bytes, no trailing newline). Both are borrowed for the call
 * only. Return 0 to continue, non-zero to stop: sse_feed then returns
 * BENCH_EINTR without consuming the rest of the buffer. */
typedef int (*sse_event_cb)(void *ud, const char *event, const char *data, size_t len);

typedef struct sse_parser sse_parser;

/* max_line caps one line (field name + value, terminator excluded; comment
 * lines too), max_event caps an event's joined data. cb may be NULL (events
 * are then only counted). *out is owned by the caller; free with sse_destroy.
 * Returns BENCH_ENOMEM (no message: there is no err) or BENCH_OK. */
bench_status sse_create(size_t max_line, size_t max_event, sse_event_cb cb, void *ud,
                        sse_parser **out);

/* Feed n bytes (borrowed for the call only). BENCH_ETOOBIG (with a message
 * naming the cap) when a line or an event exceeds its cap; the parser must
 * then be reset before reuse (until then every feed fails again). A UTF-8
 * BOM is skipped at the start of the stream only. */
bench_status sse_feed(sse_parser *p, const char *buf, size_t n, bench_err *err);

/* End of stream. Per the specification an event not terminated by a blank
 * line is discarded; returns BENCH_OK, and *pending (may be NULL) is set to 1
 * when such a partial event or partial line was dropped. */
bench_status sse_finish(sse_parser *p, int *pending);

/* Forget all state (for reuse on the next response); keeps allocations. */
void sse_reset(sse_parser *p);

/* Last `id:` seen (borrowed, valid until the next feed/reset), "" if none.
 * An id containing NUL is ignored, as the specification requires. */
const char *sse_last_id(const sse_parser *p);

/* Last valid `retry:` value in milliseconds, -1 if none (digits only, as
 * the specification requires; saturates at LONG_MAX). */
long sse_retry_ms(const sse_parser *p);

/* Number of events dispatched since create/reset. */
size_t sse_event_count(const sse_parser *p);

/* Free the parser and its buffers; NULL is allowed. */
void sse_destroy(sse_parser *p);

#endif
