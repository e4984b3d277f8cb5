/* simtok.h - the embedded simulator's POST /tokenize, in the two shapes real
 * servers use (docs/SIMULATOR.md, docs/COMPATIBILITY.md):
 *   llama.cpp  {"content": TEXT, ...}              -> {"tokens": [ids...]}
 *   vLLM       {"model": M, "prompt": TEXT}         -> {"count": N, "max_model_len": L,
 *              {"model": M, "messages": [...], ...}     "tokens": [ids...]}
 * A body with "content" gets llama.cpp's shape, else one with "prompt" or
 * "messages" vLLM's. The count is the simulator's own rule for
 * usage.prompt_tokens: words of the text, plus msg_overhead per chat
 * message; the caller passes both so the two cannot drift apart. Token ids
 * are made up (deterministic, below 32000). */
#ifndef BENCH_SIMTOK_H
#define BENCH_SIMTOK_H

#include <stddef.h>

/* Answer the request body req[0, len) (borrowed; need not be NUL-
 * terminated). Returns the HTTP status (200, 400 for a body of neither
 * shape, 413 for more than max_tokens tokens to list, 500 out of memory)
 * and sets *body to the JSON reply, an {"error": {...}} object when not 200
 * (malloc'ed, caller frees; NULL only when out of memory). */
int simtok_answer(const char *req, size_t len, long (*count_words)(const char *s),
                  long msg_overhead, long max_model_len, long max_tokens, char **body);

#endif
