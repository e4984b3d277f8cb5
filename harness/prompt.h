/* prompt.h - where request prompts come from: a seeded synthetic source or a
 * JSONL dataset replayed in file order.
 *
 * Both are read-only while requests are sent, so every worker thread may
 * call prompt_source_item concurrently. Request k always gets the same
 * prompt for the same seed, whichever thread sends it (and, once
 * prompt_source_fit has sized it with a server's tokenizer, the same length
 * for that tokenizer). */
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
 * tokenizers of the catalog's models; exactly input_tokens tokens once
 * prompt_source_fit has sized them), unique per request so no server can
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

/* Counts the tokens of a synthetic prompt text as the server will (borrowed
 * text; *tokens set on success). Used by prompt_source_fit. */
typedef bench_status (*prompt_count_fn)(void *ud, const char *text, int *tokens, bench_err *err);

typedef struct {
    uint64_t fitted;  /* requests whose prompt was sized by this call */
    uint64_t inexact; /* of those, not brought to input_tokens exactly */
    int max_off;      /* largest |tokens - input_tokens| among the inexact */
    uint64_t probes;  /* calls to count */
} prompt_fit_stats;

/* Size the prompts of requests [0, n) of a synthetic source so that count()
 * says each has exactly input_tokens tokens: words are added or removed at
 * the end (and, when one more word overshoots, single-token " a" fillers
 * appended), re-counting each time, at most PROMPT_FIT_PROBES counts per
 * prompt; the first guess is the previous prompt's size, so a tokenizer
 * whose words are one token each needs one count per prompt. Prompts sized
 * by an earlier call are kept (levels share request ids), so calling it
 * again with a larger n only sizes the new ones. A prompt that cannot be
 * sized exactly within the bound keeps the closest size found and counts as
 * inexact in *stats (caller-owned, zeroed here). A count failure stops the
 * call with its status and message: prompts not sized by then keep their
 * default (approximate) length. A dataset source is left alone (BENCH_OK).
 * Not thread-safe: call it while no worker reads the source. */
#define PROMPT_FIT_PROBES 12
bench_status prompt_source_fit(prompt_source *s, uint64_t n, prompt_count_fn count, void *ud,
                               prompt_fit_stats *stats, bench_err *err);

/* Number of distinct prompts (0 for synthetic: unbounded). */
size_t prompt_source_size(const prompt_source *s);

void prompt_source_destroy(prompt_source *s);

#endif
