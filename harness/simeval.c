/* simeval.c - the simulated endpoint playing a model in evaluations
 * (simeval.h, docs/SIMULATOR.md "Playing a model in evaluations").
 *
 * Items are found by exact text: MMLU by (question, four choices) with
 * surrounding whitespace trimmed, in a hash table over the test and val
 * splits; HumanEval by the prompt (trailing whitespace trimmed), hashed for
 * completions and searched for with memmem in chat messages. */
#include "simeval.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "humaneval.h"
#include "mmlu.h"
#include "rng.h"

#define SIMEVAL_SALT 0x73696d6576616c31ULL  /* separates these draws from latency draws */
#define SIMEVAL_SEEN_MAX ((size_t)1 << 20)  /* slots for counting repeated sampled requests */
#define SIMEVAL_SEEN_MIN ((size_t)1 << 10)  /* ... initially */
#define SIMEVAL_NAME_MAX 128                /* longest model name read from a marker */
#define SIMEVAL_TEXT_MAX ((size_t)64 << 20) /* cap on one request's joined text */

static const char mmlu_5shot_prefix[] =
    "The following are multiple choice questions (with answers) about ";
static const char mmlu_cot_prefix[] = "Answer the following multiple choice question.";
static const char humaneval_wrong_body[] = "    # simulated: wrong answer\n    return None\n";

/* ------------------------------------------------------------------------
 * Hashing. */

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * FNV_PRIME;
    return h;
}

/* A separator between hashed fields (strings never hold NUL). */
static uint64_t fnv_sep(uint64_t h)
{
    return fnv(h, "", 1);
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ------------------------------------------------------------------------
 * Spans of text. */

typedef struct {
    const char *p;
    size_t n;
} span;

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static span trim(span s)
{
    while (s.n > 0 && is_ws(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && is_ws(s.p[s.n - 1]))
        s.n--;
    return s;
}

static span span_of(const char *s)
{
    return (span){s, strlen(s)};
}

/* Last occurrence of needle in hay[0..n), or NULL. */
static const char *mem_rfind(const char *hay, size_t n, const char *needle)
{
    size_t nl = strlen(needle);
    if (nl > n)
        return NULL;
    for (size_t i = n - nl + 1; i-- > 0;)
        if (memcmp(hay + i, needle, nl) == 0)
            return hay + i;
    return NULL;
}

static int span_eq(span a, span b)
{
    return a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
}

/* ------------------------------------------------------------------------
 * The index. */

typedef struct {
    uint64_t h; /* 0: empty */
    const mmlu_row *row;
    const char *subject;
} mmlu_slot;

typedef struct {
    uint64_t h; /* 0: empty */
    size_t idx;
} he_slot;

typedef struct {
    uint64_t h; /* 0: empty */
    uint64_t count;
} seen_slot;

struct simeval {
    const catalog *cat;         /* borrowed */
    const catalog_model *model; /* borrowed */
    simeval_quality q;
    uint64_t seed, model_hash;
    mmlu_set *mmlu[2]; /* owned: test, val */
    mmlu_slot *mslots; /* owned */
    size_t mmask, nmitems;
    humaneval_problem *he; /* owned */
    size_t nhe;
    size_t *he_len;  /* owned: each prompt's length without trailing whitespace */
    he_slot *hslots; /* owned */
    size_t hmask;
    seen_slot *seen; /* owned: how often each sampled request came */
    size_t seen_cap, nseen;
};

static uint64_t nonzero(uint64_t h)
{
    return h ? h : 1;
}

static uint64_t item_hash(span q, const span ch[4])
{
    uint64_t h = fnv(FNV_OFFSET, q.p, q.n);
    for (int i = 0; i < 4; i++)
        h = fnv(fnv_sep(h), ch[i].p, ch[i].n);
    return nonzero(mix64(h));
}

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n)
        c <<= 1;
    return c;
}

/* Whether a subject name ("high_school_physics") is the header's text
 * ("high school physics"). */
