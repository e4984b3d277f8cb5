/* config.h - the effective configuration of a `bench run`, its parsing
 * helpers, and its JSON form (stored in the results file, never with secrets). */
#ifndef BENCH_CONFIG_H
#define BENCH_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "level.h"
#include "oai.h"
#include "schedule.h"
#include "status.h"

#define CONFIG_MAX_LEVELS 256
#define CONFIG_MAX_CONCURRENCY 65536
/* Open loop: the default cap on requests in flight (--max-concurrency),
 * lowered to what the descriptor limit allows (config_max_inflight). */
#define CONFIG_DEFAULT_MAX_INFLIGHT 1024
/* Descriptors kept for everything but the connections (files, pipes, the
 * workers' wake-up descriptors): the cap is RLIMIT_NOFILE minus this. */
#define CONFIG_FD_RESERVE 128

typedef struct {
    double connect_s;     /* TCP/TLS connect */
    double first_token_s; /* send -> first content token */
    double idle_s;        /* longest gap between received bytes */
    double total_s;       /* whole request */
} config_timeouts;

/* How HTTPS servers are verified (--cacert, --insecure). One struct for
 * bench run, bench eval and judges, applied by the worker (slot_init). */
typedef struct {
    char *cacert; /* CA certificates (PEM) trusted instead of the system store; NULL = system */
    int insecure; /* 1: no certificate or host-name verification at all */
} config_tls;

typedef struct {
    /* what to measure */
    char *model;        /* catalog name, or any name with --endpoint */
    char *served_model; /* id sent in requests; NULL = catalog's served_id or model */
    char *endpoint;     /* base URL; NULL = embedded simulated endpoint */
    char *api_key_env;  /* name of the env var holding the key */
    oai_api api;
    config_tls tls; /* owned strings, freed by config_free */
    /* load */
    int levels[CONFIG_MAX_LEVELS];
    size_t n_levels;
    long requests; /* measured requests per level (default for levels not in level_requests) */
    int req_levels[CONFIG_MAX_LEVELS]; /* levels with their own count ("60,c1=300") */
    long req_counts[CONFIG_MAX_LEVELS];
    size_t n_req_levels;
    long warmup; /* warm-up requests per level */
    int threads; /* 0 = auto */
    /* open loop (--rate): when n_rates > 0 the levels are these rates,
     * requests/s, ascending, and levels[] is not used */
    double rates[CONFIG_MAX_LEVELS];
    size_t n_rates;
    double req_rates[CONFIG_MAX_LEVELS]; /* rate levels with their own count ("60,r2=300") */
    long req_rate_counts[CONFIG_MAX_LEVELS];
    size_t n_req_rates;
    schedule_arrival arrival; /* default poisson */
    int max_concurrency;      /* open-loop cap on requests in flight; 0 = default */
    /* prompts */
    int input_tokens, output_tokens;
    char *dataset;
    char *tokenizer; /* --tokenizer: NULL = auto; off, vllm, llama.cpp or a URL (tokenize.h) */
    uint64_t seed;
    int ignore_eos;     /* send ignore_eos: true */
    int busy_poll;   /* workers spin instead of sleeping while requests are in flight */
    int transport;   /* CONFIG_TRANSPORT_*: who speaks HTTP (worker.h, worker_native) */
    double temperature; /* < 0: not sent */
    /* output */
    char *output;  /* results file; NULL = results/<model>-<UTC>.h5 */
    int json;      /* summary as JSON on stdout */
    int progress;  /* -1 never, 0 auto (stderr is a tty), 1 always */
    int no_report; /* skip the report the run ends with */
    config_timeouts timeout;
    char *catalog_path;
    /* embedded endpoint */
    double sim_slowdown;
    char *sim_faults;
    char *sim_log_sends;
} run_config;

/* --transport: auto (native for plain http:// without a proxy, else
 * libcurl), native (the built-in HTTP/1.1 client) or libcurl. */
enum { CONFIG_TRANSPORT_AUTO = 0, CONFIG_TRANSPORT_NATIVE, CONFIG_TRANSPORT_LIBCURL };

/* Defaults documented in --help and README. */
void config_defaults(run_config *c);

/* Free the strings the config owns (all char * members). */
void config_free(run_config *c);

