#include "mtbench.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

#define JSONL_MAX (64u << 20)

/* ---- JSONL ---- */

typedef bench_status (*line_fn)(const cJSON *obj, const char *file, int line, void *ctx,
                                bench_err *err);

/* Call fn for every non-blank line of text[0, len) (NUL-terminated at len),
 * parsed as a JSON object; origin names the file in messages. */
static bench_status each_line(const char *text, size_t len, const char *origin, line_fn fn,
                              void *ctx, bench_err *err)
{
    bench_status st = BENCH_OK;
    int line = 0;
    for (size_t pos = 0; !st && pos < len;) {
        const char *p = text + pos;
        const char *nl = memchr(p, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - p) : len - pos;
        pos += n + (nl != NULL);
        line++;
        size_t m = n;
        while (m > 0 && (p[m - 1] == '\r' || p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
        if (m == 0)
            continue;
        cJSON *o = cJSON_ParseWithLength(p, m);
        if (!cJSON_IsObject(o))
            st = bench_fail(err, BENCH_EINPUT, "%s:%d: not a JSON object", origin, line);
        else
            st = fn(o, origin, line, ctx, err);
        cJSON_Delete(o);
    }
    return st;
}

static const char *str_field(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Exactly two string turns from arr into out[0..1] (strdup'ed). */
static bench_status two_turns(const cJSON *arr, char *out[2], const char *file, int line,
                              bench_err *err)
{
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != 2)
        return bench_fail(err, BENCH_EINPUT, "%s:%d: \"turns\" must be an array of 2 strings", file,
                          line);
    for (int i = 0; i < 2; i++) {
        const cJSON *t = cJSON_GetArrayItem(arr, i);
        if (!cJSON_IsString(t))
            return bench_fail(err, BENCH_EINPUT, "%s:%d: \"turns\"[%d] is not a string", file, line,
                              i);
        if (!(out[i] = strdup(t->valuestring)))
            return bench_fail(err, BENCH_ENOMEM, "%s:%d: out of memory", file, line);
    }
    return BENCH_OK;
}

static int get_id(const cJSON *o, int *id)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "question_id");
    /* in range before the cast: converting a double outside int's range is
     * undefined (found by fuzz/fuzz_jsonl) */
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= INT_MIN && v->valuedouble <= INT_MAX) ||
        v->valuedouble != (double)(int)v->valuedouble)
        return 0;
    *id = (int)v->valuedouble;
    return 1;
}

/* ---- loading ---- */

static mtbench_question *find_q(const mtbench_set *s, int id)
{
    for (size_t i = 0; i < s->nq; i++)
        if (s->q[i].id == id)
            return &s->q[i];
    return NULL;
}

static bench_status on_question(const cJSON *o, const char *file, int line, void *ctx,
                                bench_err *err)
{
    mtbench_set *s = ctx;
    int id;
    if (!get_id(o, &id))
        return bench_fail(err, BENCH_EINPUT, "%s:%d: no integer \"question_id\"", file, line);
    if (find_q(s, id))
        return bench_fail(err, BENCH_EINPUT, "%s:%d: question_id %d appears twice", file, line, id);
    const char *cat = str_field(o, "category");
    if (!cat || !*cat)
        return bench_fail(err, BENCH_EINPUT, "%s:%d: question %d has no \"category\"", file, line,
                          id);
    mtbench_question *nq = realloc(s->q, (s->nq + 1) * sizeof *nq);
    if (!nq)
        return bench_fail(err, BENCH_ENOMEM, "%s:%d: out of memory", file, line);
    s->q = nq;
    mtbench_question *q = &s->q[s->nq++];
    memset(q, 0, sizeof *q);
    q->id = id;
    if (!(q->category = strdup(cat)))
        return bench_fail(err, BENCH_ENOMEM, "%s:%d: out of memory", file, line);
    return two_turns(cJSON_GetObjectItemCaseSensitive(o, "turns"), q->turns, file, line, err);
}