static int subject_is(const char *name, span text)
{
    size_t n = strlen(name);
    if (n != text.n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((name[i] == '_' ? ' ' : name[i]) != text.p[i])
            return 0;
    return 1;
}

/* The row with this question and these choices (all trimmed), in subject
 * (NULL: any subject); NULL when there is none. */
static const mmlu_row *mmlu_find(const simeval *e, const span *subject, span q, const span ch[4])
{
    uint64_t h = item_hash(q, ch);
    for (size_t i = h & e->mmask; e->mslots[i].h; i = (i + 1) & e->mmask) {
        const mmlu_slot *sl = &e->mslots[i];
        if (sl->h != h || (subject && !subject_is(sl->subject, *subject)))
            continue;
        int same = span_eq(trim(span_of(sl->row->question)), q);
        for (int c = 0; same && c < 4; c++)
            same = span_eq(trim(span_of(sl->row->choices[c])), ch[c]);
        if (same)
            return sl->row;
    }
    return NULL;
}

static bench_status index_mmlu(simeval *e, bench_err *err)
{
    size_t total = 0;
    for (int s = 0; s < 2; s++)
        total += e->mmlu[s]->nitems;
    size_t cap = pow2_at_least(2 * total + 1);
    e->mslots = calloc(cap, sizeof *e->mslots);
    if (!e->mslots)
        return bench_fail(err, BENCH_ENOMEM, "simulator: out of memory indexing MMLU");
    e->mmask = cap - 1;
    for (int s = 0; s < 2; s++) {
        const mmlu_set *set = e->mmlu[s];
        for (size_t j = 0; j < set->nsubjects; j++) {
            const mmlu_subject *sub = &set->subjects[j];
            for (size_t k = 0; k < sub->nitems; k++) {
                const mmlu_row *row = &sub->items[k];
                span ch[4];
                for (int c = 0; c < 4; c++)
                    ch[c] = trim(span_of(row->choices[c]));
                uint64_t h = item_hash(trim(span_of(row->question)), ch);
                size_t i = h & e->mmask;
                while (e->mslots[i].h)
                    i = (i + 1) & e->mmask;
                e->mslots[i] = (mmlu_slot){h, row, sub->name};
                e->nmitems++;
            }
        }
    }
    return BENCH_OK;
}

static bench_status index_humaneval(simeval *e, bench_err *err)
{
    size_t cap = pow2_at_least(2 * e->nhe + 1);
    e->hslots = calloc(cap, sizeof *e->hslots);
    e->he_len = calloc(e->nhe ? e->nhe : 1, sizeof *e->he_len);
    if (!e->hslots || !e->he_len)
        return bench_fail(err, BENCH_ENOMEM, "simulator: out of memory indexing HumanEval");
    e->hmask = cap - 1;
    for (size_t k = 0; k < e->nhe; k++) {
        span p = span_of(e->he[k].prompt);
        while (p.n > 0 && is_ws(p.p[p.n - 1]))
            p.n--;
        e->he_len[k] = p.n;
        uint64_t h = nonzero(mix64(fnv(FNV_OFFSET, p.p, p.n)));
        size_t i = h & e->hmask;
        while (e->hslots[i].h)
            i = (i + 1) & e->hmask;
        e->hslots[i] = (he_slot){h, k};
    }
    return BENCH_OK;
}

/* ------------------------------------------------------------------------
 * Life cycle. */

static bench_status parse_figure(const char *item, const char *val, double lo, double hi,
                                 double *out, bench_err *err)
{
    char *end;
    errno = 0;
    double d = strtod(val, &end);
    if (end == val || *end || errno || !isfinite(d) || d < lo || d > hi)
        return bench_fail(err, BENCH_EUSAGE,
                          "--sim-quality: '%s': '%s' is not a number in [%g, %g]", item, val, lo,
                          hi);
    *out = d;
    return BENCH_OK;
}

bench_status simeval_quality_parse(const char *spec, simeval_quality *q, bench_err *err)
{
    bench_status st = BENCH_OK;
    char *copy = NULL;
    if (!spec || !*spec)
        return BENCH_OK;
    copy = strdup(spec);
    if (!copy)
        return bench_fail(err, BENCH_ENOMEM, "--sim-quality: out of memory");
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*item))
            item++;
        if (!*item)
            continue;
        char *eq = strchr(item, '=');
        if (!eq) {
            st = bench_fail(err, BENCH_EUSAGE,
                            "--sim-quality: '%s': expected mmlu=P, humaneval=P or mtbench=S", item);
            goto out;
        }
        *eq = '\0';
        const char *val = eq + 1;
        if (strcmp(item, "mmlu") == 0)
            st = parse_figure(item, val, 0, 100, &q->mmlu, err);
        else if (strcmp(item, "humaneval") == 0)
            st = parse_figure(item, val, 0, 100, &q->humaneval, err);
        else if (strcmp(item, "mtbench") == 0)
            st = parse_figure(item, val, 1, 10, &q->mtbench, err);
        else
            st = bench_fail(err, BENCH_EUSAGE,
                            "--sim-quality: '%s': unknown figure (known: mmlu, humaneval, mtbench)",
                            item);
        if (st)
            goto out;
    }
out:
    free(copy);
    return st;
}

