#include "prompt.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "rng.h"

/* Common English words; with a leading space each is a single token in the
 * Llama, Mistral and Gemma tokenizers, so N words ~ N tokens. */
static const char *const words[] = {
    "the",       "of",      "and",    "to",     "in",        "is",     "you",     "that",
    "it",        "he",      "was",    "for",    "on",        "are",    "as",      "with",
    "his",       "they",    "at",     "be",     "this",      "have",   "from",    "or",
    "one",       "had",     "by",     "word",   "but",       "not",    "what",    "all",
    "were",      "we",      "when",   "your",   "can",       "said",   "there",   "use",
    "an",        "each",    "which",  "she",    "do",        "how",    "their",   "if",
    "will",      "up",      "other",  "about",  "out",       "many",   "then",    "them",
    "these",     "so",      "some",   "her",    "would",     "make",   "like",    "him",
    "into",      "time",    "has",    "look",   "two",       "more",   "write",   "go",
    "see",       "number",  "no",     "way",    "could",     "people", "my",      "than",
    "first",     "water",   "been",   "call",   "who",       "oil",    "its",     "now",
    "find",      "long",    "down",   "day",    "did",       "get",    "come",    "made",
    "may",       "part",    "over",   "new",    "sound",     "take",   "only",    "little",
    "work",      "know",    "place",  "year",   "live",      "me",     "back",    "give",
    "most",      "very",    "after",  "thing",  "our",       "just",   "name",    "good",
    "man",       "think",   "say",    "great",  "where",     "help",   "through", "much",
    "before",    "line",    "right",  "too",    "mean",      "old",    "any",     "same",
    "tell",      "boy",     "follow", "came",   "want",      "show",   "also",    "around",
    "form",      "three",   "small",  "set",    "put",       "end",    "does",    "another",
    "well",      "large",   "must",   "big",    "even",      "such",   "because", "turn",
    "here",      "why",     "ask",    "went",   "men",       "read",   "need",    "land",
    "different", "home",    "us",     "move",   "try",       "kind",   "hand",    "picture",
    "again",     "change",  "off",    "play",   "spell",     "air",    "away",    "animal",
    "house",     "point",   "page",   "letter", "mother",    "answer", "found",   "study",
    "still",     "learn",   "should", "world",  "high",      "every",  "near",    "add",
    "food",      "between", "own",    "below",  "country",   "plant",  "last",    "school",
    "father",    "keep",    "tree",   "never",  "start",     "city",   "earth",   "eye",
    "light",     "thought", "head",   "under",  "story",     "saw",    "left",    "few",
    "while",     "along",   "might",  "close",  "something", "seem",   "next",    "hard",
    "open",      "example",
};
#define N_WORDS (sizeof words / sizeof words[0])

typedef struct {
    char *prompt;   /* owned, or NULL */
    char *messages; /* owned JSON array text, or NULL */
    int max_tokens;
    int approx_tokens;
} ds_item;

/* A synthetic prompt's size: words after its "Request k." opening, then
 * " a" fillers. */
typedef struct {
    int32_t words; /* -1: not sized, the default applies */
    int32_t pad;
} fit_size;

struct prompt_source {
    int synthetic;
    uint64_t seed;
    int input_tokens, output_tokens;
    ds_item *items;
    size_t n;
    /* prompt_source_fit's results for requests [0, n_fit), and what it
     * carries from one prompt to the next as its first guess */
    fit_size *fit;
    uint64_t n_fit;
    fit_size last;   /* the last prompt's size; words -1: none yet */
    double per_word; /* tokens per added word seen last */
};

/* The size of an unsized synthetic prompt: input_tokens words counting the
 * two of the opening. */
static int default_words(const prompt_source *s)
{
    return s->input_tokens > 2 ? s->input_tokens - 2 : 0;
}

/* Synthetic prompt k with the given size, appended to text. The words are
 * the same draws whatever the size, so a longer prompt extends a shorter. */