static bench_status on_reference(const cJSON *o, const char *file, int line, void *ctx,
                                 bench_err *err)
{
    mtbench_set *s = ctx;
    int id;
    if (!get_id(o, &id))
        return bench_fail(err, BENCH_EINPUT, "%s:%d: no integer \"question_id\"", file, line);
    mtbench_question *q = find_q(s, id);
    if (!q)
        return bench_fail(err, BENCH_EINPUT, "%s:%d: question_id %d is not a question", file, line,
                          id);
    if (q->ref[0])
        return bench_fail(err, BENCH_EINPUT, "%s:%d: a second reference for question %d", file,
                          line, id);
    const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "choices"), 0);
    if (!cJSON_IsObject(ch))
        return bench_fail(err, BENCH_EINPUT, "%s:%d: no \"choices\"[0] object", file, line);
    return two_turns(cJSON_GetObjectItemCaseSensitive(ch, "turns"), q->ref, file, line, err);
}

static bench_status on_judge(const cJSON *o, const char *file, int line, void *ctx, bench_err *err)
{
    static const char *const keys[] = {"name", "system_prompt", "prompt_template", "output_format"};
    mtbench_set *s = ctx;
    const char *v[4];
    for (int i = 0; i < 4; i++)
        if (!(v[i] = str_field(o, keys[i])))
            return bench_fail(err, BENCH_EINPUT, "%s:%d: no \"%s\" string", file, line, keys[i]);
    for (size_t i = 0; i < s->njudge; i++)
        if (strcmp(s->judge[i].name, v[0]) == 0)
            return bench_fail(err, BENCH_EINPUT, "%s:%d: judge prompt '%s' appears twice", file,
                              line, v[0]);
    mtbench_judge_prompt *nj = realloc(s->judge, (s->njudge + 1) * sizeof *nj);
    if (!nj)
        return bench_fail(err, BENCH_ENOMEM, "%s:%d: out of memory", file, line);
    s->judge = nj;
    mtbench_judge_prompt *j = &s->judge[s->njudge++];
    char **dst[4] = {&j->name, &j->system_prompt, &j->prompt_template, &j->output_format};
    memset(j, 0, sizeof *j);
    for (int i = 0; i < 4; i++)
        if (!(*dst[i] = strdup(v[i])))
            return bench_fail(err, BENCH_ENOMEM, "%s:%d: out of memory", file, line);
    return BENCH_OK;
}

void mtbench_free(mtbench_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nq; i++) {
        free(s->q[i].category);
        for (int t = 0; t < 2; t++) {
            free(s->q[i].turns[t]);
            free(s->q[i].ref[t]);
        }
    }
    for (size_t i = 0; i < s->njudge; i++) {
        free(s->judge[i].name);
        free(s->judge[i].system_prompt);
        free(s->judge[i].prompt_template);
        free(s->judge[i].output_format);
    }
    free(s->q);
    free(s->judge);
    free(s);
}

static const line_fn part_fns[3] = {on_question, on_judge, on_reference};

/* Parse file i (0 questions, 1 judge prompts, 2 reference answers) into s. */
static bench_status parse_part(int i, const char *text, size_t len, const char *origin,
                               mtbench_set *s, bench_err *err)
{
    bench_status st = each_line(text, len, origin, part_fns[i], s, err);
    if (!st && i == 0 && s->nq == 0)
        st = bench_fail(err, BENCH_EINPUT, "%s: no questions", origin);
    if (!st && i == 1 && s->njudge == 0)
        st = bench_fail(err, BENCH_EINPUT, "%s: no judge prompts", origin);
    return st;
}