bench_status simeval_open(const char *data_dir, const catalog *cat, const catalog_model *model,
                          const simeval_quality *q, uint64_t seed, simeval **out, bench_err *err)
{
    bench_status st = BENCH_OK;
    simeval *e = calloc(1, sizeof *e);
    *out = NULL;
    if (!e)
        return bench_fail(err, BENCH_ENOMEM, "simulator: out of memory");
    e->cat = cat;
    e->model = model;
    e->q = *q;
    e->seed = seed;
    e->model_hash = mix64(fnv(FNV_OFFSET, model->name, strlen(model->name)));
    const char *missing = isnan(q->mmlu)        ? "mmlu"
                          : isnan(q->humaneval) ? "humaneval"
                          : isnan(q->mtbench)   ? "mtbench"
                                                : NULL;
    if (missing) {
        st = bench_fail(err, BENCH_EINPUT,
                        "%s: the catalog gives no sim.%s figure to play (give one with "
                        "--sim-quality %s=...)",
                        model->name, missing, missing);
        goto out;
    }
    static const char *const splits[2] = {"test", "val"};
    for (int s = 0; s < 2; s++)
        if ((st = mmlu_load(data_dir, splits[s], &e->mmlu[s], err))) {
            bench_wrap(err, st, "--data-dir %s: MMLU %s split", data_dir, splits[s]);
            goto out;
        }
    if ((st = humaneval_load(data_dir, &e->he, &e->nhe, err))) {
        bench_wrap(err, st, "--data-dir %s: HumanEval", data_dir);
        goto out;
    }
    if ((st = index_mmlu(e, err)) || (st = index_humaneval(e, err)))
        goto out;
out:
    if (st)
        simeval_free(e);
    else
        *out = e;
    return st;
}

void simeval_free(simeval *e)
{
    if (!e)
        return;
    for (int s = 0; s < 2; s++)
        mmlu_free(e->mmlu[s]);
    humaneval_free(e->he, e->nhe);
    free(e->mslots);
    free(e->hslots);
    free(e->he_len);
    free(e->seen);
    free(e);
}

size_t simeval_mmlu_items(const simeval *e)
{
    return e->nmitems;
}

size_t simeval_humaneval_problems(const simeval *e)
{
    return e->nhe;
}

/* ------------------------------------------------------------------------
 * Draws. */

/* How many identical sampled requests (same key) came before this one;
 * counts it. The table is cleared when it fills (past SIMEVAL_SEEN_MAX / 2
 * distinct requests), so only then do repeats start counting afresh. */
static bench_status seen_bump(simeval *e, uint64_t key, uint64_t *before)
{
    key = nonzero(key);
    if (2 * (e->nseen + 1) > e->seen_cap) {
        size_t ncap = e->seen_cap ? 2 * e->seen_cap : SIMEVAL_SEEN_MIN;
        seen_slot *old = e->seen;
        size_t ocap = e->seen_cap;
        if (ncap > SIMEVAL_SEEN_MAX) {
            ncap = SIMEVAL_SEEN_MAX;
            ocap = 0; /* full: start afresh */
            e->nseen = 0;
        }
        seen_slot *t = calloc(ncap, sizeof *t);
        if (!t)
            return BENCH_ENOMEM;
        for (size_t i = 0; i < ocap; i++) {
            if (!old[i].h)
                continue;
            size_t j = old[i].h & (ncap - 1);
            while (t[j].h)
                j = (j + 1) & (ncap - 1);
            t[j] = old[i];
        }
        free(old);
        e->seen = t;
        e->seen_cap = ncap;
    }
    size_t mask = e->seen_cap - 1, i = key & mask;
    while (e->seen[i].h && e->seen[i].h != key)
        i = (i + 1) & mask;
    if (!e->seen[i].h) {
        e->seen[i].h = key;
        e->nseen++;
    }
    *before = e->seen[i].count++;
    return BENCH_OK;
}

static uint64_t double_bits(double d)
{
    uint64_t u;
    if (d == 0)
        d = 0; /* -0.0 is 0 */
    memcpy(&u, &d, sizeof u);
    return u;
}

/* ------------------------------------------------------------------------
 * The request's text. */

typedef struct {
    const char *role; /* "" for completions */
    span text;
} msg_text;

typedef struct {
    msg_text *m; /* owned array */
    size_t n;
    char **owned; /* joined content parts, freed with the request */
    size_t nowned;
    uint64_t hash;
    int has_seed;
    double seed, temperature;
} req_text;

static void req_text_free(req_text *t)
{
    for (size_t i = 0; i < t->nowned; i++)
        free(t->owned[i]);
    free(t->owned);
    free(t->m);
}

/* A message's content as one string: a string, or the text parts of an
 * array joined. *out is NULL for anything else. */
static bench_status content_text(const cJSON *content, req_text *t, span *out)
{
    out->p = NULL;
    out->n = 0;
    if (cJSON_IsString(content)) {
        *out = span_of(content->valuestring);
        return BENCH_OK;
    }
    if (!cJSON_IsArray(content))
        return BENCH_OK;
    dynbuf b;
    dynbuf_init(&b, SIMEVAL_TEXT_MAX);
    const cJSON *part;
    cJSON_ArrayForEach(part, content)
    {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (cJSON_IsString(text) && dynbuf_adds(&b, text->valuestring)) {
            dynbuf_free(&b);
            return BENCH_ENOMEM;
        }
    }
    char *s = dynbuf_steal(&b);
    if (!s)
        return BENCH_ENOMEM;
    t->owned[t->nowned++] = s;
    *out = span_of(s);
    return BENCH_OK;
}

