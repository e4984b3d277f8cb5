/* humaneval.c - HumanEval problems, completion extraction, the test program
 * and pass@k (humaneval.h), following openai/human-eval
 * (human_eval/data.py, execution.py, evaluation.py).
 *
 * The data file is read whole through zlib (it is 45 KB compressed, about
 * 200 KB of JSON Lines; anything above HUMANEVAL_MAX_BYTES is refused) and
 * each line parsed with cJSON. */
#include "humaneval.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <zlib.h>

#define HUMANEVAL_MAX_BYTES (64u << 20)
#define HUMANEVAL_FILE "humaneval/HumanEval.jsonl.gz"

/* Asked of chat models before the prompt. A fenced block is the one reply
 * shape every instruction-tuned model produces reliably; asking for the
 * complete function (rather than only the body) avoids indentation guesses. */
#define HUMANEVAL_INSTRUCTION                                                                      \
    "Complete the following Python function. Reply with the complete function "                    \
    "(including its signature and any imports it needs) in a single ```python code block.\n\n"

const char *const humaneval_stop[5] = {"\nclass", "\ndef", "\n#", "\nif", "\nprint"};

/* Decompress path whole into out (capped). */
static bench_status read_gz(const char *path, dynbuf *out, bench_err *err)
{
    bench_status st = BENCH_OK;
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return bench_fail(err, BENCH_EIO, "%s: cannot open: %s", path,
                          errno ? strerror(errno) : "out of memory");
    char buf[65536];
    for (;;) {
        int n = gzread(gz, buf, sizeof buf);
        if (n < 0) {
            int zerr = 0;
            const char *msg = gzerror(gz, &zerr);
            st = bench_fail(err, zerr == Z_ERRNO ? BENCH_EIO : BENCH_EINPUT, "%s: cannot read: %s",
                            path, zerr == Z_ERRNO ? strerror(errno) : msg);
            goto out;
        }
        if (n == 0)
            break;
        bench_status ast = dynbuf_add(out, buf, (size_t)n);
        if (ast == BENCH_ETOOBIG) {
            st = bench_fail(err, BENCH_EINPUT, "%s: more than %u bytes uncompressed", path,
                            HUMANEVAL_MAX_BYTES);
            goto out;
        }
        if (ast != BENCH_OK) {
            st = bench_fail(err, ast, "%s: out of memory", path);
            goto out;
        }
    }
out:
    gzclose(gz);
    return st;
}

/* Copy the string field key of o into *dst; the message names file and line. */
static bench_status take_string(const cJSON *o, const char *key, char **dst, const char *path,
                                size_t lineno, bench_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v) || !v->valuestring)
        return bench_fail(err, BENCH_EINPUT, "%s:%zu: missing string \"%s\"", path, lineno, key);
    *dst = strdup(v->valuestring);
    if (!*dst)
        return bench_fail(err, BENCH_ENOMEM, "%s:%zu: out of memory", path, lineno);
    return BENCH_OK;
}

static bench_status parse_line(const char *line, const char *path, size_t lineno,
                               humaneval_problem *p, bench_err *err)
{
    bench_status st = BENCH_OK;
    cJSON *o = cJSON_Parse(line);
    if (!o || !cJSON_IsObject(o)) {
        st = bench_fail(err, BENCH_EINPUT, "%s:%zu: not a JSON object", path, lineno);
        goto out;
    }
    if ((st = take_string(o, "task_id", &p->task_id, path, lineno, err)) != BENCH_OK ||
        (st = take_string(o, "prompt", &p->prompt, path, lineno, err)) != BENCH_OK ||
        (st = take_string(o, "entry_point", &p->entry_point, path, lineno, err)) != BENCH_OK ||
        (st = take_string(o, "canonical_solution", &p->canonical_solution, path, lineno, err)) !=
            BENCH_OK ||
        (st = take_string(o, "test", &p->test, path, lineno, err)) != BENCH_OK)
        goto out;
    if (!p->entry_point[0] ||
        strspn(p->entry_point, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789_") != strlen(p->entry_point)) {
        st = bench_fail(err, BENCH_EINPUT, "%s:%zu: \"entry_point\" is not a Python name", path,
                        lineno);
        goto out;
    }
out:
    cJSON_Delete(o);
    return st;
}

bench_status humaneval_parse(const char *data, size_t len, const char *origin,
                             humaneval_problem **out, size_t *n, bench_err *err)
{
    bench_status st = BENCH_OK;
    humaneval_problem *v = NULL;
    size_t nv = 0, capv = 0;
    char *text = NULL;
    *out = NULL;
    *n = 0;

    if (len == 0 || memchr(data, '\0', len))
        return bench_fail(err, BENCH_EINPUT, "%s: %s", origin,
                          len ? "contains a NUL byte" : "is empty");
    /* a copy, cut into NUL-terminated lines in place */
    if (!(text = malloc(len + 1)))
        return bench_fail(err, BENCH_ENOMEM, "%s: out of memory", origin);
    memcpy(text, data, len);
    text[len] = '\0';

    size_t lineno = 0;
    char *line = text;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        if (line[strspn(line, " \t\r")] != '\0') {
            if (nv == capv) {
                size_t nc = capv ? capv * 2 : 256;
                humaneval_problem *nvp = realloc(v, nc * sizeof *v);
                if (!nvp) {
                    st = bench_fail(err, BENCH_ENOMEM, "%s:%zu: out of memory", origin, lineno);
                    goto out;
                }
                v = nvp;
                capv = nc;
            }
            memset(&v[nv], 0, sizeof v[nv]);
            nv++;
            if ((st = parse_line(line, origin, lineno, &v[nv - 1], err)) != BENCH_OK)
                goto out;
        }
        line = nl ? nl + 1 : NULL;
    }
    if (nv == 0) {
        st = bench_fail(err, BENCH_EINPUT, "%s: no problems in file", origin);
        goto out;
    }
    *out = v;
    *n = nv;
    v = NULL;
out:
    if (v)
        humaneval_free(v, nv);
    free(text);
    return st;
}

