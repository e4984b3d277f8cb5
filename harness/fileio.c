#include "fileio.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bench_status file_read_all(const char *path, size_t max, char **out, size_t *len, bench_err *err)
{
    bench_status st = BENCH_OK;
    char *buf = NULL;
    size_t n = 0;
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return bench_fail(err, BENCH_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096;
    buf = malloc(cap);
    if (!buf) {
        st = bench_fail(err, BENCH_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max) {
                st = bench_fail(err, BENCH_EINPUT, "%s: larger than the %zu-byte limit", path, max);
                goto out;
            }
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                st = bench_fail(err, BENCH_ENOMEM, "%s: out of memory", path);
                goto out;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        st = bench_fail(err, BENCH_EIO, "%s: read error: %s", path, strerror(errno));
        goto out;
    }
    if (n > max) {
        st = bench_fail(err, BENCH_EINPUT, "%s: larger than the %zu-byte limit", path, max);
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    buf = NULL;
    if (len)
        *len = n;
out:
    free(buf);
    fclose(f);
    return st;
}

static int has_catalog(const char *dir)
{
    char p[PATH_MAX];
    struct stat sb;
    if (snprintf(p, sizeof p, "%s/suites/models.json", dir) >= (int)sizeof p)
        return 0;
    return stat(p, &sb) == 0;
}

const char *file_project_root(void)
{
    static char root[PATH_MAX];
    static int done;
    if (done)
        return root;
    done = 1;
    const char *env = getenv("BENCH_ROOT");
    if (env && *env) {
        snprintf(root, sizeof root, "%s", env);
        return root;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash;
        while ((slash = strrchr(exe, '/')) != NULL) {
            *slash = '\0';
            if (exe[0] && has_catalog(exe)) {
                snprintf(root, sizeof root, "%s", exe);
                return root;
            }
        }
    }
    if (has_catalog("."))
        snprintf(root, sizeof root, ".");
    return root;
}

const char *file_in_root(const char *rel, char *buf, size_t bufsz)
{
    const char *root = file_project_root();
    if (root[0])
        snprintf(buf, bufsz, "%s/%s", root, rel);
    else
        snprintf(buf, bufsz, "%s", rel);
    return buf;
}

int file_mkdirs(const char *dir)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1;; p++) {
        if (*p && *p != '/')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(tmp, 0777) && errno != EEXIST)
            return -1;
        if (!c)
            return 0;
        *p = '/';
    }
}

int file_mkdirs_for(const char *file)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", file) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    char *d = dirname(tmp);
    if (strcmp(d, ".") == 0 || strcmp(d, "/") == 0)
        return 0;
    return file_mkdirs(d);
}
