#include "mmlu.h"

#include <csv.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

#define CSV_FILE_MAX (64u << 20)

/* ---- subjects and categories (hendrycks/test categories.py) ---- */

typedef struct {
    const char *subject;
    const char *subcategory;
} subject_entry;

/* categories.py `subcategories`, sorted by subject (every list there has one entry). */
static const subject_entry subjects[] = {
    {"abstract_algebra", "math"},
    {"anatomy", "health"},
    {"astronomy", "physics"},
    {"business_ethics", "business"},
    {"clinical_knowledge", "health"},
    {"college_biology", "biology"},
    {"college_chemistry", "chemistry"},
    {"college_computer_science", "computer science"},
    {"college_mathematics", "math"},
    {"college_medicine", "health"},
    {"college_physics", "physics"},
    {"computer_security", "computer science"},
    {"conceptual_physics", "physics"},
    {"econometrics", "economics"},
    {"electrical_engineering", "engineering"},
    {"elementary_mathematics", "math"},
    {"formal_logic", "philosophy"},
    {"global_facts", "other"},
    {"high_school_biology", "biology"},
    {"high_school_chemistry", "chemistry"},
    {"high_school_computer_science", "computer science"},
    {"high_school_european_history", "history"},
    {"high_school_geography", "geography"},
    {"high_school_government_and_politics", "politics"},
    {"high_school_macroeconomics", "economics"},
    {"high_school_mathematics", "math"},
    {"high_school_microeconomics", "economics"},
    {"high_school_physics", "physics"},
    {"high_school_psychology", "psychology"},
    {"high_school_statistics", "math"},
    {"high_school_us_history", "history"},
    {"high_school_world_history", "history"},
    {"human_aging", "health"},
    {"human_sexuality", "culture"},
    {"international_law", "law"},
    {"jurisprudence", "law"},
    {"logical_fallacies", "philosophy"},
    {"machine_learning", "computer science"},
    {"management", "business"},
    {"marketing", "business"},
    {"medical_genetics", "health"},
    {"miscellaneous", "other"},
    {"moral_disputes", "philosophy"},
    {"moral_scenarios", "philosophy"},
    {"nutrition", "health"},
    {"philosophy", "philosophy"},
    {"prehistory", "history"},
    {"professional_accounting", "other"},
    {"professional_law", "law"},
    {"professional_medicine", "health"},
    {"professional_psychology", "psychology"},
    {"public_relations", "politics"},
    {"security_studies", "politics"},
    {"sociology", "culture"},
    {"us_foreign_policy", "politics"},
    {"virology", "health"},
    {"world_religions", "philosophy"},
};

/* categories.py `categories`: subcategory -> category. */
static const struct {
    const char *subcategory;
    mmlu_category category;
} subcategories[] = {
    {"physics", MMLU_STEM},
    {"chemistry", MMLU_STEM},
    {"biology", MMLU_STEM},
    {"computer science", MMLU_STEM},
    {"math", MMLU_STEM},
    {"engineering", MMLU_STEM},
    {"history", MMLU_HUMANITIES},
    {"philosophy", MMLU_HUMANITIES},
    {"law", MMLU_HUMANITIES},
    {"politics", MMLU_SOCIAL_SCIENCES},
    {"culture", MMLU_SOCIAL_SCIENCES},
    {"economics", MMLU_SOCIAL_SCIENCES},
    {"geography", MMLU_SOCIAL_SCIENCES},
    {"psychology", MMLU_SOCIAL_SCIENCES},
    {"other", MMLU_OTHER},
    {"business", MMLU_OTHER},
    {"health", MMLU_OTHER},
};

static int cmp_subject(const void *key, const void *elem)
{
    return strcmp(key, ((const subject_entry *)elem)->subject);
}

