#include "prompt.h"

#include <cjson/cJSON.h>
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

struct prompt_source {
    int synthetic;
    uint64_t seed;
    int input_tokens, output_tokens;
    ds_item *items;
    size_t n;
};

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
        rng r;
        rng_seed(&r, s->seed, 0x70726f6d70740000ULL + k);
        /* A request-unique opening defeats prefix caching across requests. */
        if ((st = dynbuf_addf(text, "Request %llu.", (unsigned long long)k)))
            return st;
        for (int i = 2; i < s->input_tokens; i++) {
            if ((st = dynbuf_add(text, " ", 1)) ||
                (st = dynbuf_adds(text, words[rng_below(&r, N_WORDS)])))
                return st;
        }
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
    free(s);
}
