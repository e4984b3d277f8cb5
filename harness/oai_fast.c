/* oai_fast.c - the streamed-event fast path (see oai_fast.h).
 *
 * A strict, allocation-free JSON scanner over one event payload. It visits
 * every byte (so it accepts only valid JSON), keeps only what oai_event
 * needs (the first "choices" array, each choice's first "delta".content or
 * "text" and "finish_reason", the first "usage" object's two counts) and
 * gives up, returning "unsure", on anything whose meaning it would have to
 * reproduce from cJSON's rules rather than JSON's: \u escapes, raw control
 * characters, numbers other than plain non-negative integers where a count
 * is read, error objects, logprobs wanted, nesting deeper than FAST_DEPTH,
 * whitespace other than the four JSON ones. The caller then parses the
 * payload with cJSON, so the answer is the same either way; only its cost
 * differs. tests/test_oai.c and fuzz/fuzz_sse.c check the two paths agree. */
#include "oai_fast.h"

#include <stdint.h>
#include <string.h>

#define FAST_DEPTH 32
#define FAST_CHOICES 8

typedef struct {
    const char *p, *e;
} cur;

typedef struct {
    const char *s; /* raw bytes between the quotes */
    size_t n;
    int esc; /* it holds backslash escapes (all simple ones) */
} jstr;

static void ws(cur *c)
{
    while (c->p < c->e && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

/* 1 when one of the 8 bytes of v is a quote, a backslash or a control
 * character: the bytes the string scanner must look at one by one. The
 * usual bit tricks: a byte b is below 0x20 when (b - 0x20) borrows and b
 * itself has no top bit; a byte equals x when b ^ x is zero. */
static int special8(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
    return (((v - ones * 0x20) & ~v) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high ? 1 : 0;
}

/* A string at c->p. 0 = unsure (not a string, unterminated, a control
 * character, a \u or unknown escape). Runs of ordinary bytes are passed
 * over 8 at a time: on long content this scan was most of the fast path. */
static int str(cur *c, jstr *out)
{
    if (c->p >= c->e || *c->p != '"')
        return 0;
    const char *s = ++c->p;
    int esc = 0;
    while (c->p < c->e) {
        uint64_t v;
        if (c->e - c->p >= 8) {
            memcpy(&v, c->p, 8);
            if (!special8(v)) {
                c->p += 8;
                continue;
            }
        }
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            out->s = s;
            out->n = (size_t)(c->p - s);
            out->esc = esc;
            c->p++;
            return 1;
        }
        if (ch < 0x20)
            return 0;
        if (ch == '\\') {
            if (c->p + 1 >= c->e)
                return 0;
            switch (c->p[1]) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                esc = 1;
                c->p += 2;
                continue;
            default:
                return 0;
            }
        }
        c->p++;
    }
    return 0;
}

/* Decoded length of a string with only simple escapes. */
static size_t str_len(const jstr *s)
{
    if (!s->esc)
        return s->n;
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++, n++)
        if (s->s[i] == '\\')
            i++;
    return n;
}

static char unescape(char c)
{
    switch (c) {
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    default:
        return c; /* " \ / */
    }
}

/* Append the decoded string to text: all of it or (the cap reached)
 * nothing, as one dynbuf_add of cJSON's decoded string would. */
static bench_status str_append(const jstr *s, dynbuf *text)
{
    if (!s->esc)
        return dynbuf_add(text, s->s, s->n);
    if (str_len(s) > text->max - text->len)
        return BENCH_ETOOBIG;
    size_t run = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->s[i] != '\\')
            continue;
        char ch = unescape(s->s[i + 1]);
        bench_status st;
        if ((st = dynbuf_add(text, s->s + run, i - run)) || (st = dynbuf_add(text, &ch, 1)))
            return st;
        run = ++i + 1;
    }
    return dynbuf_add(text, s->s + run, s->n - run);
}

static int key_is(const jstr *k, const char *lit)
{
    size_t n = strlen(lit);
    return !k->esc && k->n == n && memcmp(k->s, lit, n) == 0;
}

/* A JSON number (RFC 8259 grammar). *uint_val gets its value when it is a
 * plain non-negative integer of at most 10 digits, else -1. */
static int num(cur *c, long long *uint_val)
{
    const char *s = c->p;
    int plain = 1;
    if (c->p < c->e && *c->p == '-') {
        plain = 0;
        c->p++;
    }
    if (c->p >= c->e)
        return 0;
    if (*c->p == '0')
        c->p++;
    else if (*c->p >= '1' && *c->p <= '9')
        while (c->p < c->e && *c->p >= '0' && *c->p <= '9')
            c->p++;
    else
        return 0;
    if (c->p < c->e && *c->p == '.') {
        plain = 0;
        c->p++;
        if (c->p >= c->e || *c->p < '0' || *c->p > '9')
            return 0;
        while (c->p < c->e && *c->p >= '0' && *c->p <= '9')
            c->p++;
    }
    if (c->p < c->e && (*c->p == 'e' || *c->p == 'E')) {
        plain = 0;
        c->p++;
        if (c->p < c->e && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (c->p >= c->e || *c->p < '0' || *c->p > '9')
            return 0;
        while (c->p < c->e && *c->p >= '0' && *c->p <= '9')
            c->p++;
    }
    *uint_val = -1;
    if (plain && c->p - s <= 10) {
        long long v = 0;
        for (const char *q = s; q < c->p; q++)
            v = v * 10 + (*q - '0');
        *uint_val = v;
    }
    return 1;
}

static int lit(cur *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->e - c->p) < n || memcmp(c->p, w, n) != 0)
        return 0;
    c->p += n;
    return 1;
}

