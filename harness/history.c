/* history.c - the history index (history.h). */
#include "history.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fileio.h"
#include "spawnpipe.h"

#define GIT_TIMEOUT_S 10


bench_status history_index_path(const char *dir, char *buf, size_t bufsz, bench_err *err)
{
    if ((size_t)snprintf(buf, bufsz, "%s/%s", dir, HISTORY_INDEX) >= bufsz)
        return bench_fail(err, BENCH_EUSAGE, "history directory %s: path too long", dir);
    return BENCH_OK;
}

/* fsync the directory holding path (so a newly created entry survives a crash). */
static int fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

bench_status history_append(const char *dir, const cJSON *entry, bench_err *err)
{
    bench_status st = BENCH_OK;
    char path[PATH_MAX];
    char *json = NULL, *line = NULL;
    int fd = -1;
    if ((st = history_index_path(dir, path, sizeof path, err)))
        return st;
    if (!cJSON_IsObject(entry))
        return bench_fail(err, BENCH_EUSAGE, "%s: a history entry must be a JSON object", path);
    if (file_mkdirs(dir))
        return bench_fail(err, BENCH_EIO, "%s: cannot create the history directory: %s", dir,
                          strerror(errno));
    json = cJSON_PrintUnformatted(entry); /* one line: strings escape their newlines */
    if (!json) {
        st = bench_fail(err, BENCH_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    size_t jlen = strlen(json);
    line = malloc(jlen + 3);
    if (!line) {
        st = bench_fail(err, BENCH_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        st = bench_fail(err, BENCH_EIO, "%s: cannot open for appending: %s", path, strerror(errno));
        goto out;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            st = bench_fail(err, BENCH_EIO, "%s: cannot lock: %s", path, strerror(errno));
            goto out;
        }
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = bench_fail(err, BENCH_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    /* A line cut short by an earlier crash gets its end here, so that it
     * spoils only itself and not the entry written now. */
    size_t len = 0;
    char last = '\n';
    if (sb.st_size > 0 && pread(fd, &last, 1, sb.st_size - 1) != 1) {
        st = bench_fail(err, BENCH_EIO, "%s: cannot read: %s", path, strerror(errno));
        goto out;
    }
    if (last != '\n')
        line[len++] = '\n';
    memcpy(line + len, json, jlen);
    len += jlen;
    line[len++] = '\n';
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, line + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            st = bench_fail(err, BENCH_EIO, "%s: cannot append: %s", path,
                            w < 0 ? strerror(errno) : "no progress");
            goto out;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0) {
        st = bench_fail(err, BENCH_EIO, "%s: fsync: %s", path, strerror(errno));
        goto out;
    }
    if (sb.st_size == 0 && fsync_parent(path) != 0) {
        st = bench_fail(err, BENCH_EIO, "%s: fsync of its directory: %s", path, strerror(errno));
        goto out;
    }
out:
    if (fd >= 0 && close(fd) != 0 && !st)
        st = bench_fail(err, BENCH_EIO, "%s: close: %s", path, strerror(errno));
    free(json);
    free(line);
    return st;
}

long long history_parse_date(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s)
        return -1;
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end)
        return -1;
    time_t t = timegm(&tm);
    return t == (time_t)-1 ? -1 : (long long)t;
}

void history_now(char buf[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Why a parsed line is not an entry, or NULL when it is one. */
static const char *entry_problem(const cJSON *o)
{
    if (!cJSON_IsObject(o))
        return "not a JSON object";
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(o, "event");
    if (!cJSON_IsString(ev))
        return "no string \"event\"";
    if (strcmp(ev->valuestring, "run") && strcmp(ev->valuestring, "promote"))
        return NULL; /* an event of a later version: kept, readers ignore it */
    const cJSON *date = cJSON_GetObjectItemCaseSensitive(o, "date");
    if (!cJSON_IsString(date) || history_parse_date(date->valuestring) < 0)
        return "no \"date\" of the form YYYY-MM-DDTHH:MM:SSZ";
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "run_dir")))
        return "no string \"run_dir\"";
    return NULL;
}

