/* plot.c - report plots rendered by gnuplot as an external program (plot.h).
 *
 * plot_render writes the series to <outdir>/<name>.dat, then runs
 *     gnuplot -d -e "<assignments>" <plots_dir>/<name>.gp
 * once per terminal (png, svg). gnuplot is started with posix_spawn and an
 * argv (no shell), stdin/stdout on /dev/null and stderr on a pipe whose last
 * line becomes the error message; it is killed after PLOT_TIMEOUT_S.
 *
 * Everything that reaches gnuplot's command line is a single-quoted gnuplot
 * string: texts (titles, labels, model names; they come from user files) have
 * control characters and invalid UTF-8 replaced and single quotes doubled, so
 * they can neither end the string nor the command. Paths must be exact, so
 * they are refused if they hold a control character, and relative ones get a
 * "./" prefix: gnuplot reads a data file named "<cmd" and an output named
 * "|cmd" as pipes through the shell. */
#include "plot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "dynbuf.h"
#include "spawnpipe.h"

#ifndef PLOT_TIMEOUT_S
#define PLOT_TIMEOUT_S 60 /* per gnuplot run; -D to test the kill path */
#endif
#define PLOT_CMD_MAX (1u << 20)   /* the -e argument: titles of every series */
#define PLOT_ERR_TAIL 2048        /* bytes of gnuplot's stderr kept for the message */
#define PLOT_DAT_MAX (256u << 20) /* a data file larger than this is a caller's bug */

/* Separator of the series titles in the "titles" variable: a control
 * character, so no cleaned title can contain it. Passed to gnuplot as the
 * variable sep (the templates default to '|' for use by hand). */
#define PLOT_TITLE_SEP '\037'


/* Length of the valid UTF-8 sequence at s (1..4), 0 if s does not start one.
 * Overlong forms, surrogates and code points past U+10FFFF are invalid. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    unsigned cp = c & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

enum text_ctx {
    TEXT_GNUPLOT, /* inside a gnuplot '...' string: ' is doubled */
    TEXT_COMMENT, /* a .dat comment line: taken as is */
    TEXT_LABEL    /* inside a .dat "..." column: " becomes ' */
};

/* Append s (NULL = "") to b as one line of display text for ctx: tabs and
 * line breaks become a space, other control characters (C0, DEL, C1) are
 * dropped, invalid UTF-8 bytes become '?'. Never emits PLOT_TITLE_SEP. */
static bench_status add_text(dynbuf *b, const char *s, enum text_ctx ctx)
{
    bench_status st = BENCH_OK;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p && !st) {
        size_t n = utf8_len(p);
        if (n == 0) {
            st = dynbuf_add(b, "?", 1);
            p++;
            continue;
        }
        if (n == 1 && (*p == '\t' || *p == '\n' || *p == '\r'))
            st = dynbuf_add(b, " ", 1);
        else if (n == 1 && (*p < 0x20 || *p == 0x7F))
            ; /* other C0 controls and DEL: dropped */
        else if (n == 2 && p[0] == 0xC2 && p[1] < 0xA0)
            ; /* C1 controls U+0080..U+009F: dropped */
        else if (*p == '\'' && ctx == TEXT_GNUPLOT)
            st = dynbuf_add(b, "''", 2);
        else if (*p == '"' && ctx == TEXT_LABEL)
            st = dynbuf_add(b, "'", 1);
        else
            st = dynbuf_add(b, p, n);
        p += n;
    }
    return st;
}

/* Append name='text' (text cleaned by add_text) and a "; " separator. */
static bench_status add_text_var(dynbuf *b, const char *name, const char *text)
{
    bench_status st = dynbuf_addf(b, "%s='", name);
    if (!st)
        st = add_text(b, text, TEXT_GNUPLOT);
    if (!st)
        st = dynbuf_adds(b, "'; ");
    return st;
}