/* Iterate an object's members: *first must be 1 on the first call. Leaves
 * c at the member's value and sets *k; returns 1 for a member, 2 at the
 * end (the closing brace consumed), 0 unsure. */
static int member(cur *c, int *first, jstr *k)
{
    ws(c);
    if (*first) {
        *first = 0;
        if (c->p >= c->e || *c->p++ != '{')
            return 0;
        ws(c);
        if (c->p < c->e && *c->p == '}') {
            c->p++;
            return 2;
        }
    } else {
        if (c->p >= c->e)
            return 0;
        if (*c->p == '}') {
            c->p++;
            return 2;
        }
        if (*c->p++ != ',')
            return 0;
        ws(c);
    }
    if (!str(c, k))
        return 0;
    ws(c);
    if (c->p >= c->e || *c->p++ != ':')
        return 0;
    ws(c);
    return 1;
}

/* Iterate an array's elements, as member does an object's: returns 1 with
 * c at the next element, 2 at the end (closing bracket consumed), 0
 * unsure. */
static int element(cur *c, int *first)
{
    ws(c);
    if (*first) {
        *first = 0;
        if (c->p >= c->e || *c->p++ != '[')
            return 0;
        ws(c);
        if (c->p < c->e && *c->p == ']') {
            c->p++;
            return 2;
        }
        return 1;
    }
    if (c->p >= c->e)
        return 0;
    if (*c->p == ']') {
        c->p++;
        return 2;
    }
    if (*c->p++ != ',')
        return 0;
    ws(c);
    return 1;
}

/* Skip one value, validating it. */
static int skip(cur *c, int depth)
{
    jstr s;
    long long v;
    if (c->p >= c->e || depth > FAST_DEPTH)
        return 0;
    switch (*c->p) {
    case '"':
        return str(c, &s);
    case 't':
        return lit(c, "true");
    case 'f':
        return lit(c, "false");
    case 'n':
        return lit(c, "null");
    case '[': {
        int first = 1, r;
        while ((r = element(c, &first)) == 1)
            if (!skip(c, depth + 1))
                return 0;
        return r == 2;
    }
    case '{': {
        int first = 1, r;
        while ((r = member(c, &first, &s)) == 1)
            if (!skip(c, depth + 1))
                return 0;
        return r == 2;
    }
    default:
        return num(c, &v);
    }
}

typedef struct {
    int has; /* a content string with text */
    jstr content;
    int has_fr;
    jstr fr;
} choice;

/* One element of "choices" (any value: a non-object is skipped). */
static int parse_choice(cur *c, choice *out, const oai_top *top)
{
    memset(out, 0, sizeof *out);
    if (c->p >= c->e || *c->p != '{')
        return skip(c, 2);
    int first = 1, r, seen_delta = 0, seen_text = 0, delta_obj = 0;
    jstr k, text = {0}, dcontent = {0};
    int has_text = 0, has_dcontent = 0, seen_fr = 0;
    while ((r = member(c, &first, &k)) == 1) {
        if (key_is(&k, "delta") && !seen_delta) {
            seen_delta = 1;
            if (c->p < c->e && *c->p == '{') {
                delta_obj = 1;
                int f2 = 1, r2, seen_c = 0;
                jstr k2;
                while ((r2 = member(c, &f2, &k2)) == 1) {
                    if (key_is(&k2, "content") && !seen_c) {
                        seen_c = 1;
                        if (c->p < c->e && *c->p == '"') {
                            if (!str(c, &dcontent))
                                return 0;
                            has_dcontent = 1;
                            continue;
                        }
                    }
                    if (!skip(c, 4))
                        return 0;
                }
                if (r2 == 0)
                    return 0;
                continue;
            }
        } else if (key_is(&k, "text") && !seen_text) {
            seen_text = 1;
            if (c->p < c->e && *c->p == '"') {
                if (!str(c, &text))
                    return 0;
                has_text = 1;
                continue;
            }
        } else if (key_is(&k, "finish_reason") && !seen_fr) {
            seen_fr = 1;
            if (c->p < c->e && *c->p == '"') {
                if (!str(c, &out->fr) || out->fr.esc)
                    return 0;
                out->has_fr = 1;
                continue;
            }
        } else if (key_is(&k, "logprobs") && top && top->n == 0) {
            return 0; /* wanted: cJSON's path reads them */
        }
        if (!skip(c, 3))
            return 0;
    }
    if (r == 0)
        return 0;
    if (delta_obj ? has_dcontent : has_text) {
        out->content = delta_obj ? dcontent : text;
        out->has = str_len(&out->content) > 0;
    }
    return 1;
}