bench_status humaneval_load(const char *data_dir, humaneval_problem **out, size_t *n,
                            bench_err *err)
{
    bench_status st = BENCH_OK;
    char *path = NULL;
    dynbuf text;
    dynbuf_init(&text, HUMANEVAL_MAX_BYTES);
    *out = NULL;
    *n = 0;

    size_t plen = strlen(data_dir) + sizeof "/" HUMANEVAL_FILE;
    path = malloc(plen);
    if (!path) {
        st = bench_fail(err, BENCH_ENOMEM, "humaneval: out of memory");
        goto out;
    }
    snprintf(path, plen, "%s/%s", data_dir, HUMANEVAL_FILE);
    if ((st = read_gz(path, &text, err)) != BENCH_OK)
        goto out;
    st = humaneval_parse(text.p ? text.p : "", text.len, path, out, n, err);
out:
    dynbuf_free(&text);
    free(path);
    return st;
}

void humaneval_free(humaneval_problem *p, size_t n)
{
    if (!p)
        return;
    for (size_t i = 0; i < n; i++) {
        free(p[i].task_id);
        free(p[i].prompt);
        free(p[i].entry_point);
        free(p[i].canonical_solution);
        free(p[i].test);
    }
    free(p);
}

size_t humaneval_truncate(const char *text, size_t len)
{
    size_t cut = len;
    for (size_t i = 0; i < sizeof humaneval_stop / sizeof humaneval_stop[0]; i++) {
        const char *s = humaneval_stop[i];
        size_t sl = strlen(s);
        for (size_t at = 0; at + sl <= cut; at++) {
            if (text[at] == s[0] && memcmp(text + at, s, sl) == 0) {
                cut = at;
                break;
            }
        }
    }
    return cut;
}

bench_status humaneval_chat_prompt(const humaneval_problem *p, dynbuf *out, bench_err *err)
{
    bench_status st = dynbuf_adds(out, HUMANEVAL_INSTRUCTION);
    if (st == BENCH_OK)
        st = dynbuf_adds(out, p->prompt);
    if (st != BENCH_OK)
        return bench_fail(err, st, "%s: chat prompt does not fit its buffer", p->task_id);
    return BENCH_OK;
}

/* End of the line starting at s (pointer to its '\n' or to end). */
static const char *line_end(const char *s, const char *end)
{
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    return nl ? nl : end;
}

/* Is the fence info string [s, e) one of "", python, py, python3 (any case,
 * surrounding blanks ignored)? */
static int python_fence(const char *s, const char *e)
{
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        e--;
    size_t n = (size_t)(e - s);
    return n == 0 || (n == 6 && strncasecmp(s, "python", 6) == 0) ||
           (n == 2 && strncasecmp(s, "py", 2) == 0) ||
           (n == 7 && strncasecmp(s, "python3", 7) == 0);
}

/* Is the line [ln, le) a fence (``` after optional indentation)? Sets *info
 * to what follows the backticks. */
static int fence_line(const char *ln, const char *le, const char **info)
{
    while (ln < le && (*ln == ' ' || *ln == '\t'))
        ln++;
    if (le - ln < 3 || memcmp(ln, "```", 3) != 0)
        return 0;
    *info = ln + 3;
    return 1;
}

/* Find the first Python (or untagged) fenced block in [s, end): its code is
 * [*cs, *ce). Blocks in other languages are skipped whole. A block left
 * open runs to the end of the reply (a truncated answer). Returns 0 when
 * there is none. */