bench_status history_read(const char *dir, FILE *warn, cJSON **out, size_t *n_skipped,
                          bench_err *err)
{
    bench_status st = BENCH_OK;
    char path[PATH_MAX];
    char *line = NULL;
    size_t cap = 0, skipped = 0;
    FILE *f = NULL;
    cJSON *arr = NULL;
    *out = NULL;
    if (!warn)
        warn = stderr;
    if ((st = history_index_path(dir, path, sizeof path, err)))
        return st;
    f = fopen(path, "r");
    if (!f) {
        st = bench_fail(err, BENCH_EIO, "%s: cannot open the history index: %s", path,
                        strerror(errno));
        goto out;
    }
    arr = cJSON_CreateArray();
    if (!arr) {
        st = bench_fail(err, BENCH_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    ssize_t n;
    long lineno = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        size_t lead = strspn(line, " \t");
        if (line[lead] == '\0')
            continue;
        cJSON *o = cJSON_ParseWithLength(line, (size_t)n);
        const char *why = o ? entry_problem(o) : "not valid JSON";
        if (why) {
            fprintf(warn, "%s:%ld: malformed history entry (%s), skipped\n", path, lineno, why);
            skipped++;
            cJSON_Delete(o);
            continue;
        }
        if (!cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            st = bench_fail(err, BENCH_ENOMEM, "%s:%ld: out of memory", path, lineno);
            goto out;
        }
    }
    if (ferror(f) || !feof(f)) {
        st = bench_fail(err, BENCH_EIO, "%s: read error after line %ld: %s", path, lineno,
                        strerror(errno));
        goto out;
    }
    *out = arr;
    arr = NULL;
    if (n_skipped)
        *n_skipped = skipped;
out:
    cJSON_Delete(arr);
    free(line);
    if (f)
        fclose(f);
    return st;
}

const cJSON *history_find_run(const cJSON *entries, const char *run_dir)
{
    char want[PATH_MAX], have[PATH_MAX];
    int want_real = realpath(run_dir, want) != NULL;
    const cJSON *found = NULL, *e;
    cJSON_ArrayForEach(e, entries)
    {
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(e, "event");
        const cJSON *rd = cJSON_GetObjectItemCaseSensitive(e, "run_dir");
        if (!cJSON_IsString(ev) || strcmp(ev->valuestring, "run") || !cJSON_IsString(rd))
            continue;
        int same = strcmp(rd->valuestring, run_dir) == 0;
        if (!same && want_real && realpath(rd->valuestring, have))
            same = strcmp(have, want) == 0;
        if (same)
            found = e; /* the last one wins: file order is append order */
    }
    return found;
}

/* Run argv (argv[0] looked up in $PATH) with stdin and stderr on /dev/null;
 * its stdout (at most outsz - 1 bytes, the rest read and dropped) into out.
 * Returns the exit status, or -1 when it could not run or took longer than
 * GIT_TIMEOUT_S (then it is killed). */
static int capture(char *const argv[], char *out, size_t outsz)
{
    int rfd = -1, status = -1, rc;
    pid_t pid = -1;
    size_t len = 0;
    out[0] = '\0';
    if (spawn_piped(argv[0], 1, argv, 1, &pid, &rfd) != 0)
        return -1;
    int64_t deadline = clock_now_ns() + (int64_t)GIT_TIMEOUT_S * 1000000000LL;
    int timed_out = 0;
    for (;;) {
        int64_t left_ms = (deadline - clock_now_ns()) / 1000000;
        if (left_ms <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd pf = {rfd, POLLIN, 0};
        int n = poll(&pf, 1, (int)left_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (n == 0)
            continue;
        char chunk[512];
        ssize_t got = read(rfd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        size_t take = (size_t)got < outsz - 1 - len ? (size_t)got : outsz - 1 - len;
        memcpy(out + len, chunk, take);
        len += take;
        out[len] = '\0';
    }
    if (timed_out)
        kill(pid, SIGKILL);
    while (waitpid(pid, &rc, 0) < 0 && errno == EINTR)
        ;
    pid = -1;
    if (!timed_out && WIFEXITED(rc))
        status = WEXITSTATUS(rc);
    close(rfd);
    return status;
}

void history_git(const char *root, char commit[72], int *dirty)
{
    char buf[256];
    snprintf(commit, 72, "unknown");
    *dirty = -1;
    if (!root || !*root)
        root = ".";
    char *rev[] = {"git", "-C", (char *)root, "rev-parse", "--verify", "-q", "HEAD", NULL};
    if (capture(rev, buf, sizeof buf) != 0)
        return;
    size_t n = strspn(buf, "0123456789abcdef");
    if (n != 40 && n != 64) /* SHA-1 or SHA-256 repositories */
        return;
    memcpy(commit, buf, n);
    commit[n] = '\0';
    /* --no-optional-locks: never take the index lock a concurrent git holds */
    char *status[] = {"git",         "--no-optional-locks",  "-C", (char *)root, "status",
                      "--porcelain", "--untracked-files=no", NULL};
    int rc = capture(status, buf, sizeof buf);
    if (rc == 0)
        *dirty = buf[0] != '\0';
}

void history_user(char *buf, size_t bufsz)
{
    const char *u = getenv("USER");
    struct passwd pw, *res = NULL;
    char tmp[4096];
    if (!u || !*u) {
        if (getpwuid_r(getuid(), &pw, tmp, sizeof tmp, &res) == 0 && res && res->pw_name[0])
            u = res->pw_name;
    }
    snprintf(buf, bufsz, "%s", u && *u ? u : "unknown");
}

void history_clean_url(const char *url, char *out, size_t outsz)
{
    char tmp[2048];
    snprintf(tmp, sizeof tmp, "%s", url ? url : "");
    tmp[strcspn(tmp, "?#")] = '\0';
    char *host = strstr(tmp, "://");
    host = host ? host + 3 : tmp;
    char *path = host + strcspn(host, "/");
    char saved = *path;
    *path = '\0';
    char *at = strrchr(host, '@');
    *path = saved;
    if (at)
        memmove(host, at + 1, strlen(at + 1) + 1);
    snprintf(out, outsz, "%s", tmp);
}