int oai_fast_event(const char *data, size_t len, oai_event *ev, dynbuf *text, const oai_top *top,
                   bench_status *st)
{
    cur c = {data, data + len};
    choice ch[FAST_CHOICES];
    int nch = 0, first = 1, r, seen_choices = 0, seen_usage = 0, has_usage = 0;
    long long pt = -1, ct = -1;
    jstr k;
    *st = BENCH_OK;
    if (memchr(data, '\0', len))
        return 0; /* cJSON stops at a NUL: its rules, not ours */
    while ((r = member(&c, &first, &k)) == 1) {
        if (key_is(&k, "choices") && !seen_choices) {
            seen_choices = 1;
            if (c.p < c.e && *c.p == '[') {
                int f2 = 1, r2;
                while ((r2 = element(&c, &f2)) == 1)
                    if (nch == FAST_CHOICES || !parse_choice(&c, &ch[nch++], top))
                        return 0;
                if (r2 == 0)
                    return 0;
                continue;
            }
        } else if (key_is(&k, "usage") && !seen_usage) {
            seen_usage = 1;
            if (c.p < c.e && *c.p == '{') {
                has_usage = 1;
                int f2 = 1, r2, seen_p = 0, seen_c = 0;
                jstr k2;
                while ((r2 = member(&c, &f2, &k2)) == 1) {
                    long long *dst = NULL;
                    if (key_is(&k2, "prompt_tokens") && !seen_p) {
                        seen_p = 1;
                        dst = &pt;
                    } else if (key_is(&k2, "completion_tokens") && !seen_c) {
                        seen_c = 1;
                        dst = &ct;
                    }
                    if (dst && c.p < c.e && ((*c.p >= '0' && *c.p <= '9') || *c.p == '-')) {
                        if (!num(&c, dst) || *dst < 0)
                            return 0; /* signed, fractional, huge: cJSON's doubles */
                        continue;
                    }
                    if (!skip(&c, 2))
                        return 0;
                }
                if (r2 == 0)
                    return 0;
                continue;
            }
        } else if (key_is(&k, "error") || key_is(&k, "object")) {
            /* "object" is usually "chat.completion.chunk"; "error" there (or
             * an "error" member) is an error event: cJSON's path reads it. */
            jstr v;
            if (key_is(&k, "error") || c.p >= c.e || *c.p != '"')
                return 0;
            if (!str(&c, &v) || v.esc || (v.n == 5 && memcmp(v.s, "error", 5) == 0))
                return 0;
            continue;
        }
        if (!skip(&c, 1))
            return 0;
    }
    if (r == 0)
        return 0;
    ws(&c);
    if (c.p != c.e)
        return 0;

    /* Valid, and understood: fill ev exactly as oai_parse_event_top would. */
    memset(ev, 0, sizeof *ev);
    ev->prompt_tokens = ev->completion_tokens = -1;
    for (int i = 0; i < nch; i++) {
        if (ch[i].has) {
            ev->has_content = 1;
            ev->content_len += str_len(&ch[i].content);
            if (!oai_utf8_valid((const unsigned char *)ch[i].content.s, ch[i].content.n))
                ev->content_bad_utf8 = 1;
            if (text && (*st = str_append(&ch[i].content, text)) != BENCH_OK)
                return 1;
        }
        if (ch[i].has_fr && !ev->finish_reason[0]) {
            size_t n = ch[i].fr.n < sizeof ev->finish_reason - 1 ? ch[i].fr.n
                                                                 : sizeof ev->finish_reason - 1;
            memcpy(ev->finish_reason, ch[i].fr.s, n);
            ev->finish_reason[n] = '\0';
        }
    }
    if (has_usage) {
        ev->has_usage = 1;
        ev->prompt_tokens = pt > 2147483647LL ? -1 : (int)pt;
        ev->completion_tokens = ct > 2147483647LL ? -1 : (int)ct;
    }
    return 1;
}

int oai_fast_agrees(const char *data, size_t len, size_t text_cap)
{
    size_t a = 0, b = len;
    while (a < b && (data[a] == ' ' || data[a] == '\t' || data[a] == '\r' || data[a] == '\n'))
        a++;
    while (b > a && (data[b - 1] == ' ' || data[b - 1] == '\t' || data[b - 1] == '\r' ||
                     data[b - 1] == '\n'))
        b--;
    oai_event fast, slow;
    dynbuf tf, ts;
    dynbuf_init(&tf, text_cap);
    dynbuf_init(&ts, text_cap);
    bench_status sf, ss;
    bench_err err;
    int ok = 1;
    if (oai_fast_event(data + a, b - a, &fast, &tf, NULL, &sf)) {
        ss = oai_parse_event_slow(data, len, &slow, &ts, NULL, &err);
        ok = sf == ss && (ss != BENCH_OK || memcmp(&fast, &slow, sizeof fast) == 0) &&
             tf.len == ts.len && (tf.len == 0 || memcmp(tf.p, ts.p, tf.len) == 0);
    }
    dynbuf_free(&tf);
    dynbuf_free(&ts);
    return ok;
}