int mmlu_subject_category(const char *subject)
{
    const subject_entry *e = bsearch(subject, subjects, sizeof subjects / sizeof *subjects,
                                     sizeof *subjects, cmp_subject);
    if (!e)
        return -1;
    for (size_t i = 0; i < sizeof subcategories / sizeof *subcategories; i++)
        if (strcmp(subcategories[i].subcategory, e->subcategory) == 0)
            return (int)subcategories[i].category;
    return -1;
}

const char *mmlu_category_name(int category)
{
    static const char *const names[MMLU_CATEGORY_COUNT] = {"STEM", "humanities", "social sciences",
                                                           "other"};
    return category >= 0 && category < MMLU_CATEGORY_COUNT ? names[category] : "unknown";
}

/* ---- CSV ---- */

typedef struct {
    const char *origin;
    bench_err *err;
    bench_status st;
    mmlu_row *rows;
    size_t n, cap;
    char *field[6];
    size_t nfield; /* fields seen in the current record (may exceed 6) */
    size_t record; /* 1-based number of the current record */
} csv_state;

static void row_free(mmlu_row *r)
{
    free(r->question);
    for (int i = 0; i < 4; i++)
        free(r->choices[i]);
}

void mmlu_rows_free(mmlu_row *rows, size_t n)
{
    if (!rows)
        return;
    for (size_t i = 0; i < n; i++)
        row_free(&rows[i]);
    free(rows);
}

static void on_field(void *s, size_t len, void *data)
{
    csv_state *c = data;
    if (c->st)
        return;
    if (c->nfield < 6) {
        char *f = malloc(len + 1);
        if (!f) {
            c->st = bench_fail(c->err, BENCH_ENOMEM, "%s: out of memory", c->origin);
            return;
        }
        if (len)
            memcpy(f, s, len);
        f[len] = '\0';
        c->field[c->nfield] = f;
    }
    c->nfield++;
}

static void drop_fields(csv_state *c)
{
    for (size_t i = 0; i < 6 && i < c->nfield; i++) {
        free(c->field[i]);
        c->field[i] = NULL;
    }
    c->nfield = 0;
}

static void on_record(int term, void *data)
{
    (void)term;
    csv_state *c = data;
    if (c->st)
        return;
    c->record++;
    if (c->nfield != 6) {
        c->st = bench_fail(c->err, BENCH_EINPUT,
                           "%s: record %zu: %zu fields, expected 6 (question,A,B,C,D,answer)",
                           c->origin, c->record, c->nfield);
        drop_fields(c);
        return;
    }
    const char *a = c->field[5];
    if (!(a[0] >= 'A' && a[0] <= 'D' && a[1] == '\0')) {
        c->st =
            bench_fail(c->err, BENCH_EINPUT, "%s: record %zu: answer '%.20s' is not A, B, C or D",
                       c->origin, c->record, a);
        drop_fields(c);
        return;
    }
    if (c->n == c->cap) {
        size_t ncap = c->cap ? 2 * c->cap : 64;
        mmlu_row *nr = realloc(c->rows, ncap * sizeof *nr);
        if (!nr) {
            c->st = bench_fail(c->err, BENCH_ENOMEM, "%s: out of memory", c->origin);
            drop_fields(c);
            return;
        }
        c->rows = nr;
        c->cap = ncap;
    }
    mmlu_row *r = &c->rows[c->n++];
    r->question = c->field[0];
    for (int i = 0; i < 4; i++)
        r->choices[i] = c->field[1 + i];
    r->answer = a[0];
    free(c->field[5]);
    memset(c->field, 0, sizeof c->field);
    c->nfield = 0;
}

/* Fields are kept byte for byte: libcsv would otherwise trim spaces and tabs
 * around unquoted fields, which Python's csv module (the reference) keeps. */
static int never_space(unsigned char ch)
{
    (void)ch;
    return 0;
}