static bench_status req_text_get(const cJSON *root, int chat, req_text *t)
{
    memset(t, 0, sizeof *t);
    if (chat) {
        const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
        int n = cJSON_GetArraySize(msgs);
        if (n <= 0)
            return BENCH_OK;
        t->m = calloc((size_t)n, sizeof *t->m);
        t->owned = calloc((size_t)n, sizeof *t->owned);
        if (!t->m || !t->owned)
            return BENCH_ENOMEM;
        const cJSON *m;
        cJSON_ArrayForEach(m, msgs)
        {
            span s;
            if (content_text(cJSON_GetObjectItemCaseSensitive(m, "content"), t, &s))
                return BENCH_ENOMEM;
            if (!s.p)
                continue;
            const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
            t->m[t->n++] = (msg_text){cJSON_IsString(role) ? role->valuestring : "", s};
        }
    } else {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "prompt");
        if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 1)
            p = cJSON_GetArrayItem(p, 0);
        if (!cJSON_IsString(p))
            return BENCH_OK;
        t->m = calloc(1, sizeof *t->m);
        if (!t->m)
            return BENCH_ENOMEM;
        t->m[t->n++] = (msg_text){"", span_of(p->valuestring)};
    }
    uint64_t h = fnv(FNV_OFFSET, chat ? "chat" : "completions", chat ? 4 : 11);
    for (size_t i = 0; i < t->n; i++) {
        h = fnv(fnv_sep(h), t->m[i].role, strlen(t->m[i].role));
        h = fnv(fnv_sep(h), t->m[i].text.p, t->m[i].text.n);
    }
    t->hash = h;
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(root, "seed");
    if (cJSON_IsNumber(seed)) {
        t->has_seed = 1;
        t->seed = seed->valuedouble;
    }
    const cJSON *temp = cJSON_GetObjectItemCaseSensitive(root, "temperature");
    t->temperature = cJSON_IsNumber(temp) ? temp->valuedouble : 1.0; /* OpenAI's default */
    return BENCH_OK;
}

/* The draws for one recognised request: from (seed, model, text, its seed
 * and temperature) and, when sampling (temperature > 0) without a request
 * seed, how many identical requests came before. */
static bench_status req_rng(simeval *e, const req_text *t, rng *r)
{
    uint64_t key = mix64(t->hash ^ mix64(t->has_seed ? double_bits(t->seed) ^ 0x5eedULL : 0) ^
                         mix64(double_bits(t->temperature) + 0x7e3aULL));
    uint64_t occ = 0;
    if (!t->has_seed && !(t->temperature <= 0) && seen_bump(e, key, &occ))
        return BENCH_ENOMEM;
    rng_seed(r, e->seed ^ SIMEVAL_SALT, mix64(e->model_hash ^ mix64(key ^ mix64(occ + 1))));
    return BENCH_OK;
}

/* ------------------------------------------------------------------------
 * Recognition. */

/* The MMLU 5-shot item of text: the header names the subject, the last
 * question block is the item. */
static const mmlu_row *find_5shot(const simeval *e, span text)
{
    size_t pl = sizeof mmlu_5shot_prefix - 1;
    if (text.n < pl || memcmp(text.p, mmlu_5shot_prefix, pl) != 0)
        return NULL;
    const char *subj = text.p + pl;
    const char *hdr_end = strstr(subj, ".\n\n");
    if (!hdr_end || memchr(subj, '\n', (size_t)(hdr_end - subj)))
        return NULL;
    span subject = {subj, (size_t)(hdr_end - subj)};
    span t = text;
    while (t.n > 0 && is_ws(t.p[t.n - 1]))
        t.n--;
    static const char tail[] = "\nAnswer:";
    if (t.n < sizeof tail - 1 || memcmp(t.p + t.n - (sizeof tail - 1), tail, sizeof tail - 1))
        return NULL;
    const char *end = t.p + t.n - (sizeof tail - 1);
    static const char *const marks[4] = {"\nA. ", "\nB. ", "\nC. ", "\nD. "};
    const char *at[4];
    const char *lim = end;
    for (int c = 3; c >= 0; c--) {
        at[c] = mem_rfind(text.p, (size_t)(lim - text.p), marks[c]);
        if (!at[c] || at[c] < hdr_end)
            return NULL;
        lim = at[c];
    }
    span ch[4];
    for (int c = 0; c < 4; c++) {
        const char *from = at[c] + 4, *to = c < 3 ? at[c + 1] : end;
        ch[c] = trim((span){from, (size_t)(to - from)});
    }
    /* The question starts after a blank line: the last one before "A. "
     * unless the question itself holds blank lines, so try each. */
    const char *q_end = at[0];
    const char *lo = hdr_end + 1; /* the header's "\n\n" */
    size_t n = (size_t)(q_end - lo);
    while (n >= 2) {
        const char *bl = mem_rfind(lo, n, "\n\n");
        if (!bl)
            break;
        span q = trim((span){bl + 2, (size_t)(q_end - (bl + 2))});
        const mmlu_row *row = mmlu_find(e, &subject, q, ch);
        if (row)
            return row;
        n = (size_t)(bl - lo) + 1; /* overlapping "\n\n\n" */
        if (bl == lo)
            break;
    }
    return NULL;
}

