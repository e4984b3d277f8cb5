/* tokenize.h - exact synthetic prompt sizes through a server's tokenizer
 * endpoint (docs/COMPATIBILITY.md).
 *
 * llama.cpp's llama-server and vLLM both answer POST /tokenize at the root of
 * the server, beside /v1:
 *   llama.cpp  {"content": TEXT, "add_special": true, "parse_special": true}
 *              -> {"tokens": [ids...]}
 *              (chat: the message goes through POST /apply-template first,
 *              {"messages": [...]} -> {"prompt": TEXT}, as llama-server
 *              formats a chat request before tokenizing it)
 *   vLLM       {"model": M, "prompt": TEXT}, or for chat {"model": M,
 *              "messages": [...], "add_generation_prompt": true}
 *              -> {"count": N, "max_model_len": L, "tokens": [ids...]}
 * Each count is therefore the prompt_tokens the server will charge the
 * request. A tokenizer probes the endpoint once, before the first level with
 * synthetic prompts (both forms, vLLM's first, unless --tokenizer names
 * one); when it answers sensibly, every synthetic prompt is sized to
 * --input-tokens with prompt_source_fit. Otherwise, or with --tokenizer off,
 * the sizes stay approximate (a word a token), bench says so once on stderr
 * ("bench: prompt sizes are approximate: WHY"), and carries on.
 *
 * What was done is the root attribute `prompt_sizing` of the results file:
 * "exact: /tokenize (vLLM) at URL", "approximate: WHY", or "as given:
 * --dataset" (docs/FORMAT.md). */
#ifndef BENCH_TOKENIZE_H
#define BENCH_TOKENIZE_H

#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "oai.h"
#include "prompt.h"
#include "results.h"
#include "status.h"

typedef struct tokenizer tokenizer;

/* All strings and tls are borrowed and must outlive the tokenizer. */
typedef struct {
    const char *spec;     /* --tokenizer: NULL or "auto", "off", "vllm", "llama.cpp", or the
                             http(s) URL of a tokenize endpoint (either form) */
    const char *base;     /* the run's base URL, e.g. http://127.0.0.1:8000/v1: the endpoint
                             is POST <base minus a trailing /v1>/tokenize */
    oai_api api;          /* counts are of the prompt as this API's requests send it */
    const char *model_id; /* "model" of vLLM's form */
    const char *api_key;  /* sent as Authorization: Bearer (may be NULL) to the endpoint's
                             own server only (not to a --tokenizer URL elsewhere); never
                             recorded: messages quoting it have it replaced by [redacted] */
    const config_tls *tls;
    double connect_s;       /* connect limit of each call */
    const atomic_int *stop; /* non-zero (a signal): stop sizing at once, calls in flight
                               aborted, the prompts not sized yet left as they are; NULL */
} tokenizer_opts;

/* Check a --tokenizer value: auto, off, vllm, llama.cpp, or an http(s) URL
 * (BENCH_EUSAGE naming the flag otherwise). */
bench_status tokenizer_check_spec(const char *spec, bench_err *err);

/* A tokenizer for the run; nothing is sent yet. *out owned by the caller
 * (tokenizer_destroy). BENCH_ENOMEM only. */
bench_status tokenizer_create(const tokenizer_opts *o, tokenizer **out, bench_err *err);

/* Before a level whose requests are ids [0, n) of ps: with a synthetic
 * source, probe the endpoint on the first call and size the prompts not
 * sized yet; record in res's root attribute prompt_sizing what was done
 * whenever it changes, and say "prompt sizes are approximate: WHY" on
 * stderr the first time they are. An endpoint that fails later (mid-sizing)
 * makes the rest approximate, it does not fail the run. Fails only for
 * BENCH_ENOMEM or when the results file refuses the attribute. */
bench_status tokenizer_prepare_level(tokenizer *t, prompt_source *ps, uint64_t n, results *res,
                                     bench_err *err);

/* What prompt_sizing says now (borrowed; "" before the first prepare). */
const char *tokenizer_sizing(const tokenizer *t);

/* Probe now if not done yet; 1 when counts are available. */
int tokenizer_probe(tokenizer *t);

/* Tokens of text (a whole prompt, sent as this run's API sends it) as the
 * server counts them. Needs a successful probe (BENCH_EUSAGE otherwise);
 * BENCH_EIO for a failed call, BENCH_EPROTO for an answer of the wrong
 * shape, with the URL and the reason. */
bench_status tokenizer_count(tokenizer *t, const char *text, int *tokens, bench_err *err);

void tokenizer_destroy(tokenizer *t);

#endif