static bench_status synth_text(const prompt_source *s, uint64_t k, int n_words, int pad,
                               dynbuf *text)
{
    bench_status st;
    rng r;
    rng_seed(&r, s->seed, 0x70726f6d70740000ULL + k);
    /* A request-unique opening defeats prefix caching across requests. */
    if ((st = dynbuf_addf(text, "Request %llu.", (unsigned long long)k)))
        return st;
    for (int i = 0; i < n_words; i++) {
        if ((st = dynbuf_add(text, " ", 1)) ||
            (st = dynbuf_adds(text, words[rng_below(&r, N_WORDS)])))
            return st;
    }
    for (int i = 0; i < pad; i++)
        if ((st = dynbuf_add(text, " a", 2)))
            return st;
    return BENCH_OK;
}

bench_status prompt_source_synthetic(uint64_t seed, int input_tokens, int output_tokens,
                                     prompt_source **out, bench_err *err)
{
    if (input_tokens < 1 || output_tokens < 1)
        return bench_fail(err, BENCH_EUSAGE, "synthetic prompts need input and output tokens >= 1");
    prompt_source *s = calloc(1, sizeof *s);
    if (!s)
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    s->synthetic = 1;
    s->seed = seed;
    s->input_tokens = input_tokens;
    s->output_tokens = output_tokens;
    s->last.words = -1;
    *out = s;
    return BENCH_OK;
}

static int count_words(const char *s)
{
    int n = 0, in = 0;
    for (; *s; s++) {
        int sp = (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r');
        if (!sp && !in)
            n++;
        in = !sp;
    }
    return n;
}

static bench_status parse_line(const char *path, size_t lineno, const char *line,
                               int default_output_tokens, ds_item *it, bench_err *err)
{
    bench_status st = BENCH_OK;
    cJSON *o = cJSON_Parse(line);
    if (!o || !cJSON_IsObject(o)) {
        st = bench_fail(err, BENCH_EINPUT, "%s:%zu: not a JSON object", path, lineno);
        goto out;
    }
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "prompt");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "messages");
    if (cJSON_IsString(p) && p->valuestring[0]) {
        it->prompt = strdup(p->valuestring);
        it->approx_tokens = count_words(p->valuestring);
    } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) > 0) {
        const cJSON *msg;
        it->approx_tokens = 0;
        cJSON_ArrayForEach(msg, m)
        {
            const cJSON *role = cJSON_GetObjectItemCaseSensitive(msg, "role");
            const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
            if (!cJSON_IsString(role) || !cJSON_IsString(content)) {
                st = bench_fail(err, BENCH_EINPUT,
                                "%s:%zu: each message needs string \"role\" and \"content\"", path,
                                lineno);
                goto out;
            }
            it->approx_tokens += count_words(content->valuestring) + 4;
        }
        it->messages = cJSON_PrintUnformatted(m);
    } else {
        st = bench_fail(err, BENCH_EINPUT,
                        "%s:%zu: needs a non-empty \"prompt\" string or \"messages\" array", path,
                        lineno);
        goto out;
    }
    if (!it->prompt && !it->messages) {
        st = bench_fail(err, BENCH_ENOMEM, "%s:%zu: out of memory", path, lineno);
        goto out;
    }
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(o, "max_tokens");
    if (!mt)
        mt = cJSON_GetObjectItemCaseSensitive(o, "output_tokens");
    if (mt) {
        if (!cJSON_IsNumber(mt) || mt->valuedouble < 1 || mt->valuedouble > 1e7 ||
            mt->valuedouble != floor(mt->valuedouble)) {
            st = bench_fail(err, BENCH_EINPUT, "%s:%zu: \"max_tokens\" must be a positive integer",
                            path, lineno);
            goto out;
        }
        it->max_tokens = (int)mt->valuedouble;
    } else {
        it->max_tokens = default_output_tokens;
    }
