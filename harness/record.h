/* record.h - what the load generator records, one struct per HDF5 row.
 *
 * Times are int64 ns relative to the run's t0 (CLOCK_MONOTONIC), -1 when the
 * event never happened. These structs are laid out exactly as the compound
 * rows of /levels/c<N>/requests and /levels/c<N>/chunks (docs/FORMAT.md). */
#ifndef BENCH_RECORD_H
#define BENCH_RECORD_H

#include <stdint.h>

/* Outcome classes of a request (HDF5 `status`); values are part of format 1. */
typedef enum {
    REQ_OK = 0,
    REQ_HTTP_ERROR = 1,          /* HTTP status >= 400 */
    REQ_TIMEOUT_CONNECT = 2,     /* could not connect within the connect limit */
    REQ_TIMEOUT_FIRST_TOKEN = 3, /* no content token within the first-token limit */
    REQ_TIMEOUT_IDLE = 4,        /* no bytes for longer than the idle limit */
    REQ_TIMEOUT_TOTAL = 5,       /* request exceeded the whole-request limit */
    REQ_CONNECT_ERROR = 6,       /* connection refused / DNS / TLS failure */
    REQ_RESET = 7,               /* connection closed or reset mid-response */
    REQ_PROTOCOL_ERROR = 8,      /* malformed SSE / JSON, oversized event */
    REQ_SERVER_ERROR_EVENT = 9,  /* `data: {"error": ...}` inside the stream */
    REQ_NO_DONE = 10,            /* stream ended cleanly but without [DONE] */
    REQ_EARLY_STOP = 11,         /* completed, but fewer tokens than asked */
    REQ_CANCELLED = 12,          /* interrupted by the user (SIGINT/SIGTERM) */
    REQ_CLASS_COUNT
} req_class;

/* Short stable name of a class ("ok", "http_error", ...). */
const char *req_class_name(int cls);

/* True when a request of this class counts as successful for latency
 * statistics (ok, and early_stop: it completed, just shorter than asked). */
int req_class_is_success(int cls);

#define REC_FINISH_LEN 16

typedef struct {
    uint64_t id;                        /* request sequence number within the level */
    uint32_t worker;                    /* load-generator thread that sent it */
    int32_t status;                     /* req_class */
    int32_t http_status;                /* 0 when no response line was received */
    uint8_t warmup;                     /* 1 = warm-up request, excluded from statistics */
    int64_t t_sched_ns;                 /* when it was scheduled (closed loop: slot free) */
    int64_t t_send_ns;                  /* when the request was handed to the transport */
    int64_t t_first_byte_ns;            /* first response body byte */
    int64_t t_first_token_ns;           /* first chunk carrying content */
    int64_t t_last_token_ns;            /* last chunk carrying content */
    int64_t t_end_ns;                   /* transfer finished (after [DONE] / close) */
    int32_t prompt_tokens;              /* from usage, -1 unknown */
    int32_t output_tokens;              /* from usage, -1 unknown */
    int32_t max_tokens;                 /* output length asked for */
    uint32_t chunk_count;               /* content chunks counted by the client */
    uint64_t chunk_offset;              /* first row of this request in `chunks` */
    char finish_reason[REC_FINISH_LEN]; /* "stop", "length", ... or "" */
} req_record;

typedef struct {
    uint64_t request_id;
    int64_t t_ns;    /* arrival time of the bytes that completed this event */
    uint32_t bytes;  /* size of the SSE event's data payload */
    uint32_t tokens; /* best token count known for this chunk */
} chunk_record;

#endif
