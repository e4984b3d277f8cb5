/* baseline.c - `bench baseline promote` (baseline.h). */
#include "baseline.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets.h"
#include "fileio.h"
#include "history.h"
#include "results_read.h"
#include "version.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* The names of the regular *.h5 files directly in dir, sorted. */
static bench_status list_h5(const char *dir, char ***out, size_t *nout, bench_err *err)
{
    bench_status st = BENCH_OK;
    char **v = NULL;
    size_t n = 0;
    DIR *d = opendir(dir);
    *out = NULL;
    *nout = 0;
    if (!d)
        return bench_fail(err, errno == ENOENT || errno == ENOTDIR ? BENCH_EINPUT : BENCH_EIO,
                          "%s: not a readable run directory: %s", dir, strerror(errno));
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!ends_with(de->d_name, ".h5") || de->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        char **nv = realloc(v, (n + 1) * sizeof *nv);
        if (!nv || !(nv[n] = strdup(de->d_name))) {
            v = nv ? nv : v;
            st = bench_fail(err, BENCH_ENOMEM, "out of memory");
            goto out;
        }
        v = nv;
        n++;
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_str);
out:
    closedir(d);
    if (st) {
        free_names(v, n);
        return st;
    }
    *out = v;
    *nout = n;
    return BENCH_OK;
}