out:
    cJSON_Delete(o);
    return st;
}

bench_status prompt_source_dataset(const char *path, int default_output_tokens, prompt_source **out,
                                   bench_err *err)
{
    char *text = NULL;
    prompt_source *s = NULL;
    bench_status st = file_read_all(path, (size_t)1 << 30, &text, NULL, err);
    if (st)
        return st;
    s = calloc(1, sizeof *s);
    if (!s) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    size_t cap = 0;
    size_t lineno = 0;
    char *line = text;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        const char *q = line;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q) {
            if (s->n == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                ds_item *ni = realloc(s->items, ncap * sizeof *ni);
                if (!ni) {
                    st = bench_fail(err, BENCH_ENOMEM, "%s: out of memory", path);
                    goto out;
                }
                s->items = ni;
                cap = ncap;
            }
            memset(&s->items[s->n], 0, sizeof s->items[s->n]);
            s->n++;
            if ((st = parse_line(path, lineno, q, default_output_tokens, &s->items[s->n - 1], err)))
                goto out;
        }
        line = nl ? nl + 1 : NULL;
    }
    if (s->n == 0) {
        st = bench_fail(err, BENCH_EINPUT, "%s: no prompts in file", path);
        goto out;
    }
    *out = s;
    s = NULL;
out:
    prompt_source_destroy(s);
    free(text);
    return st;
}

bench_status prompt_source_item(const prompt_source *s, uint64_t k, prompt_item *item, dynbuf *text)
{
    bench_status st = BENCH_OK;
    memset(item, 0, sizeof *item);
    if (s->synthetic) {
        fit_size z = {default_words(s), 0};
        if (k < s->n_fit && s->fit[k].words >= 0)
            z = s->fit[k];
        if ((st = synth_text(s, k, z.words, z.pad, text)))
            return st;
        item->max_tokens = s->output_tokens;
        item->approx_input_tokens = s->input_tokens;
        return BENCH_OK;
    }
    const ds_item *it = &s->items[k % s->n];
    item->max_tokens = it->max_tokens;
    item->approx_input_tokens = it->approx_tokens;
    if (it->messages) {
        item->messages_json = it->messages;
        return BENCH_OK;
    }
    return dynbuf_adds(text, it->prompt);
}

size_t prompt_source_size(const prompt_source *s)
{
    return s->synthetic ? 0 : s->n;
}

void prompt_source_destroy(prompt_source *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].prompt);
        free(s->items[i].messages);
    }
    free(s->items);
    free(s->fit);
    free(s);
}

/* One count of prompt k at size z, keeping the closest size seen in *best
 * (|tokens - target| smallest; *best_off). */
typedef struct {
    prompt_source *s;
    uint64_t k;
    prompt_count_fn count;
    void *ud;
    dynbuf *buf;
    int probes_left;
    uint64_t *probes;
    fit_size best;
    int best_off;
} fit_job;

static bench_status measure(fit_job *j, int n_words, int pad, int *tokens, bench_err *err)
{
    dynbuf_reset(j->buf);
    bench_status st = synth_text(j->s, j->k, n_words, pad, j->buf);
    if (st)
        return bench_fail(err, st, "request %llu: cannot build its prompt",
                          (unsigned long long)j->k);
    j->probes_left--;
    (*j->probes)++;
    if ((st = j->count(j->ud, j->buf->p, tokens, err)))
        return st;
    int off = abs(*tokens - j->s->input_tokens);
    if (off < j->best_off) {
        j->best_off = off;
        j->best = (fit_size){n_words, pad};
    }
    return BENCH_OK;
}

/* Size prompt k (see prompt_source_fit). Words first: a secant step from
 * the guess, inside the bracket [lo, hi] of word counts known to fall
 * short / overshoot; when two adjacent counts bracket the target, " a"
 * fillers after the shorter. */