bench_status mtbench_load(const char *data_dir, mtbench_set **out, bench_err *err)
{
    static const char *const files[3] = {"mt_bench/question.jsonl", "mt_bench/judge_prompts.jsonl",
                                         "mt_bench/reference_answer/gpt-4.jsonl"};
    bench_status st = BENCH_OK;
    *out = NULL;
    mtbench_set *s = calloc(1, sizeof *s);
    if (!s)
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    for (int i = 0; !st && i < 3; i++) {
        char path[PATH_MAX], *text = NULL;
        size_t len = 0;
        if (snprintf(path, sizeof path, "%s/%s", data_dir, files[i]) >= (int)sizeof path) {
            st = bench_fail(err, BENCH_EUSAGE, "%s/%s: path too long", data_dir, files[i]);
            break;
        }
        st = file_read_all(path, JSONL_MAX, &text, &len, err);
        if (!st)
            st = parse_part(i, text, len, path, s, err);
        free(text);
    }
    if (st) {
        mtbench_free(s);
        return st;
    }
    *out = s;
    return BENCH_OK;
}

bench_status mtbench_parse(const char *const text[3], const size_t len[3],
                           const char *const origin[3], mtbench_set **out, bench_err *err)
{
    bench_status st = BENCH_OK;
    *out = NULL;
    mtbench_set *s = calloc(1, sizeof *s);
    if (!s)
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    for (int i = 0; !st && i < 3; i++) {
        /* each_line wants the terminating NUL file_read_all gives */
        char *copy = malloc(len[i] + 1);
        if (!copy) {
            st = bench_fail(err, BENCH_ENOMEM, "%s: out of memory", origin[i]);
            break;
        }
        if (len[i])
            memcpy(copy, text[i], len[i]);
        copy[len[i]] = '\0';
        st = parse_part(i, copy, len[i], origin[i], s, err);
        free(copy);
    }
    if (st) {
        mtbench_free(s);
        return st;
    }
    *out = s;
    return BENCH_OK;
}

/* ---- generation settings ---- */

static const struct {
    const char *category;
    double temperature;
} temps[] = {
    {"writing", 0.7}, {"roleplay", 0.7},  {"extraction", 0.0}, {"math", 0.0},
    {"coding", 0.0},  {"reasoning", 0.0}, {"stem", 0.1},       {"humanities", 0.1},
};

double mtbench_temperature(const char *category)
{
    for (size_t i = 0; category && i < sizeof temps / sizeof *temps; i++)
        if (strcmp(temps[i].category, category) == 0)
            return temps[i].temperature;
    return 0.7;
}

int mtbench_needs_ref(const char *category)
{
    return category && (strcmp(category, "math") == 0 || strcmp(category, "reasoning") == 0 ||
                        strcmp(category, "coding") == 0);
}

/* ---- judge messages ---- */

typedef struct {
    const char *key;
    const char *value;
} placeholder;

/* Python's str.format on the template with keyword arguments only: {name} is
 * replaced, {{ and }} stand for single braces, and the values are inserted
 * as they are (never re-scanned). */
static bench_status format_template(const char *name, const char *tpl, const placeholder *ph,
                                    size_t nph, dynbuf *out, bench_err *err)
{
    bench_status st = BENCH_OK;
    const char *p = tpl;
    while (!st && *p) {
        size_t lit = strcspn(p, "{}");
        st = dynbuf_add(out, p, lit);
        p += lit;
        if (st || !*p)
            break;
        if (p[0] == p[1]) { /* {{ or }} */
            st = dynbuf_add(out, p, 1);
            p += 2;
            continue;
        }
        if (*p == '}')
            return bench_fail(err, BENCH_EINPUT, "judge prompt '%s': single '}' in its template",
                              name);
        const char *end = strchr(p + 1, '}');
        if (!end)
            return bench_fail(err, BENCH_EINPUT, "judge prompt '%s': unclosed '{' in its template",
                              name);
        size_t klen = (size_t)(end - p - 1);
        const char *value = NULL;
        for (size_t i = 0; i < nph && !value; i++)
            if (strlen(ph[i].key) == klen && memcmp(ph[i].key, p + 1, klen) == 0)
                value = ph[i].value;
        if (!value)
            return bench_fail(err, BENCH_EINPUT,
                              "judge prompt '%s': placeholder {%.*s} has no value here", name,
                              (int)klen, p + 1);
        st = dynbuf_adds(out, value);
        p = end + 1;
    }
    if (st == BENCH_ETOOBIG)
        return bench_fail(err, st,
                          "judge prompt '%s': the message exceeds the buffer's %zu-byte cap", name,
                          out->max);
    return st ? bench_fail(err, st, "judge prompt '%s': out of memory", name) : BENCH_OK;
}