bench_status mmlu_parse_csv(const char *data, size_t len, const char *origin, mmlu_row **rows,
                            size_t *nrows, bench_err *err)
{
    struct csv_parser p;
    csv_state c = {.origin = origin, .err = err};
    *rows = NULL;
    *nrows = 0;
    if (csv_init(&p, CSV_STRICT_FINI) != 0)
        return bench_fail(err, BENCH_ENOMEM, "%s: csv_init failed", origin);
    csv_set_space_func(&p, never_space);
    size_t used = csv_parse(&p, data, len, on_field, on_record, &c);
    if (!c.st && used != len)
        c.st = bench_fail(err, BENCH_EINPUT, "%s: record %zu: malformed CSV (%s)", origin,
                          c.record + 1, csv_strerror(csv_error(&p)));
    if (!c.st && csv_fini(&p, on_field, on_record, &c) != 0)
        c.st = bench_fail(err, BENCH_EINPUT, "%s: record %zu: malformed CSV (%s)", origin,
                          c.record + 1, csv_strerror(csv_error(&p)));
    csv_free(&p);
    drop_fields(&c);
    if (!c.st && c.n == 0)
        c.st = bench_fail(err, BENCH_EINPUT, "%s: no records", origin);
    if (c.st) {
        mmlu_rows_free(c.rows, c.n);
        return c.st;
    }
    *rows = c.rows;
    *nrows = c.n;
    return BENCH_OK;
}

/* ---- loading ---- */

static bench_status load_csv(const char *path, mmlu_row **rows, size_t *n, bench_err *err)
{
    char *data = NULL;
    size_t len = 0;
    bench_status st = file_read_all(path, CSV_FILE_MAX, &data, &len, err);
    if (!st)
        st = mmlu_parse_csv(data, len, path, rows, n, err);
    free(data);
    return st;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void mmlu_free(mmlu_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nsubjects; i++) {
        mmlu_subject *sj = &s->subjects[i];
        free(sj->name);
        mmlu_rows_free(sj->dev, sj->ndev);
        mmlu_rows_free(sj->items, sj->nitems);
    }
    free(s->subjects);
    free(s);
}

bench_status mmlu_load(const char *data_dir, const char *split, mmlu_set **out, bench_err *err)
{
    bench_status st = BENCH_OK;
    char dir[PATH_MAX], path[PATH_MAX], suffix[16];
    char **names = NULL;
    size_t nnames = 0, cap = 0;
    DIR *d = NULL;
    mmlu_set *set = NULL;
    *out = NULL;
    if (!split || (strcmp(split, "test") != 0 && strcmp(split, "val") != 0))
        return bench_fail(err, BENCH_EUSAGE, "MMLU split '%s': expected test or val",
                          split ? split : "(null)");
    if (snprintf(dir, sizeof dir, "%s/mmlu/%s", data_dir, split) >= (int)sizeof dir)
        return bench_fail(err, BENCH_EUSAGE, "%s/mmlu/%s: path too long", data_dir, split);
    snprintf(suffix, sizeof suffix, "_%s.csv", split);
    size_t sl = strlen(suffix);
    d = opendir(dir);
    if (!d)
        return bench_fail(err, BENCH_EIO, "%s: cannot open the MMLU directory: %s", dir,
                          strerror(errno));
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l <= sl || strcmp(de->d_name + l - sl, suffix) != 0)
            continue;
        if (nnames == cap) {
            size_t ncap = cap ? 2 * cap : 64;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (!nn) {
                st = bench_fail(err, BENCH_ENOMEM, "%s: out of memory", dir);
                goto out;
            }
            names = nn;
            cap = ncap;
        }
        if (!(names[nnames] = strndup(de->d_name, l - sl))) {
            st = bench_fail(err, BENCH_ENOMEM, "%s: out of memory", dir);
            goto out;
        }
        nnames++;
    }
    if (nnames == 0) {
        st = bench_fail(err, BENCH_EINPUT, "%s: no <subject>%s files", dir, suffix);
        goto out;
    }
    qsort(names, nnames, sizeof *names, cmp_str);
    set = calloc(1, sizeof *set);
    if (set)
        set->subjects = calloc(nnames, sizeof *set->subjects);
    if (!set || !set->subjects) {
        st = bench_fail(err, BENCH_ENOMEM, "%s: out of memory", dir);
        goto out;
    }
    for (size_t i = 0; i < nnames; i++) {
        mmlu_subject *sj = &set->subjects[set->nsubjects];
        sj->name = names[i];
        names[i] = NULL;
        set->nsubjects++;
        sj->category = mmlu_subject_category(sj->name);
        if (sj->category < 0) {
            st = bench_fail(err, BENCH_EINPUT, "%s/%s%s: '%s' is not one of the 57 MMLU subjects",
                            dir, sj->name, suffix, sj->name);
            goto out;
        }
        if (snprintf(path, sizeof path, "%s/%s%s", dir, sj->name, suffix) >= (int)sizeof path) {
            st = bench_fail(err, BENCH_EUSAGE, "%s/%s%s: path too long", dir, sj->name, suffix);
            goto out;
        }
        st = load_csv(path, &sj->items, &sj->nitems, err);
        if (st)
            goto out;
        if (snprintf(path, sizeof path, "%s/mmlu/dev/%s_dev.csv", data_dir, sj->name) >=
            (int)sizeof path) {
            st = bench_fail(err, BENCH_EUSAGE, "%s/mmlu/dev/%s_dev.csv: path too long", data_dir,
                            sj->name);
            goto out;
        }
        st = load_csv(path, &sj->dev, &sj->ndev, err);
        if (st)
            goto out;
        set->nitems += sj->nitems;
    }
    *out = set;
    set = NULL;