/* Append name='path' with the path exact (quotes doubled) and a "./" prefix
 * when relative, so gnuplot never takes it for a "<cmd" or "|cmd" pipe. The
 * caller has checked the path holds no control character. */
static bench_status add_path_var(dynbuf *b, const char *name, const char *path)
{
    bench_status st = dynbuf_addf(b, "%s='%s", name, path[0] == '/' ? "" : "./");
    for (const char *p = path; *p && !st; p++)
        st = *p == '\'' ? dynbuf_add(b, "''", 2) : dynbuf_add(b, p, 1);
    if (!st)
        st = dynbuf_adds(b, "'; ");
    return st;
}

static int has_control_char(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return 1;
    return 0;
}

/* A point gnuplot can draw on the spec's axes: finite, positive on a log axis. */
static int drawable(const plot_spec *p, double x, double y)
{
    return isfinite(x) && isfinite(y) && (!p->logx || x > 0) && (!p->logy || y > 0);
}

static size_t count_points(const plot_spec *p)
{
    size_t n = 0;
    for (size_t s = 0; s < p->n_series; s++)
        for (size_t i = 0; i < p->series[s].n; i++)
            n += drawable(p, p->series[s].x[i], p->series[s].y[i]);
    return n;
}

/* Append one number: %.10g, or NaN (which gnuplot skips) when not finite. */
static bench_status add_num(dynbuf *b, double v, const char *after)
{
    return isfinite(v) ? dynbuf_addf(b, "%.10g%s", v, after) : dynbuf_addf(b, "NaN%s", after);
}

/* Write the data file (format in plot.h). An empty series still gets one row
 * of NaN: gnuplot merges empty blocks, which would shift the indexes of the
 * series after it. */
static bench_status write_dat(const plot_spec *p, const char *path, bench_err *err)
{
    bench_status st = BENCH_OK;
    FILE *f = NULL;
    dynbuf b;
    dynbuf_init(&b, PLOT_DAT_MAX);
    st = dynbuf_adds(&b, "# bench report plot data: ");
    if (!st)
        st = add_text(&b, p->title, TEXT_COMMENT);
    if (!st)
        st = dynbuf_addf(&b,
                         "\n# template plots/%s.gp; one block per series, blocks separated "
                         "by two blank lines\n# columns: x y [x2 y2] [label]; x: ",
                         p->name);
    if (!st)
        st = add_text(&b, p->xlabel, TEXT_COMMENT);
    if (!st)
        st = dynbuf_adds(&b, "; y: ");
    if (!st)
        st = add_text(&b, p->ylabel, TEXT_COMMENT);
    if (!st)
        st = dynbuf_adds(&b, "\n");
    for (size_t s = 0; s < p->n_series && !st; s++) {
        const plot_series *ser = &p->series[s];
        int has2 = ser->x2 && ser->y2;
        st = dynbuf_adds(&b, s ? "\n\n# series: " : "# series: ");
        if (!st)
            st = add_text(&b, ser->title, TEXT_COMMENT);
        if (!st)
            st = dynbuf_addf(&b, "\n# columns: x y%s%s\n", has2 ? " x2 y2" : "",
                             ser->label ? " label" : "");
        size_t rows = ser->n ? ser->n : 1;
        for (size_t i = 0; i < rows && !st; i++) {
            int empty = ser->n == 0;
            st = add_num(&b, empty ? NAN : ser->x[i], " ");
            if (!st)
                st = add_num(&b, empty ? NAN : ser->y[i], has2 || ser->label ? " " : "\n");
            if (!st && has2)
                st = add_num(&b, empty ? NAN : ser->x2[i], " ");
            if (!st && has2)
                st = add_num(&b, empty ? NAN : ser->y2[i], ser->label ? " " : "\n");
            if (!st && ser->label) {
                st = dynbuf_adds(&b, "\"");
                if (!st && !empty)
                    st = add_text(&b, ser->label[i], TEXT_LABEL);
                if (!st)
                    st = dynbuf_adds(&b, "\"\n");
            }
        }
    }
    if (st) {
        bench_fail(err, st, "%s: %s", path,
                   st == BENCH_ETOOBIG ? "data larger than 256 MB" : "out of memory");
        goto out;
    }
    f = fopen(path, "w");
    if (!f) {
        st = bench_fail(err, BENCH_EIO, "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    if (fwrite(b.p, 1, b.len, f) != b.len || fflush(f) != 0) {
        st = bench_fail(err, BENCH_EIO, "cannot write %s: %s", path, strerror(errno));
        goto out;
    }
out:
    if (f && fclose(f) != 0 && !st)
        st = bench_fail(err, BENCH_EIO, "cannot write %s: %s", path, strerror(errno));
    dynbuf_free(&b);
    return st;
}

/* Find an executable named prog in $PATH (an empty entry is the current
 * directory, as for execvp). 1 with the path in buf, 0 when not found. */
static int find_in_path(const char *prog, char *buf, size_t bufsz)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path;;) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        int len = snprintf(buf, bufsz, "%.*s%s%s", (int)n, p, n ? "/" : "./", prog);
        struct stat sb;
        if (len > 0 && (size_t)len < bufsz && stat(buf, &sb) == 0 && S_ISREG(sb.st_mode) &&
            access(buf, X_OK) == 0)
            return 1;
        if (!colon)
            return 0;
        p = colon + 1;
    }
}