static bench_status fit_one(fit_job *j, bench_err *err)
{
    prompt_source *s = j->s;
    const int target = s->input_tokens;
    const int max_words = target > INT_MAX / 4 - 64 ? INT_MAX / 4 : 4 * target + 64;
    bench_status st;
    int c;
    fit_size g = s->last.words >= 0 ? s->last : (fit_size){default_words(s), 0};
    if ((st = measure(j, g.words, g.pad, &c, err)) || c == target)
        return st;
    if (g.pad > 0 && j->probes_left > 0) { /* restart from the words alone */
        g.pad = 0;
        if ((st = measure(j, g.words, 0, &c, err)) || c == target)
            return st;
    }
    int lo = -1, c_lo = 0, hi = INT_MAX; /* word counts: short of, beyond the target */
    int w = g.words, cw = c;
    double r = s->per_word > 0 ? s->per_word : 1.0;
    for (;;) {
        if (cw < target && w > lo) {
            lo = w;
            c_lo = cw;
        } else if (cw > target && w < hi) {
            hi = w;
        }
        if (j->probes_left <= 0 || hi == 0 || hi == lo + 1 || (lo >= max_words))
            break;
        long step = lround((double)(target - cw) / r);
        if (step == 0)
            step = target > cw ? 1 : -1;
        long nw = (long)w + step;
        if (nw <= lo)
            nw = lo + 1;
        if (nw >= hi)
            nw = (long)hi - 1;
        if (nw < 0)
            nw = 0;
        if (nw > max_words)
            nw = max_words;
        if (nw == w)
            break;
        int cn;
        if ((st = measure(j, (int)nw, 0, &cn, err)) || cn == target)
            return st;
        double rn = (double)(cn - cw) / (double)(nw - w);
        if (rn >= 0.25 && rn <= 16)
            r = rn;
        s->per_word = r;
        w = (int)nw;
        cw = cn;
    }
    /* Fillers after the longest prompt still short of the target. */
    int p = target - c_lo;
    while (lo >= 0 && p > 0 && p <= target && j->probes_left > 0) {
        int cp;
        if ((st = measure(j, lo, p, &cp, err)) || cp == target)
            return st;
        int np = p + (target - cp);
        if (np == p)
            break;
        p = np;
    }
    return BENCH_OK;
}

bench_status prompt_source_fit(prompt_source *s, uint64_t n, prompt_count_fn count, void *ud,
                               prompt_fit_stats *stats, bench_err *err)
{
    bench_status st = BENCH_OK;
    dynbuf buf;
    dynbuf_init(&buf, (size_t)64 << 20);
    memset(stats, 0, sizeof *stats);
    if (!s->synthetic || n <= s->n_fit)
        goto out;
    if (n > SIZE_MAX / sizeof *s->fit) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory sizing %llu prompts",
                        (unsigned long long)n);
        goto out;
    }
    fit_size *nf = realloc(s->fit, (size_t)n * sizeof *nf);
    if (!nf) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory sizing %llu prompts",
                        (unsigned long long)n);
        goto out;
    }
    s->fit = nf;
    for (uint64_t k = s->n_fit; k < n; k++)
        s->fit[k].words = -1;
    for (uint64_t k = s->n_fit; k < n; k++) {
        fit_job j = {.s = s,
                     .k = k,
                     .count = count,
                     .ud = ud,
                     .buf = &buf,
                     .probes_left = PROMPT_FIT_PROBES,
                     .probes = &stats->probes,
                     .best = {-1, 0},
                     .best_off = INT_MAX};
        st = fit_one(&j, err);
        if (j.best.words >= 0) {
            s->fit[k] = j.best;
            s->n_fit = k + 1;
            stats->fitted++;
            if (j.best_off == 0) {
                s->last = j.best;
            } else {
                stats->inexact++;
                if (j.best_off > stats->max_off)
                    stats->max_off = j.best_off;
            }
        }
        if (st)
            goto out;
    }
out:
    dynbuf_free(&buf);
    return st;
}
