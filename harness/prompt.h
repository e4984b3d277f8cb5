/* prompt.h - where request prompts come from: a seeded synthetic source or a
 * JSONL dataset replayed in file order.
 *
 * Both are read-only after creation, so every worker thread may call
 * prompt_source_item concurrently. Request k always gets the same prompt for
 * the same seed, whichever thread sends it. */
#ifndef BENCH_PROMPT_H
#define BENCH_PROMPT_H

#include <stddef.h>
#include <stdint.h>

#include "dynbuf.h"
#include "status.h"

typedef struct prompt_source prompt_source;

typedef struct {
    const char *messages_json; /* borrowed JSON array of chat messages, or NULL */
    int max_tokens;            /* output length to ask for */
    int approx_input_tokens;   /* the source's estimate of the prompt length */
} prompt_item;

/* Synthetic prompts of input_tokens words (about one token each in the
 * tokenizers of the catalog's models), unique per request so no server can
 * answer from a prefix cache, asking for output_tokens tokens. */
bench_status prompt_source_synthetic(uint64_t seed, int input_tokens, int output_tokens,
                                     prompt_source **out, bench_err *err);

/* A JSONL file, one object per line: {"prompt": "..."} or {"messages": [...]},
 * optionally "max_tokens" (or "output_tokens"); default_output_tokens applies
 * otherwise. Blank lines are skipped. Errors name the file and line. Request k
 * replays line k mod n. */
bench_status prompt_source_dataset(const char *path, int default_output_tokens, prompt_source **out,
                                   bench_err *err);

/* Fill item and, for a plain prompt, append its text to text (a caller-owned
 * buffer; unchanged when the item is a messages array). */
bench_status prompt_source_item(const prompt_source *s, uint64_t k, prompt_item *item,
                                dynbuf *text);

/* Number of distinct prompts (0 for synthetic: unbounded). */
size_t prompt_source_size(const prompt_source *s);

void prompt_source_destroy(prompt_source *s);

#endif