/* Keep the last bytes of a stream: appending past the size drops the oldest. */
typedef struct {
    char buf[PLOT_ERR_TAIL];
    size_t len;
} tail_buf;

static void tail_add(tail_buf *t, const char *data, size_t n)
{
    if (n >= sizeof t->buf) {
        data += n - sizeof t->buf;
        n = sizeof t->buf;
    }
    if (t->len + n > sizeof t->buf) {
        size_t drop = t->len + n - sizeof t->buf;
        memmove(t->buf, t->buf + drop, t->len - drop);
        t->len -= drop;
    }
    memcpy(t->buf + t->len, data, n);
    t->len += n;
}

/* The last non-blank line of t, trimmed and cleaned, into out ("" if none). */
static void tail_last_line(const tail_buf *t, char *out, size_t outsz)
{
    size_t end = t->len;
    while (end > 0 && (unsigned char)t->buf[end - 1] <= ' ')
        end--;
    size_t start = end;
    while (start > 0 && t->buf[start - 1] != '\n')
        start--;
    while (start < end && (unsigned char)t->buf[start] <= ' ')
        start++;
    size_t o = 0;
    for (size_t i = start; i < end && o + 1 < outsz; i++)
        out[o++] = (unsigned char)t->buf[i] < 0x20 ? ' ' : t->buf[i];
    out[o] = '\0';
}

/* Run `exe -d -e cmd script`, with PLOT_TIMEOUT_S. BENCH_OK when gnuplot
 * exited with status 0; otherwise the message (prefixed by the caller) says
 * how it ended and quotes its stderr's last line. */