/* Parse "8", "1,2,4,8", "1-8", "1-4,8,16" into ascending, de-duplicated
 * levels, each in [1, CONFIG_MAX_CONCURRENCY]. flag names the option in
 * messages. */
bench_status config_parse_levels(const char *s, const char *flag, int *levels, size_t *n,
                                 bench_err *err);

/* Parse "--rate": "2", "0.5,1,2.5", "1-8" (1, 2, .. 8), "1-4:0.5" (1, 1.5,
 * .. 4) or a mix, requests/s, into ascending, de-duplicated rates, each in
 * [LEVEL_RATE_MIN, LEVEL_RATE_MAX] (a range's values rounded to 9
 * significant digits, so that 0.1-0.3:0.1 gives 0.3, not 0.30000000000000004). */
bench_status config_parse_rates(const char *s, const char *flag, double *rates, size_t *n,
                                bench_err *err);

/* Parse "--requests": "N" or "N,cL=M,rR=M,..." (concurrency level L, or
 * rate level R, gets M measured requests, the others N), each count in
 * [1, 1e8]. */
bench_status config_parse_requests(const char *s, run_config *c, bench_err *err);

/* Measured requests at concurrency level. */
long config_requests_for(const run_config *c, int level);
/* Measured requests at any level. */
long config_requests_for_level(const run_config *c, level_key k);

/* The run's levels, in run order: the rates when n_rates > 0, else the
 * concurrencies. */
size_t config_level_count(const run_config *c);
level_key config_level(const run_config *c, size_t i);

/* The open-loop cap on requests in flight: c->max_concurrency, or by
 * default CONFIG_DEFAULT_MAX_INFLIGHT lowered to what fd_limit (the hard
 * RLIMIT_NOFILE, RLIM_INFINITY as a huge number) allows, that is fd_limit
 * minus CONFIG_FD_RESERVE. An explicit cap above that is BENCH_EUSAGE, one
 * line naming --max-concurrency and the limit. */
bench_status config_max_inflight(const run_config *c, uint64_t fd_limit, int *out, bench_err *err);

/* Parse a duration "30", "30s", "250ms", "2m" into seconds (> 0). */
bench_status config_parse_duration(const char *s, const char *flag, double *out, bench_err *err);

/* Parse "connect=5s,first-token=60s,idle=30s,total=10m" (any subset). */
bench_status config_parse_timeouts(const char *s, config_timeouts *t, bench_err *err);

/* Parse a whole number in [lo, hi]. */
bench_status config_parse_long(const char *s, const char *flag, long lo, long hi, long *out,
                               bench_err *err);

/* Check TLS options given on the command line (prefix names the flags in
 * messages: "--" or "--judge-"): --cacert must name a readable file holding
 * a PEM certificate; --insecure and --cacert contradict each other. All are
 * BENCH_EUSAGE (exit status 2), naming the flag and the file. */
bench_status config_tls_check(const config_tls *t, const char *prefix, bench_err *err);

/* "system", "cacert" or "insecure". */
const char *config_tls_mode(const config_tls *t);

/* Add member key = {"verify": config_tls_mode, "cacert": path or null} to
 * the cJSON object parent. */
struct cJSON;
void config_tls_json(struct cJSON *parent, const char *key, const config_tls *t);

/* 1 when a configuration JSON (results or evaluation file) records a run
 * with --insecure ("tls" or "judge_tls" verify = "insecure"). */
int config_json_insecure(const char *config_json);

void config_tls_free(config_tls *t);

/* Remove a secret from a NUL-terminated message, in place: every occurrence
 * becomes "[redacted]" (or as many '*' when the secret is shorter), and so
 * does a prefix of it (4 characters or more) cut off at the end of the
 * message, before a trailing "..." if any. The message never grows. No-op
 * when secret is NULL or empty. Used on every error message a worker
 * records, since servers quote requests (and so the Authorization header)
 * in their error bodies. */
void config_redact(char *msg, const char *secret);

/* The configuration as a JSON object string (caller frees). Contains the
 * name of the API-key variable, never its value. NULL on allocation failure. */
char *config_to_json(const run_config *c, const char *served_model, const char *endpoint,
                     const char *endpoint_kind);

#endif