/* Copy src to dst (created, 0644) and fsync it. */
static bench_status copy_file(const char *src, const char *dst, bench_err *err)
{
    bench_status st = BENCH_OK;
    int in = open(src, O_RDONLY | O_CLOEXEC), outfd = -1;
    if (in < 0)
        return bench_fail(err, BENCH_EIO, "%s: cannot open: %s", src, strerror(errno));
    outfd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (outfd < 0) {
        st = bench_fail(err, BENCH_EIO, "%s: cannot create: %s", dst, strerror(errno));
        goto out;
    }
    char buf[1 << 16];
    for (;;) {
        ssize_t got = read(in, buf, sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            st = bench_fail(err, BENCH_EIO, "%s: read: %s", src, strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        for (ssize_t done = 0; done < got;) {
            ssize_t w = write(outfd, buf + done, (size_t)(got - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                st = bench_fail(err, BENCH_EIO, "%s: write: %s", dst,
                                w < 0 ? strerror(errno) : "no progress");
                goto out;
            }
            done += w;
        }
    }
    if (fsync(outfd) != 0)
        st = bench_fail(err, BENCH_EIO, "%s: fsync: %s", dst, strerror(errno));
out:
    if (outfd >= 0 && close(outfd) != 0 && !st)
        st = bench_fail(err, BENCH_EIO, "%s: close: %s", dst, strerror(errno));
    close(in);
    return st;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Remove a directory tree we created (or the old baseline it replaced). */
static int remove_tree(const char *dir)
{
    return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write BASELINE.json into dir and fsync it. */
static bench_status write_manifest(const char *dir, const cJSON *m, bench_err *err)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/BASELINE.json", dir) >= sizeof path)
        return bench_fail(err, BENCH_EUSAGE, "%s: path too long", dir);
    char *text = cJSON_Print(m);
    if (!text)
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    bench_status st = BENCH_OK;
    FILE *f = fopen(path, "wx");
    if (!f) {
        st = bench_fail(err, BENCH_EIO, "%s: cannot create: %s", path, strerror(errno));
        goto out;
    }
    if (fputs(text, f) < 0 || fputc('\n', f) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0)
        st = bench_fail(err, BENCH_EIO, "%s: cannot write: %s", path, strerror(errno));
    if (fclose(f) != 0 && !st)
        st = bench_fail(err, BENCH_EIO, "%s: cannot write: %s", path, strerror(errno));
out:
    free(text);
    return st;
}

/* Put the directory tmp in the place of dest (which may not exist). On
 * success the old baseline, if any, has been removed; on failure dest is as
 * it was. */
static bench_status swap_in(const char *tmp, const char *dest, bench_err *err)
{
    struct stat sb;
    if (lstat(dest, &sb) != 0) {
        if (errno != ENOENT)
            return bench_fail(err, BENCH_EIO, "%s: %s", dest, strerror(errno));
        if (rename(tmp, dest) != 0)
            return bench_fail(err, BENCH_EIO, "cannot rename %s to %s: %s", tmp, dest,
                              strerror(errno));
        return BENCH_OK;
    }
    if (!S_ISDIR(sb.st_mode))
        return bench_fail(err, BENCH_EIO, "%s exists and is not a directory: not replaced", dest);
    /* One atomic step: afterwards tmp names the old baseline. */
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dest, RENAME_EXCHANGE) == 0) {
        if (remove_tree(tmp) != 0)
            fprintf(stderr, "bench baseline: the old baseline was kept at %s: cannot remove: %s\n",
                    tmp, strerror(errno));
        return BENCH_OK;
    }
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return bench_fail(err, BENCH_EIO, "cannot exchange %s and %s: %s", tmp, dest,
                          strerror(errno));
    /* No exchange on this file system: move the old one aside first. */
    char old[PATH_MAX];
    snprintf(old, sizeof old, "%s.old-%ld", dest, (long)getpid());
    if (rename(dest, old) != 0)
        return bench_fail(err, BENCH_EIO, "cannot move the old baseline %s aside: %s", dest,
                          strerror(errno));
    if (rename(tmp, dest) != 0) {
        int e = errno;
        if (rename(old, dest) != 0)
            return bench_fail(err, BENCH_EIO,
                              "cannot rename %s to %s (%s), and the old baseline stays at %s: "
                              "%s",
                              tmp, dest, strerror(e), old, strerror(errno));
        return bench_fail(err, BENCH_EIO, "cannot rename %s to %s: %s", tmp, dest, strerror(e));
    }
    if (remove_tree(old) != 0)
        fprintf(stderr, "bench baseline: the old baseline was kept at %s: cannot remove: %s\n", old,
                strerror(errno));
    return BENCH_OK;
}

static int plain_name(const char *s)
{
    return s[0] && s[0] != '.' && !strchr(s, '/') && strlen(s) < 128;
}

bench_status baseline_promote(const baseline_opts *o, char *dest_out, size_t destsz, bench_err *err)
{
    bench_status st = BENCH_OK;
    char **names = NULL;
    size_t n = 0;
    cJSON *hist = NULL, *man = NULL, *ev = NULL;
    char run_abs[PATH_MAX], dest[PATH_MAX], tmp[PATH_MAX + 16], hdir[PATH_MAX], buf[PATH_MAX];
    char commit[72], user[256], now[32];
    int dirty, have_tmp = 0;
    if (!o->reason || !o->reason[0])
        return bench_fail(err, BENCH_EUSAGE,
                          "--reason is required: say why this run becomes the baseline (it is "
                          "recorded in BASELINE.json and the history)");
    if (o->suite && !plain_name(o->suite))
        return bench_fail(err, BENCH_EUSAGE, "--suite: '%s' is not a suite name", o->suite);
    if ((st = list_h5(o->run_dir, &names, &n, err)))
        return st;
    if (n == 0) {
        st = bench_fail(err, BENCH_EINPUT,
                        "%s: no results files (*.h5) in this directory: nothing to promote "
                        "(give the directory bench suite wrote, holding <model>.h5 and "
                        "<model>-<eval>.h5)",
                        o->run_dir);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        results_file *f = NULL;
        snprintf(buf, sizeof buf, "%s/%s", o->run_dir, names[i]);
        if ((st = results_open(buf, &f, err))) {
            st = bench_wrap(err, BENCH_EINPUT, "not promoted");
            goto out;
        }
        results_file_close(f);
    }
    if (!realpath(o->run_dir, run_abs)) {
        st = bench_fail(err, BENCH_EIO, "%s: %s", o->run_dir, strerror(errno));
        goto out;
    }

    /* The history: where the run came from, and where the promotion goes. */
    if (o->history_dir)
        snprintf(hdir, sizeof hdir, "%s", o->history_dir);
    else
        file_in_root("results/history", hdir, sizeof hdir);
    if ((st = history_index_path(hdir, buf, sizeof buf, err)))
        goto out;
    const cJSON *rec = NULL;
    if (access(buf, F_OK) == 0) {
        if ((st = history_read(hdir, stderr, &hist, NULL, err)))
            goto out;
        rec = history_find_run(hist, run_abs);
    }
    const char *suite = o->suite;
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(rec, "suite");
    if (!suite && cJSON_IsString(rs) && plain_name(rs->valuestring))
        suite = rs->valuestring;
    if (!suite)
        suite = "nightly";
    if (o->to)
        snprintf(dest, sizeof dest, "%s", o->to);
    else if (snprintf(buf, sizeof buf, "results/baselines/%s", suite) >= (int)sizeof buf ||
             !file_in_root(buf, dest, sizeof dest)) {
        st = bench_fail(err, BENCH_EUSAGE, "baseline path too long");
        goto out;
    }
    size_t dl = strlen(dest);
    while (dl > 1 && dest[dl - 1] == '/')
        dest[--dl] = '\0';
    if (realpath(dest, buf) && strcmp(buf, run_abs) == 0) {
        st = bench_fail(err, BENCH_EUSAGE, "%s is the run directory itself: nothing to promote",
                        dest);
        goto out;
    }

    /* Build the new baseline beside the old one (same file system). */
    if (file_mkdirs_for(dest) != 0) {
        st = bench_fail(err, BENCH_EIO, "%s: cannot create its parent directory: %s", dest,
                        strerror(errno));
        goto out;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", dest);
    if (!mkdtemp(tmp)) {
        st = bench_fail(err, BENCH_EIO, "%s: cannot create a temporary directory beside it: %s",
                        dest, strerror(errno));
        goto out;
    }
    have_tmp = 1;
    mode_t um = umask(0); /* mkdtemp made it 0700: give it a directory's usual mode */
    umask(um);
    if (chmod(tmp, 0777 & ~um) != 0) {
        st = bench_fail(err, BENCH_EIO, "%s: chmod: %s", tmp, strerror(errno));
        goto out;
    }
    history_git(file_project_root(), commit, &dirty);
    history_user(user, sizeof user);
    history_now(now);
    man = cJSON_CreateObject();
    if (!man) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    const cJSON *src_commit = cJSON_GetObjectItemCaseSensitive(rec, "git_commit");
    cJSON_AddStringToObject(man, "format", "bench-baseline");
    cJSON_AddNumberToObject(man, "version", 1);
    cJSON_AddStringToObject(man, "suite", suite);
    cJSON_AddStringToObject(man, "promoted_at", now);
    cJSON_AddStringToObject(man, "by", user);
    cJSON_AddStringToObject(man, "reason", o->reason);
    cJSON_AddStringToObject(man, "source_run", run_abs);
    cJSON_AddItemToObject(man, "source_git_commit",
                          cJSON_IsString(src_commit) ? cJSON_CreateString(src_commit->valuestring)
                                                     : cJSON_CreateNull());
    cJSON_AddStringToObject(man, "git_commit", commit);
    cJSON_AddItemToObject(man, "git_dirty",
                          dirty < 0 ? cJSON_CreateNull() : cJSON_CreateBool(dirty));
    cJSON_AddStringToObject(man, "harness_version", BENCH_VERSION);
    cJSON *files = cJSON_AddArrayToObject(man, "files");
    if (!files) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char src[PATH_MAX], dst[PATH_MAX + 300], hex[65];
        struct stat sb;
        snprintf(src, sizeof src, "%s/%s", o->run_dir, names[i]);
        snprintf(dst, sizeof dst, "%s/%s", tmp, names[i]);
        if ((st = copy_file(src, dst, err)) || (st = datasets_sha256_file(dst, hex, err)))
            goto out;
        if (stat(dst, &sb) != 0) {
            st = bench_fail(err, BENCH_EIO, "%s: %s", dst, strerror(errno));
            goto out;
        }
        cJSON *fo = cJSON_CreateObject();
        cJSON_AddItemToArray(files, fo);
        cJSON_AddStringToObject(fo, "name", names[i]);
        cJSON_AddNumberToObject(fo, "bytes", (double)sb.st_size);
        cJSON_AddStringToObject(fo, "sha256", hex);
    }
    if ((st = write_manifest(tmp, man, err)))
        goto out;
    if (fsync_dir(tmp) != 0) {
        st = bench_fail(err, BENCH_EIO, "%s: fsync: %s", tmp, strerror(errno));
        goto out;
    }
    if ((st = swap_in(tmp, dest, err)))
        goto out;
    have_tmp = 0;
    snprintf(buf, sizeof buf, "%s", dest);
    char *slash = strrchr(buf, '/');
    if (slash && slash != buf)
        *slash = '\0';
    else if (!slash)
        snprintf(buf, sizeof buf, ".");
    fsync_dir(buf);
    if (dest_out)
        snprintf(dest_out, destsz, "%s", dest);

    /* The audit trail. */
    char dest_abs[PATH_MAX];
    if (!realpath(dest, dest_abs))
        snprintf(dest_abs, sizeof dest_abs, "%s", dest);
    ev = cJSON_CreateObject();
    if (!ev) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto promoted;
    }
    cJSON_AddStringToObject(ev, "event", "promote");
    cJSON_AddStringToObject(ev, "date", now);
    cJSON_AddStringToObject(ev, "suite", suite);
    cJSON_AddStringToObject(ev, "run_dir", run_abs);
    cJSON_AddStringToObject(ev, "baseline_dir", dest_abs);
    cJSON_AddStringToObject(ev, "by", user);
    cJSON_AddStringToObject(ev, "reason", o->reason);
    cJSON_AddStringToObject(ev, "git_commit", commit);
    cJSON_AddNumberToObject(ev, "files", (double)n);
    if ((st = history_append(hdir, ev, err)))
        goto promoted;
    goto out;
promoted:
    bench_wrap(err, st, "%s is promoted to %s, but its history entry was not written", o->run_dir,
               dest);
out:
    if (have_tmp && remove_tree(tmp) != 0)
        fprintf(stderr, "bench baseline: cannot remove %s: %s\n", tmp, strerror(errno));
    free_names(names, n);
    cJSON_Delete(hist);
    cJSON_Delete(man);
    cJSON_Delete(ev);
    return st;
}

static const char baseline_usage[] =
    "usage: bench baseline promote RUN_DIR --reason TEXT [--suite NAME] [--to DIR]\n"
    "                              [--history DIR]\n"
    "\n"
    "Make a suite run the baseline that bench suite compares later runs with: the\n"
    "run's results files (RUN_DIR/*.h5, load tests and evaluations) are copied into\n"
    "the baseline directory with BASELINE.json (who, when, why, sha256 of every\n"
    "file), replacing the old baseline in one atomic step, and the promotion is\n"
    "appended to the history index.\n"
    "\n"
    "  --reason TEXT    why (required: the audit trail of the CI)\n"
    "  --suite NAME     suite the baseline belongs to (default: the run's suite as\n"
    "                   recorded in the history, else nightly)\n"
    "  --to DIR         baseline directory (default results/baselines/<suite> under\n"
    "                   the project root)\n"
    "  --history DIR    history directory (default results/history under the project\n"
    "                   root)\n"
    "  --help\n"
    "\n"
    "Exit status: 0 promoted; 1 failed (the old baseline is untouched unless the\n"
    "message says it was replaced); 2 bad flags or RUN_DIR holds no results files.\n";

int baseline_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"reason", required_argument, NULL, 'r'}, {"suite", required_argument, NULL, 's'},
        {"to", required_argument, NULL, 't'},     {"history", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    baseline_opts o = {NULL, NULL, NULL, NULL, NULL};
    bench_err err;
    int opt;
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
                      strcmp(argv[1], "help") == 0)) {
        fputs(baseline_usage, stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "promote") != 0) {
        fprintf(stderr,
                "bench baseline: %s%s%s (the command is bench baseline promote RUN_DIR "
                "--reason TEXT; see bench baseline --help)\n",
                argc < 2 ? "no subcommand" : "unknown subcommand '", argc < 2 ? "" : argv[1],
                argc < 2 ? "" : "'");
        return 2;
    }
    optind = 1;
    opterr = 0;
    argc--;
    argv++;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case 'r':
            o.reason = optarg;
            break;
        case 's':
            o.suite = optarg;
            break;
        case 't':
            o.to = optarg;
            break;
        case 'H':
            o.history_dir = optarg;
            break;
        case 'h':
            fputs(baseline_usage, stdout);
            return 0;
        case ':':
            fprintf(stderr, "bench baseline promote: %s needs a value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr,
                    "bench baseline promote: unknown option '%s' (see bench baseline --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "bench baseline promote: give exactly one RUN_DIR (see bench baseline "
                        "--help)\n");
        return 2;
    }
    o.run_dir = argv[optind];
    char dest[PATH_MAX];
    bench_status st = baseline_promote(&o, dest, sizeof dest, &err);
    if (st) {
        fprintf(stderr, "bench baseline promote: %s\n", err.msg);
        return bench_exit_code(st);
    }
    fprintf(stderr, "bench baseline: %s is now the baseline in %s\n", o.run_dir, dest);
    return 0;
}