static bench_status run_gnuplot(const char *exe, const char *cmd, const char *script,
                                bench_err *err)
{
    bench_status st = BENCH_OK;
    int rfd = -1;
    pid_t pid = -1;
    tail_buf tail = {.len = 0};
    char last[256] = "";

    /* a relative script path starting with '-' would read as an option */
    char script_arg[PATH_MAX + 3];
    snprintf(script_arg, sizeof script_arg, "%s%s", script[0] == '-' ? "./" : "", script);
    char *argv[] = {(char *)exe, "-d", "-e", (char *)cmd, script_arg, NULL};
    int rc = spawn_piped(exe, 0, argv, 2, &pid, &rfd);
    if (rc) {
        st = bench_fail(err, BENCH_ESYS, "cannot start %s: %s", exe, strerror(rc));
        goto out;
    }

    int64_t deadline = clock_now_ns() + (int64_t)PLOT_TIMEOUT_S * 1000000000LL;
    int timed_out = 0;
    while (rfd >= 0) {
        int64_t left_ms = (deadline - clock_now_ns()) / 1000000;
        if (left_ms <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd pf = {rfd, POLLIN, 0};
        int n = poll(&pf, 1, left_ms > INT_MAX ? INT_MAX : (int)left_ms);
        if (n < 0 && errno != EINTR) {
            st = bench_fail(err, BENCH_ESYS, "poll on gnuplot's stderr: %s", strerror(errno));
            break;
        }
        if (n <= 0)
            continue;
        char chunk[4096];
        ssize_t got = read(rfd, chunk, sizeof chunk);
        if (got > 0) {
            tail_add(&tail, chunk, (size_t)got);
        } else if (got == 0 || errno != EINTR) {
            close(rfd); /* EOF: gnuplot is exiting */
            rfd = -1;
        }
    }
    /* stderr is closed; give gnuplot until the deadline to exit */
    int status = 0;
    for (;;) {
        pid_t r = timed_out ? 0 : waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) { /* reaped elsewhere: judge by the output file */
            status = 0;
            break;
        }
        if (timed_out || clock_now_ns() >= deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            timed_out = 1;
            break;
        }
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    pid = -1;
    tail_last_line(&tail, last, sizeof last);
    if (st)
        goto out;
    if (timed_out)
        st = bench_fail(err, BENCH_EIO, "gnuplot did not finish within %d s (killed)%s%s",
                        PLOT_TIMEOUT_S, *last ? "; last message: " : "", last);
    else if (WIFSIGNALED(status))
        st = bench_fail(err, BENCH_EIO, "gnuplot was killed by signal %d%s%s", WTERMSIG(status),
                        *last ? ": " : "", last);
    else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        st = bench_fail(err, BENCH_EIO, "gnuplot exited with status %d: %s", WEXITSTATUS(status),
                        *last ? last : "(no message)");
out:
    if (pid > 0) { /* spawned but not reaped: only on an early failure */
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (rfd >= 0)
        close(rfd);
    return st;
}

/* Build the -e assignments for one terminal (everything but the titles is
 * the same for png and svg; cheap enough to rebuild). */
static bench_status build_cmd(dynbuf *b, const plot_spec *p, const char *datafile,
                              const char *outfile, const char *term, size_t npoints)
{
    dynbuf_reset(b);
    bench_status st = add_path_var(b, "datafile", datafile);
    if (!st)
        st = add_path_var(b, "outfile", outfile);
    if (!st)
        st = dynbuf_addf(b, "term='%s'; ", term);
    if (!st)
        st = add_text_var(b, "plot_title", p->title);
    if (!st)
        st = add_text_var(b, "xlabel", p->xlabel);
    if (!st)
        st = add_text_var(b, "ylabel", p->ylabel);
    if (!st)
        st = dynbuf_addf(b, "nseries=%zu; npoints=%zu; logx=%d; logy=%d; sep=\"\\%03o\"; titles='",
                         p->n_series, npoints, p->logx ? 1 : 0, p->logy ? 1 : 0,
                         (unsigned)PLOT_TITLE_SEP);
    for (size_t s = 0; s < p->n_series && !st; s++) {
        if (s)
            st = dynbuf_add(b, (char[]){PLOT_TITLE_SEP}, 1);
        if (!st)
            st = add_text(b, p->series[s].title, TEXT_GNUPLOT);
    }
    if (!st)
        st = dynbuf_adds(b, "'");
    return st;
}

/* Check the spec before touching any file; the message names what is wrong. */
static bench_status check_spec(const plot_spec *p, const char *plots_dir, const char *outdir,
                               bench_err *err)
{
    if (!p || !p->name || !*p->name)
        return bench_fail(err, BENCH_EUSAGE, "plot: no name given");
    if (strchr(p->name, '/') || p->name[0] == '.' || has_control_char(p->name))
        return bench_fail(err, BENCH_EUSAGE,
                          "plot '%s': the name must be a plain file name (no '/', no leading '.')",
                          p->name);
    if (!plots_dir || !outdir)
        return bench_fail(err, BENCH_EUSAGE, "plot %s: no %s given", p->name,
                          plots_dir ? "output directory" : "template directory");
    if (has_control_char(outdir))
        return bench_fail(err, BENCH_EUSAGE,
                          "plot %s: output directory path contains a control character", p->name);
    if (p->n_series && !p->series)
        return bench_fail(err, BENCH_EUSAGE, "plot %s: %zu series but no array", p->name,
                          p->n_series);
    for (size_t s = 0; s < p->n_series; s++)
        if (p->series[s].n && (!p->series[s].x || !p->series[s].y))
            return bench_fail(err, BENCH_EUSAGE, "plot %s: series %zu has no x or y values",
                              p->name, s + 1);
    return BENCH_OK;
}

bench_status plot_render(const plot_spec *p, const char *plots_dir, const char *outdir,
                         bench_err *err)
{
    static const char *const terms[] = {"png", "svg"};
    bench_status st = check_spec(p, plots_dir, outdir, err);
    if (st)
        return st;
    dynbuf cmd;
    dynbuf_init(&cmd, PLOT_CMD_MAX);
    char dat[PATH_MAX], tmpl[PATH_MAX], out[PATH_MAX], exe[PATH_MAX];
    if ((size_t)snprintf(dat, sizeof dat, "%s/%s.dat", outdir, p->name) >= sizeof dat ||
        (size_t)snprintf(tmpl, sizeof tmpl, "%s/%s.gp", plots_dir, p->name) >= sizeof tmpl) {
        st = bench_fail(err, BENCH_EUSAGE, "plot %s: path too long under %s", p->name, outdir);
        goto out;
    }
    /* the data first: even if gnuplot is missing, the user can plot it later */
    st = write_dat(p, dat, err);
    if (st) {
        bench_wrap(err, st, "plot %s", p->name);
        goto out;
    }
    if (access(tmpl, R_OK) != 0) {
        st = bench_fail(err, BENCH_EIO, "plot %s: template %s: %s", p->name, tmpl, strerror(errno));
        goto out;
    }
    if (!find_in_path("gnuplot", exe, sizeof exe)) {
        st = bench_fail(err, BENCH_EIO, "plot %s: gnuplot not found: install gnuplot-nox", p->name);
        goto out;
    }
    size_t npoints = count_points(p);
    for (size_t t = 0; t < sizeof terms / sizeof terms[0]; t++) {
        if ((size_t)snprintf(out, sizeof out, "%s/%s.%s", outdir, p->name, terms[t]) >=
            sizeof out) {
            st = bench_fail(err, BENCH_EUSAGE, "plot %s: path too long under %s", p->name, outdir);
            goto out;
        }
        /* a file left by an earlier run must not pass for this one */
        if (unlink(out) != 0 && errno != ENOENT) {
            st = bench_fail(err, BENCH_EIO, "plot %s: cannot replace %s: %s", p->name, out,
                            strerror(errno));
            goto out;
        }
        st = build_cmd(&cmd, p, dat, out, terms[t], npoints);
        if (st) {
            bench_fail(err, st, "plot %s: gnuplot command line too long (%zu series)", p->name,
                       p->n_series);
            goto out;
        }
        st = run_gnuplot(exe, cmd.p, tmpl, err);
        if (st) {
            bench_wrap(err, st, "plot %s (%s, template %s)", p->name, terms[t], tmpl);
            goto out;
        }
        struct stat sb;
        if (stat(out, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0) {
            st = bench_fail(err, BENCH_EIO, "plot %s: gnuplot produced no %s (template %s)",
                            p->name, out, tmpl);
            goto out;
        }
    }
out:
    dynbuf_free(&cmd);
    return st;
}