out:
    if (d)
        closedir(d);
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    mmlu_free(set);
    return st;
}

/* ---- prompts ---- */

static bench_status add_example(dynbuf *out, const mmlu_row *r, int with_answer)
{
    bench_status st = dynbuf_adds(out, r->question);
    for (int j = 0; !st && j < 4; j++)
        st = dynbuf_addf(out, "\n%c. %s", 'A' + j, r->choices[j]);
    if (!st)
        st = dynbuf_adds(out, "\nAnswer:");
    if (!st && with_answer)
        st = dynbuf_addf(out, " %c\n\n", r->answer);
    return st;
}

static bench_status prompt_fail(bench_status st, const char *what, const dynbuf *out,
                                bench_err *err)
{
    if (st == BENCH_ETOOBIG)
        return bench_fail(err, st, "%s: the prompt exceeds the buffer's %zu-byte cap", what,
                          out->max);
    return bench_fail(err, st, "%s: out of memory", what);
}

bench_status mmlu_prompt(const mmlu_subject *s, const mmlu_row *item, int k, dynbuf *out,
                         bench_err *err)
{
    if (k < 0 || (size_t)k > s->ndev)
        return bench_fail(err, BENCH_EUSAGE, "MMLU %s: %d shots asked, the dev split has %zu",
                          s->name, k, s->ndev);
    bench_status st =
        dynbuf_adds(out, "The following are multiple choice questions (with answers) about ");
    for (const char *p = s->name; !st && *p; p++)
        st = dynbuf_add(out, *p == '_' ? " " : p, 1);
    if (!st)
        st = dynbuf_adds(out, ".\n\n");
    for (int i = 0; !st && i < k; i++)
        st = add_example(out, &s->dev[i], 1);
    if (!st)
        st = add_example(out, item, 0);
    return st ? prompt_fail(st, s->name, out, err) : BENCH_OK;
}

bench_status mmlu_prompt_cot(const mmlu_row *item, dynbuf *out, bench_err *err)
{
    bench_status st = dynbuf_adds(
        out, "Answer the following multiple choice question. The last line of your response "
             "should be of the following format: 'Answer: $LETTER' (without quotes) where LETTER "
             "is one of ABCD. Think step by step before answering.\n\n");
    if (!st)
        st = dynbuf_adds(out, item->question);
    if (!st)
        st = dynbuf_adds(out, "\n\n");
    for (int j = 0; !st && j < 4; j++)
        st = dynbuf_addf(out, "%s%c) %s", j ? "\n" : "", 'A' + j, item->choices[j]);
    return st ? prompt_fail(st, "MMLU chain-of-thought prompt", out, err) : BENCH_OK;
}