/* The MMLU item of a simple-evals 0-shot chain-of-thought prompt: the
 * instructions, a blank line, the question, a blank line, "A) ..." to "D) ...". */
static const mmlu_row *find_cot(const simeval *e, span text, int *is_cot)
{
    size_t pl = sizeof mmlu_cot_prefix - 1;
    *is_cot = 0;
    if (text.n < pl || memcmp(text.p, mmlu_cot_prefix, pl) != 0)
        return NULL;
    const char *blank = strstr(text.p + pl, "\n\n");
    if (!blank)
        return NULL;
    *is_cot = 1;
    span t = text;
    while (t.n > 0 && is_ws(t.p[t.n - 1]))
        t.n--;
    static const char *const marks[4] = {"\nA) ", "\nB) ", "\nC) ", "\nD) "};
    const char *at[4];
    const char *lim = t.p + t.n;
    for (int c = 3; c >= 0; c--) {
        at[c] = mem_rfind(text.p, (size_t)(lim - text.p), marks[c]);
        if (!at[c] || at[c] < blank)
            return NULL;
        lim = at[c];
    }
    span ch[4];
    for (int c = 0; c < 4; c++) {
        const char *from = at[c] + 4, *to = c < 3 ? at[c + 1] : t.p + t.n;
        ch[c] = trim((span){from, (size_t)(to - from)});
    }
    span q = trim((span){blank + 2, (size_t)(at[0] - (blank + 2))});
    return mmlu_find(e, NULL, q, ch);
}

/* HumanEval problem index whose prompt is text (completions) or occurs in
 * it (chat; the longest such prompt); -1 when none. */
static long find_humaneval(const simeval *e, span text, int exact)
{
    if (exact) {
        span p = text;
        while (p.n > 0 && is_ws(p.p[p.n - 1]))
            p.n--;
        uint64_t h = nonzero(mix64(fnv(FNV_OFFSET, p.p, p.n)));
        for (size_t i = h & e->hmask; e->hslots[i].h; i = (i + 1) & e->hmask) {
            size_t k = e->hslots[i].idx;
            if (e->hslots[i].h == h && e->he_len[k] == p.n &&
                memcmp(e->he[k].prompt, p.p, p.n) == 0)
                return (long)k;
        }
        return -1;
    }
    long best = -1;
    for (size_t k = 0; k < e->nhe; k++)
        if (e->he_len[k] > 0 && (best < 0 || e->he_len[k] > e->he_len[best]) &&
            memmem(text.p, text.n, e->he[k].prompt, e->he_len[k]))
            best = (long)k;
    return best;
}

/* The MT-Bench figure to play for the first answer marked "[simulated
 * answer by NAME]" in text[0..n): NAME's sim.mtbench from the catalog, or
 * the played model's own (with --sim-quality applied) when NAME is the
 * played model, unknown, or there is no marker. */
static double judged_score(const simeval *e, const char *text, size_t n)
{
    const char *m = memmem(text, n, SIMEVAL_ANSWER_MARK, sizeof SIMEVAL_ANSWER_MARK - 1);
    if (!m)
        return e->q.mtbench;
    m += sizeof SIMEVAL_ANSWER_MARK - 1;
    size_t left = n - (size_t)(m - text), k = 0;
    while (k < left && k < SIMEVAL_NAME_MAX && m[k] != ']' && m[k] != '\n')
        k++;
    if (k == 0 || k >= left || k >= SIMEVAL_NAME_MAX || m[k] != ']')
        return e->q.mtbench;
    char name[SIMEVAL_NAME_MAX];
    memcpy(name, m, k);
    name[k] = '\0';
    if (strcmp(name, e->model->name) == 0)
        return e->q.mtbench;
    const catalog_model *cm = e->cat ? catalog_find(e->cat, name) : NULL;
    if (!cm || isnan(cm->sim.mtbench))
        return e->q.mtbench;
    return cm->sim.mtbench;
}

/* ------------------------------------------------------------------------
 * Replies. */