static int find_block(const char *s, const char *end, const char **cs, const char **ce)
{
    const char *ln = s;
    while (ln < end) {
        const char *le = line_end(ln, end);
        const char *info;
        if (!fence_line(ln, le, &info)) {
            ln = le < end ? le + 1 : end;
            continue;
        }
        int wanted = python_fence(info, le);
        const char *code = le < end ? le + 1 : end;
        const char *c = code;
        while (c < end) {
            const char *cle = line_end(c, end);
            if (fence_line(c, cle, &info))
                break;
            c = cle < end ? cle + 1 : end;
        }
        if (wanted) {
            *cs = code;
            *ce = c;
            return 1;
        }
        /* past the closing fence of the other-language block */
        ln = c < end ? line_end(c, end) : end;
        ln = ln < end ? ln + 1 : end;
    }
    return 0;
}

/* Is the line [ln, le) blank (spaces, tabs, CR)? Bounded by le: a reply
 * need not be NUL-terminated. */
static int blank_line(const char *ln, const char *le)
{
    while (ln < le && (*ln == ' ' || *ln == '\t' || *ln == '\r'))
        ln++;
    return ln == le;
}

/* Offset of the line "def <name>(" starting at column 0 in [s, s+len), or -1. */
static long def_line(const char *s, size_t len, const char *name)
{
    size_t nl = strlen(name);
    const char *end = s + len;
    for (const char *ln = s; ln < end;) {
        const char *le = line_end(ln, end);
        size_t ll = (size_t)(le - ln);
        if (ll >= 4 + nl + 1 && memcmp(ln, "def ", 4) == 0 && memcmp(ln + 4, name, nl) == 0 &&
            ln[4 + nl] == '(')
            return (long)(ln - s);
        ln = le < end ? le + 1 : end;
    }
    return -1;
}

bench_status humaneval_extract(const humaneval_problem *p, const char *reply, size_t len,
                               char **out, int *full_function, bench_err *err)
{
    bench_status st = BENCH_OK;
    dynbuf b;
    /* Indenting adds 4 bytes a line: at most 3x for one-character lines. */
    dynbuf_init(&b, len > (SIZE_MAX - 64) / 3 ? SIZE_MAX : len * 3 + 64);
    *out = NULL;
    *full_function = 0;

    const char *cs = reply, *ce = reply + len;
    find_block(reply, reply + len, &cs, &ce);

    if (def_line(cs, (size_t)(ce - cs), p->entry_point) >= 0) {
        *full_function = 1;
        st = dynbuf_add(&b, cs, (size_t)(ce - cs));
    } else {
        /* A body: indent it when its first non-empty line is not. */
        const char *first = cs;
        while (first < ce) {
            const char *le = line_end(first, ce);
            if (!blank_line(first, le))
                break;
            first = le < ce ? le + 1 : ce;
        }
        int indent = first < ce && *first != ' ' && *first != '\t';
        for (const char *ln = cs; ln < ce && st == BENCH_OK;) {
            const char *le = line_end(ln, ce);
            int blank = blank_line(ln, le);
            if (indent && !blank)
                st = dynbuf_add(&b, "    ", 4);
            if (st == BENCH_OK)
                st = dynbuf_add(&b, ln, (size_t)(le < ce ? le + 1 - ln : le - ln));
            ln = le < ce ? le + 1 : ce;
        }
    }
    if (st != BENCH_OK) {
        st = bench_fail(err, st, "%s: extracting the completion: out of memory", p->task_id);
        goto out;
    }
    *out = dynbuf_steal(&b);
    if (!*out)
        st = bench_fail(err, BENCH_ENOMEM, "%s: extracting the completion: out of memory",
                        p->task_id);
out:
    dynbuf_free(&b);
    return st;
}

bench_status humaneval_program(const humaneval_problem *p, const char *completion,
                               int full_function, dynbuf *out, bench_err *err)
{
    size_t plen = strlen(p->prompt);
    if (full_function) {
        long at = def_line(p->prompt, plen, p->entry_point);
        plen = at >= 0 ? (size_t)at : 0;
    }
    bench_status st = dynbuf_add(out, p->prompt, plen);
    if (st == BENCH_OK)
        st = dynbuf_adds(out, completion);
    if (st == BENCH_OK)
        st = dynbuf_addf(out, "\n%s\ncheck(%s)", p->test, p->entry_point);
    if (st != BENCH_OK)
        return bench_fail(err, st, "%s: test program does not fit its buffer", p->task_id);
    return BENCH_OK;
}

double humaneval_pass_at_k(int n, int c, int k)
{
    if (n < 0 || c < 0 || c > n || k < 1 || k > n)
        return NAN;
    if (n - c < k)
        return 1.0;
    /* 1 - prod_{i = n-c+1}^{n} (1 - k / i) */
    double prod = 1.0;
    for (int i = n - c + 1; i <= n; i++)
        prod *= 1.0 - (double)k / (double)i;
    return 1.0 - prod;
}