/* ---- answer extraction ---- */

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

char mmlu_extract_letter(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && is_ws(text[i]))
        i++;
    if (i < len && text[i] == '(')
        i++;
    if (i >= len || text[i] < 'A' || text[i] > 'D')
        return 0;
    char c = text[i++];
    if (i == len)
        return c;
    char next = text[i];
    return is_ws(next) || next == '.' || next == ')' || next == ':' || next == ',' ? c : 0;
}

static int ieq(char a, char lower)
{
    return a == lower || a == lower - 'a' + 'A';
}

char mmlu_extract_cot(const char *text, size_t len)
{
    static const char word[] = "answer";
    for (size_t i = 0; i + 6 < len; i++) {
        size_t j = 0;
        while (j < 6 && ieq(text[i + j], word[j]))
            j++;
        if (j < 6)
            continue;
        j += i;
        while (j < len && (text[j] == ' ' || text[j] == '\t'))
            j++;
        if (j >= len || text[j] != ':')
            continue;
        j++;
        while (j < len && (text[j] == ' ' || text[j] == '\t'))
            j++;
        if (j < len && text[j] == '$')
            j++;
        if (j < len && ((text[j] >= 'A' && text[j] <= 'D') || (text[j] >= 'a' && text[j] <= 'd')))
            return text[j];
        /* \$? may also match nothing: then the letter would have to be the '$' itself */
    }
    return 0;
}

char mmlu_pick_logprob(const char *const *tokens, const double *logprobs, size_t n)
{
    double best[4];
    int seen[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        const char *t = tokens[i];
        if (!t || isnan(logprobs[i]))
            continue;
        if (t[0] == ' ')
            t++;
        if (t[0] < 'A' || t[0] > 'D' || t[1] != '\0')
            continue;
        int k = t[0] - 'A';
        if (!seen[k] || logprobs[i] > best[k]) {
            best[k] = logprobs[i];
            seen[k] = 1;
        }
    }
    int pick = -1;
    for (int k = 0; k < 4; k++)
        if (seen[k] && (pick < 0 || best[k] > best[pick]))
            pick = k;
    return pick < 0 ? 0 : (char)('A' + pick);
}

/* ---- scores ---- */

void mmlu_score(const mmlu_set *set, const unsigned char *correct, const size_t *n_evaluated,
                mmlu_scores *out, double *per_subject)
{
    size_t cat_n[MMLU_CATEGORY_COUNT] = {0}, cat_ok[MMLU_CATEGORY_COUNT] = {0};
    size_t base = 0, nsubj = 0;
    double macro_sum = 0;
    memset(out, 0, sizeof *out);
    for (size_t s = 0; s < set->nsubjects; s++) {
        const mmlu_subject *sj = &set->subjects[s];
        size_t ne = n_evaluated ? n_evaluated[s] : sj->nitems;
        if (ne > sj->nitems)
            ne = sj->nitems;
        size_t ok = 0;
        for (size_t i = 0; i < ne; i++)
            ok += correct[base + i] != 0;
        base += sj->nitems;
        if (per_subject)
            per_subject[s] = ne ? (double)ok / (double)ne : NAN;
        if (!ne)
            continue;
        out->n += ne;
        out->n_correct += ok;
        macro_sum += (double)ok / (double)ne;
        nsubj++;
        if (sj->category >= 0 && sj->category < MMLU_CATEGORY_COUNT) {
            cat_n[sj->category] += ne;
            cat_ok[sj->category] += ok;
        }
    }
    out->micro = out->n ? (double)out->n_correct / (double)out->n : NAN;
    out->macro = nsubj ? macro_sum / (double)nsubj : NAN;
    for (int c = 0; c < MMLU_CATEGORY_COUNT; c++)
        out->category[c] = cat_n[c] ? (double)cat_ok[c] / (double)cat_n[c] : NAN;
}