static bench_status script_judge(const simeval *e, const char *all, rng *r, dynbuf *out)
{
    /* Pairwise prompts ask for [[A]], [[B]] or [[C]]: the answers before
     * assistant B's section are A's. */
    size_t n = strlen(all);
    if (strstr(all, "[[A]]") && strstr(all, "[[B]]")) {
        const char *b = strstr(all, "The Start of Assistant B");
        size_t na = b ? (size_t)(b - all) : n;
        double sa = judged_score(e, all, na);
        double sb = b ? judged_score(e, b, n - na) : e->q.mtbench;
        const char *v = "C";
        if (rng_uniform(r) >= 0.2)
            v = rng_uniform(r) < 1.0 / (1.0 + exp(-1.5 * (sa - sb))) ? "A" : "B";
        return dynbuf_addf(out,
                           "[simulated judge] Both assistants address the question; weighing "
                           "helpfulness and accuracy, the verdict follows. [[%s]]",
                           v);
    }
    double s = judged_score(e, all, n);
    if (s < 1)
        s = 1;
    if (s > 10)
        s = 10;
    int rating = (int)floor(s);
    if (rng_uniform(r) < s - floor(s))
        rating++;
    /* Symmetric noise only where both neighbours are ratings: the mean stays s. */
    double u = rng_uniform(r);
    if (rating >= 2 && rating <= 9) {
        if (u < 0.2)
            rating--;
        else if (u < 0.4)
            rating++;
    }
    const char *why = rating >= 8   ? "The response is accurate, relevant and well organised."
                      : rating >= 5 ? "The response is relevant but lacks depth in places."
                                    : "The response misses important parts of the question.";
    return dynbuf_addf(out, "[simulated judge] %s Rating: [[%d]]", why, rating);
}

/* Pick the MMLU letter: right with probability p (row known), else one of
 * the three others; a uniform letter for an unknown item. Then the letters'
 * logprobs: the chosen one highest. */