bench_status mtbench_judge_messages(const mtbench_set *set, const mtbench_question *q, int turn,
                                    const char *const answers[2], const char **system, dynbuf *user,
                                    const char **prompt_name, bench_err *err)
{
    if (turn != 1 && turn != 2)
        return bench_fail(err, BENCH_EUSAGE, "MT-Bench question %d: turn %d (expected 1 or 2)",
                          q->id, turn);
    for (int t = 0; t < turn; t++)
        if (!answers || !answers[t])
            return bench_fail(err, BENCH_EUSAGE, "MT-Bench question %d: no answer for turn %d",
                              q->id, t + 1);
    int ref = mtbench_needs_ref(q->category) && q->ref[0] && (turn == 1 || q->ref[1]);
    const char *want = turn == 1 ? (ref ? "single-math-v1" : "single-v1")
                                 : (ref ? "single-math-v1-multi-turn" : "single-v1-multi-turn");
    const mtbench_judge_prompt *jp = NULL;
    for (size_t i = 0; i < set->njudge && !jp; i++)
        if (strcmp(set->judge[i].name, want) == 0)
            jp = &set->judge[i];
    if (!jp)
        return bench_fail(err, BENCH_EINPUT, "MT-Bench: no judge prompt named '%s'", want);
    placeholder ph[6];
    size_t n = 0;
    if (turn == 1) {
        ph[n++] = (placeholder){"question", q->turns[0]};
        ph[n++] = (placeholder){"answer", answers[0]};
        if (ref)
            ph[n++] = (placeholder){"ref_answer_1", q->ref[0]};
    } else {
        ph[n++] = (placeholder){"question_1", q->turns[0]};
        ph[n++] = (placeholder){"question_2", q->turns[1]};
        ph[n++] = (placeholder){"answer_1", answers[0]};
        ph[n++] = (placeholder){"answer_2", answers[1]};
        if (ref) {
            ph[n++] = (placeholder){"ref_answer_1", q->ref[0]};
            ph[n++] = (placeholder){"ref_answer_2", q->ref[1]};
        }
    }
    bench_status st = format_template(jp->name, jp->prompt_template, ph, n, user, err);
    if (st)
        return bench_wrap(err, st, "MT-Bench question %d turn %d", q->id, turn);
    *system = jp->system_prompt;
    if (prompt_name)
        *prompt_name = jp->name;
    return BENCH_OK;
}

/* ---- rating ---- */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Match (\d+\.?\d*) then `close` closing brackets at text[i..]; the number's
 * span is [i, *num_end). Greedy matching is exact here: a shorter \d+ or \d*
 * would leave a digit, not ']', in front of the closing brackets. */
static int match_number(const char *t, size_t len, size_t i, int close, size_t *num_end)
{
    size_t j = i;
    while (j < len && is_digit(t[j]))
        j++;
    if (j == i)
        return 0;
    if (j < len && t[j] == '.') {
        j++;
        while (j < len && is_digit(t[j]))
            j++;
    }
    *num_end = j;
    for (int k = 0; k < close; k++, j++)
        if (j >= len || t[j] != ']')
            return 0;
    return 1;
}

static double search_rating(const char *t, size_t len, int brackets)
{
    for (size_t i = 0; i + (size_t)brackets < len; i++) {
        int k = 0;
        while (k < brackets && t[i + (size_t)k] == '[')
            k++;
        size_t end;
        /* t[end] is ']', inside len, so strtod stops there */
        if (k == brackets && match_number(t, len, i + (size_t)k, brackets, &end))
            return strtod(t + i + (size_t)k, NULL);
    }
    return -2; /* no match */
}

double mtbench_parse_rating(const char *text, size_t len)
{
    double r = search_rating(text, len, 2);
    if (r == -2)
        r = search_rating(text, len, 1);
    return r == -2 ? -1 : r;
}