static void pick_letter(const simeval *e, const mmlu_row *row, rng *r, simeval_reply *out)
{
    double p = e->q.mmlu / 100.0;
    if (row) {
        int right = row->answer - 'A';
        out->correct = rng_uniform(r) < p;
        int wrong = (right + 1 + (int)rng_below(r, 3)) % 4;
        out->letter = (char)('A' + (out->correct ? right : wrong));
    } else {
        out->correct = -1;
        out->letter = (char)('A' + rng_below(r, 4));
    }
    double pc = 0.70 + 0.25 * rng_uniform(r), rest = 1.0 - pc;
    static const double w[3] = {0.5, 0.3, 0.2};
    int order = (int)rng_below(r, 6); /* which permutation of w the other letters get */
    static const int perm[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                   {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    int j = 0;
    for (int c = 0; c < 4; c++) {
        if (c == out->letter - 'A')
            out->lp[c] = log(pc);
        else
            out->lp[c] = log(0.9 * rest * w[perm[order][j++]]);
    }
}

static bench_status script_humaneval(const simeval *e, long k, int chat, rng *r, dynbuf *out,
                                     simeval_reply *rep)
{
    const humaneval_problem *hp = &e->he[k];
    rep->correct = rng_uniform(r) < e->q.humaneval / 100.0;
    const char *body = rep->correct ? hp->canonical_solution : humaneval_wrong_body;
    if (!chat)
        return dynbuf_adds(out, body);
    bench_status st;
    if ((st = dynbuf_adds(out, "```python\n")) || (st = dynbuf_adds(out, hp->prompt)) ||
        (st = dynbuf_adds(out, body)))
        return st;
    if (out->len > 0 && out->p[out->len - 1] != '\n' && (st = dynbuf_adds(out, "\n")))
        return st;
    return dynbuf_adds(out, "```\n");
}

static void parse_options(const cJSON *root, int chat, simeval_reply *out, bench_status *st)
{
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(root, "stop");
    int nstop = cJSON_IsString(stop) ? 1 : cJSON_IsArray(stop) ? cJSON_GetArraySize(stop) : 0;
    for (int i = 0; i < nstop && out->nstop < SIMEVAL_MAX_STOP; i++) {
        const cJSON *s = cJSON_IsString(stop) ? stop : cJSON_GetArrayItem(stop, i);
        if (!cJSON_IsString(s) || !*s->valuestring)
            continue;
        if (!(out->stop[out->nstop] = strdup(s->valuestring))) {
            *st = BENCH_ENOMEM;
            return;
        }
        out->nstop++;
    }
    const cJSON *lp = cJSON_GetObjectItemCaseSensitive(root, "logprobs");
    double n = -1;
    if (chat && cJSON_IsTrue(lp)) {
        const cJSON *top = cJSON_GetObjectItemCaseSensitive(root, "top_logprobs");
        n = cJSON_IsNumber(top) ? top->valuedouble : 0;
    } else if (!chat && cJSON_IsNumber(lp)) {
        n = lp->valuedouble;
    }
    if (n >= 0)
        out->logprobs = n > SIMEVAL_MAX_TOP ? SIMEVAL_MAX_TOP : (int)n;
}

bench_status simeval_respond(simeval *e, const cJSON *root, int chat, simeval_reply *out,
                             bench_err *err)
{
    bench_status st = BENCH_OK;
    req_text t;
    dynbuf text, all;
    rng r;
    memset(out, 0, sizeof *out);
    out->logprobs = -1;
    dynbuf_init(&text, SIMEVAL_TEXT_MAX);
    dynbuf_init(&all, SIMEVAL_TEXT_MAX);
    memset(&t, 0, sizeof t);
    parse_options(root, chat, out, &st);
    if (st || (st = req_text_get(root, chat, &t)))
        goto out;
    if (t.n == 0)
        goto out;

    /* 1. An MT-Bench judge prompt, anywhere in the messages. */
    int judge = 0;
    for (size_t i = 0; i < t.n && !judge; i++)
        judge = memmem(t.m[i].text.p, t.m[i].text.n, SIMEVAL_JUDGE_MARK,
                       sizeof SIMEVAL_JUDGE_MARK - 1) != NULL;
    if (judge) {
        for (size_t i = 0; i < t.n; i++)
            if ((i && (st = dynbuf_adds(&all, "\n\n"))) ||
                (st = dynbuf_add(&all, t.m[i].text.p, t.m[i].text.n)))
                goto out;
        if ((st = req_rng(e, &t, &r)) || (st = script_judge(e, all.p ? all.p : "", &r, &text)))
            goto out;
        out->kind = SIMEVAL_JUDGE;
        goto done;
    }
    /* 2, 3. MMLU, 5-shot or 0-shot chain of thought: a message (or the
     * prompt) that starts with the template. */
    for (size_t i = 0; i < t.n; i++) {
        int is_cot = 0;
        const mmlu_row *row = find_5shot(e, t.m[i].text);
        int five =
            row || (t.m[i].text.n >= sizeof mmlu_5shot_prefix - 1 &&
                    memcmp(t.m[i].text.p, mmlu_5shot_prefix, sizeof mmlu_5shot_prefix - 1) == 0);
        if (!five)
            row = find_cot(e, t.m[i].text, &is_cot);
        if (!five && !is_cot)
            continue;
        if ((st = req_rng(e, &t, &r)))
            goto out;
        pick_letter(e, row, &r, out);
        if (five) {
            out->kind = SIMEVAL_MMLU;
            st = dynbuf_addf(&text, "%s%c", chat ? "" : " ", out->letter);
        } else {
            out->kind = SIMEVAL_MMLU_COT;
            st = dynbuf_addf(&text,
                             "[simulated] Let me think step by step. Weighing each option "
                             "against the question, option %c fits best.\nAnswer: %c",
                             out->letter, out->letter);
        }
        if (st)
            goto out;
        goto done;
    }
    /* 4. HumanEval: the prompt itself (completions) or inside a message. */
    for (size_t i = 0; i < t.n; i++) {
        long k = find_humaneval(e, t.m[i].text, !chat);
        if (k < 0)
            continue;
        if ((st = req_rng(e, &t, &r)) || (st = script_humaneval(e, k, chat, &r, &text, out)))
            goto out;
        out->kind = SIMEVAL_HUMANEVAL;
        goto done;
    }
    goto out; /* 5. anything else: the caller's filler */
done:
    if (!(out->text = dynbuf_steal(&text)))
        st = BENCH_ENOMEM;
out:
    if (st == BENCH_ENOMEM || st == BENCH_ETOOBIG) {
        st = bench_fail(err, BENCH_ENOMEM, "simulator: out of memory scripting a reply");
        out->kind = SIMEVAL_NONE;
    }
    dynbuf_free(&text);
    dynbuf_free(&all);
    req_text_free(&t);
    return st;
}

void simeval_reply_free(simeval_reply *r)
{
    for (size_t i = 0; i < r->nstop; i++)
        free(r->stop[i]);
    free(r->text);
    memset(r, 0, sizeof *r);
    r->logprobs = -1;
}

size_t simeval_stop_cut(const simeval_reply *r, const char *text, size_t len)
{
    size_t cut = len;
    for (size_t i = 0; i < r->nstop; i++) {
        const char *at = memmem(text, len, r->stop[i], strlen(r->stop[i]));
        if (at && (size_t)(at - text) < cut)
            cut = (size_t)(at - text);
    }
    return cut;
}

/* ------------------------------------------------------------------------
 * Logprobs. */

static bench_status add_json_str(dynbuf *b, const char *s)
{
    bench_status st = dynbuf_adds(b, "\"");
    for (; !st && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            st = dynbuf_addf(b, "\\%c", c);
        else if (c == '\n')
            st = dynbuf_adds(b, "\\n");
        else if (c < 0x20)
            st = dynbuf_addf(b, "\\u%04x", c);
        else
            st = dynbuf_add(b, s, 1);
    }
    return st ? st : dynbuf_adds(b, "\"");
}

static bench_status add_bytes(dynbuf *b, const char *s)
{
    bench_status st = dynbuf_adds(b, "[");
    for (size_t i = 0; !st && s[i]; i++)
        st = dynbuf_addf(b, "%s%u", i ? "," : "", (unsigned)(unsigned char)s[i]);
    return st ? st : dynbuf_adds(b, "]");
}

bench_status simeval_logprobs_json(const simeval_reply *r, int chat, dynbuf *out)
{
    if (r->kind != SIMEVAL_MMLU || r->logprobs < 0)
        return dynbuf_adds(out, "null");
    /* Tokens less likely than any letter, for top_logprobs beyond 4. */
    static const char *const fill[] = {"\n",   "The", "Answer", "(",      ":", "I", "It", "This",
                                       "None", "All", "Both",   "Option", "E", "a", "is", "-"};
    enum { NFILL = sizeof fill / sizeof fill[0] };
    const char *tok[4 + NFILL];
    char tokbuf[4 + NFILL][16];
    double lp[4 + NFILL];
    int ord[4] = {0, 1, 2, 3};
    for (int i = 0; i < 4; i++) /* letters by descending logprob */
        for (int j = i + 1; j < 4; j++)
            if (r->lp[ord[j]] > r->lp[ord[i]]) {
                int x = ord[i];
                ord[i] = ord[j];
                ord[j] = x;
            }
    double floor_p = 1.0 - exp(r->lp[ord[0]]); /* what the letters other than the pick leave */
    for (int i = 0; i < 4 + NFILL; i++) {
        if (i < 4) {
            snprintf(tokbuf[i], sizeof tokbuf[i], "%s%c", chat ? "" : " ", 'A' + ord[i]);
            lp[i] = r->lp[ord[i]];
        } else {
            const char *f = fill[i - 4];
            snprintf(tokbuf[i], sizeof tokbuf[i], "%s%s", chat || f[0] == '\n' ? "" : " ", f);
            lp[i] = log(0.1 * floor_p * ldexp(1.0, -(i - 3)));
        }
        tok[i] = tokbuf[i];
    }
    int n = r->logprobs < 4 + NFILL ? r->logprobs : 4 + NFILL;
    const char *pick = tok[0];
    bench_status st;
    if (chat) {
        if ((st = dynbuf_adds(out, "{\"content\":[{\"token\":")) ||
            (st = add_json_str(out, pick)) ||
            (st = dynbuf_addf(out, ",\"logprob\":%.6f,\"bytes\":", lp[0])) ||
            (st = add_bytes(out, pick)) || (st = dynbuf_adds(out, ",\"top_logprobs\":[")))
            return st;
        for (int i = 0; i < n; i++)
            if ((st = dynbuf_adds(out, i ? ",{\"token\":" : "{\"token\":")) ||
                (st = add_json_str(out, tok[i])) ||
                (st = dynbuf_addf(out, ",\"logprob\":%.6f,\"bytes\":", lp[i])) ||
                (st = add_bytes(out, tok[i])) || (st = dynbuf_adds(out, "}")))
                return st;
        return dynbuf_adds(out, "]}]}");
    }
    if ((st = dynbuf_adds(out, "{\"tokens\":[")) || (st = add_json_str(out, pick)) ||
        (st = dynbuf_addf(out, "],\"token_logprobs\":[%.6f],\"top_logprobs\":[{", lp[0])))
        return st;
    for (int i = 0; i < n; i++)
        if ((i && (st = dynbuf_adds(out, ","))) || (st = add_json_str(out, tok[i])) ||
            (st = dynbuf_addf(out, ":%.6f", lp[i])))
            return st;
    return dynbuf_adds(out, "}],\"text_offset\":[0]}");
}

/* ------------------------------------------------------------------------
 * Pieces. */

static int is_word(unsigned char c)
{
    return isalnum(c) || c == '_' || c >= 0x80;
}

size_t simeval_piece_end(const char *text, size_t len, size_t pos)
{
    size_t i = pos;
    while (i < len && is_ws(text[i]))
        i++;
    if (i == len)
        return len;
    if (is_word((unsigned char)text[i])) {
        while (i < len && is_word((unsigned char)text[i]))
            i++;
        return i;
    }
    size_t start = i;
    while (i < len && i - start < 4 && !is_ws(text[i]) && !is_word((unsigned char)text[i]))
        i++;
    return i;
}
