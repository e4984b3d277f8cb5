#include "datasets.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dynbuf.h"
#include "fileio.h"
#include "sha256.h"

#define MANIFEST_MAX (16u << 20)

/* One file of the manifest; the strings are borrowed from the cJSON tree. */
typedef struct {
    const char *path;           /* relative to the data directory */
    const char *url;            /* direct download, or NULL */
    const char *archive_url;    /* the archive it was extracted from, or NULL */
    const char *archive_member; /* its path inside that archive */
    const char *sha256;
    const char *format;
    long long size;
} ds_file;

typedef struct {
    const char *name;
    const char *title;
    const char *license;
    ds_file *files;
    size_t nfiles;
} ds_set;

typedef struct {
    cJSON *root;
    ds_set *sets;
    size_t nsets;
} ds_manifest;

/* ---- data directory ---- */

bench_status datasets_dir(const char *flag, char **out, bench_err *err)
{
    *out = NULL;
    const char *env = getenv("BENCH_DATA_DIR");
    char buf[PATH_MAX];
    const char *dir;
    if (flag && *flag) {
        dir = flag;
    } else if (env && *env) {
        dir = env;
    } else {
        const char *root = file_project_root();
        if (!root[0])
            return bench_fail(err, BENCH_EUSAGE,
                              "no data directory: the project root is unknown (set BENCH_ROOT), "
                              "and neither --data-dir nor BENCH_DATA_DIR is given");
        if (snprintf(buf, sizeof buf, "%s/../shared/datasets", root) >= (int)sizeof buf)
            return bench_fail(err, BENCH_EUSAGE, "%s/../shared/datasets: path too long", root);
        dir = buf;
    }
    *out = strdup(dir);
    return *out ? BENCH_OK : bench_fail(err, BENCH_ENOMEM, "out of memory");
}

/* ---- hashing ---- */

void datasets_sha256_hex(const void *data, size_t len, char hex[65])
{
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, data, len);
    sha256_final_hex(&c, hex);
}

/* Hash a file; *size gets its length. BENCH_EIO naming the path on failure
 * (errno is kept so callers can tell a missing file). */
static bench_status sha256_file_size(const char *path, char hex[65], long long *size,
                                     bench_err *err)
{
    bench_status st = BENCH_OK;
    unsigned char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return bench_fail(err, BENCH_EIO, "%s: cannot open: %s", path, strerror(errno));
    buf = malloc(1 << 16);
    if (!buf) {
        st = bench_fail(err, BENCH_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    sha256_ctx c;
    sha256_init(&c);
    long long n = 0;
    size_t got;
    while ((got = fread(buf, 1, 1 << 16, f)) > 0) {
        sha256_update(&c, buf, got);
        n += (long long)got;
    }
    if (ferror(f)) {
        st = bench_fail(err, BENCH_EIO, "%s: read error: %s", path, strerror(errno));
        goto out;
    }
    sha256_final_hex(&c, hex);
    if (size)
        *size = n;
out:
    free(buf);
    fclose(f);
    return st;
}

bench_status datasets_sha256_file(const char *path, char hex[65], bench_err *err)
{
    return sha256_file_size(path, hex, NULL, err);
}

/* ---- the manifest ---- */

static void manifest_free(ds_manifest *m)
{
    for (size_t i = 0; i < m->nsets; i++)
        free(m->sets[i].files);
    free(m->sets);
    cJSON_Delete(m->root);
    memset(m, 0, sizeof *m);
}

static const char *get_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

static int is_sha256_hex(const char *s)
{
    size_t i = 0;
    for (; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return i == 64;
}

/* A relative path that stays inside the directory it is joined to. */
static int is_safe_relpath(const char *p)
{
    if (!*p || *p == '/')
        return 0;
    const char *s = p;
    for (;;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return 0;
        if (!e)
            return 1;
        s = e + 1;
    }
}

static bench_status parse_file(const char *mpath, const char *where, const cJSON *o, ds_file *f,
                               bench_err *err)
{
    static const char *const formats[] = {"jsonl.gz", "jsonl", "csv", "text"};
    if (!cJSON_IsObject(o))
        return bench_fail(err, BENCH_EINPUT, "%s: %s: not an object", mpath, where);
    f->path = get_str(o, "path");
    if (!f->path || !is_safe_relpath(f->path))
        return bench_fail(err, BENCH_EINPUT,
                          "%s: %s: \"path\" must be a relative path without '.' or '..' parts",
                          mpath, where);
    f->url = get_str(o, "url");
    const cJSON *ar = cJSON_GetObjectItemCaseSensitive(o, "archive");
    f->archive_url = f->archive_member = NULL;
    if (ar) {
        f->archive_url = get_str(ar, "url");
        f->archive_member = get_str(ar, "member");
        if (!f->archive_url || !f->archive_member)
            return bench_fail(err, BENCH_EINPUT,
                              "%s: %s (%s): \"archive\" needs \"url\" and \"member\" strings",
                              mpath, where, f->path);
    }
    if (!f->url && !f->archive_url)
        return bench_fail(err, BENCH_EINPUT, "%s: %s (%s): neither \"url\" nor \"archive\"", mpath,
                          where, f->path);
    f->sha256 = get_str(o, "sha256");
    if (!f->sha256 || !is_sha256_hex(f->sha256))
        return bench_fail(err, BENCH_EINPUT,
                          "%s: %s (%s): \"sha256\" must be 64 lowercase hex digits", mpath, where,
                          f->path);
    const cJSON *sz = cJSON_GetObjectItemCaseSensitive(o, "size");
    if (!cJSON_IsNumber(sz) || sz->valuedouble < 0 || sz->valuedouble > 1e15 ||
        sz->valuedouble != (double)(long long)sz->valuedouble)
        return bench_fail(err, BENCH_EINPUT, "%s: %s (%s): \"size\" must be a byte count", mpath,
                          where, f->path);
    f->size = (long long)sz->valuedouble;
    f->format = get_str(o, "format");
    int known = 0;
    for (size_t i = 0; f->format && i < sizeof formats / sizeof *formats; i++)
        known |= strcmp(f->format, formats[i]) == 0;
    if (!known)
        return bench_fail(err, BENCH_EINPUT,
                          "%s: %s (%s): \"format\" must be jsonl.gz, jsonl, csv or text", mpath,
                          where, f->path);
    return BENCH_OK;
}

static bench_status manifest_load(const char *path, ds_manifest *m, bench_err *err)
{
    bench_status st = BENCH_OK;
    char *text = NULL;
    size_t len = 0;
    memset(m, 0, sizeof *m);
    st = file_read_all(path, MANIFEST_MAX, &text, &len, err);
    if (st)
        return st == BENCH_EIO ? bench_wrap(err, st, "dataset manifest") : st;
    m->root = cJSON_ParseWithLength(text, len);
    if (!m->root) {
        const char *at = cJSON_GetErrorPtr();
        int line = 1;
        for (const char *p = text; at && p < at && p < text + len; p++)
            line += *p == '\n';
        st = bench_fail(err, BENCH_EINPUT, "%s:%d: not valid JSON", path, line);
        goto out;
    }
    const cJSON *sets = cJSON_GetObjectItemCaseSensitive(m->root, "datasets");
    if (!cJSON_IsArray(sets) || cJSON_GetArraySize(sets) == 0) {
        st = bench_fail(err, BENCH_EINPUT, "%s: \"datasets\" must be a non-empty array", path);
        goto out;
    }
    size_t n = (size_t)cJSON_GetArraySize(sets);
    m->sets = calloc(n, sizeof *m->sets);
    if (!m->sets) {
        st = bench_fail(err, BENCH_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    const cJSON *d;
    cJSON_ArrayForEach(d, sets)
    {
        ds_set *s = &m->sets[m->nsets];
        size_t di = m->nsets++;
        s->name = get_str(d, "name");
        if (!s->name) {
            st = bench_fail(err, BENCH_EINPUT, "%s: datasets[%zu]: no \"name\"", path, di);
            goto out;
        }
        for (size_t j = 0; j < di; j++)
            if (strcmp(m->sets[j].name, s->name) == 0) {
                st = bench_fail(err, BENCH_EINPUT, "%s: dataset '%s' is listed twice", path,
                                s->name);
                goto out;
            }
        s->title = get_str(d, "title");
        s->license = get_str(d, "license");
        const cJSON *files = cJSON_GetObjectItemCaseSensitive(d, "files");
        if (!cJSON_IsArray(files) || cJSON_GetArraySize(files) == 0) {
            st = bench_fail(err, BENCH_EINPUT,
                            "%s: dataset '%s': \"files\" must be a non-empty array", path, s->name);
            goto out;
        }
        s->files = calloc((size_t)cJSON_GetArraySize(files), sizeof *s->files);
        if (!s->files) {
            st = bench_fail(err, BENCH_ENOMEM, "%s: out of memory", path);
            goto out;
        }
        const cJSON *f;
        cJSON_ArrayForEach(f, files)
        {
            char where[96];
            snprintf(where, sizeof where, "dataset '%.40s' files[%zu]", s->name, s->nfiles);
            st = parse_file(path, where, f, &s->files[s->nfiles], err);
            if (st)
                goto out;
            s->nfiles++;
        }
    }
out:
    free(text);
    if (st)
        manifest_free(m);
    return st;
}

static const ds_set *manifest_find(const ds_manifest *m, const char *name)
{
    for (size_t i = 0; i < m->nsets; i++)
        if (strcmp(m->sets[i].name, name) == 0)
            return &m->sets[i];
    return NULL;
}

static bench_status unknown_dataset(const ds_manifest *m, const char *mpath, const char *name,
                                    bench_err *err)
{
    char names[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < m->nsets && used < sizeof names; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                 m->sets[i].name);
    return bench_fail(err, BENCH_EUSAGE, "unknown dataset '%s' (%s has: %s)", name, mpath, names);
}

/* ---- verify ---- */

static bench_status verify_loaded(const ds_manifest *m, const char *mpath, const char *data_dir,
                                  const char *name, FILE *out, bench_err *err)
{
    const ds_set *only = NULL;
    if (name && !(only = manifest_find(m, name)))
        return unknown_dataset(m, mpath, name, err);
    size_t nok = 0, nbad = 0;
    const char *first_path = NULL, *first_kind = NULL;
    char first_why[1024] = "";
    for (size_t i = 0; i < m->nsets; i++) {
        const ds_set *s = &m->sets[i];
        if (only && s != only)
            continue;
        for (size_t j = 0; j < s->nfiles; j++) {
            const ds_file *f = &s->files[j];
            char full[PATH_MAX], hex[65], why[1024];
            const char *kind;
            long long size = 0;
            bench_err e;
            if (snprintf(full, sizeof full, "%s/%s", data_dir, f->path) >= (int)sizeof full)
                return bench_fail(err, BENCH_EUSAGE, "%s/%s: path too long", data_dir, f->path);
            if (sha256_file_size(full, hex, &size, &e)) {
                kind = "MISSING";
                snprintf(why, sizeof why, "(%s)", e.msg);
            } else if (size != f->size || strcmp(hex, f->sha256) != 0) {
                kind = "MISMATCH";
                snprintf(why, sizeof why, "(sha256 %s, %lld bytes; expected %s, %lld bytes)", hex,
                         size, f->sha256, f->size);
            } else {
                nok++;
                if (out)
                    fprintf(out, "ok        %s\n", f->path);
                continue;
            }
            if (out)
                fprintf(out, "%-9s %s %s\n", kind, f->path, why);
            if (!nbad++) {
                first_path = f->path;
                first_kind = kind;
                snprintf(first_why, sizeof first_why, "%s", why);
            }
        }
    }
    if (out)
        fprintf(out, "%zu ok, %zu failed (%s, data directory %s)\n", nok, nbad,
                only ? only->name : "every dataset", data_dir);
    if (nbad)
        return bench_fail(err, BENCH_EINPUT,
                          "%zu of %zu files failed verification under %s; first: %s: %s %s", nbad,
                          nok + nbad, data_dir, first_path, first_kind, first_why);
    return BENCH_OK;
}

bench_status datasets_verify(const char *manifest_path, const char *data_dir, const char *name,
                             FILE *out, bench_err *err)
{
    ds_manifest m;
    bench_status st = manifest_load(manifest_path, &m, err);
    if (st)
        return st;
    st = verify_loaded(&m, manifest_path, data_dir, name, out, err);
    manifest_free(&m);
    return st;
}

/* ---- fetch ---- */

typedef struct {
    FILE *f;
    sha256_ctx sha;
    long long n, max;
    int too_big, write_failed;
} fetch_sink;

static size_t fetch_write(char *p, size_t size, size_t nmemb, void *ud)
{
    fetch_sink *s = ud;
    size_t n = size * nmemb;
    if (s->n + (long long)n > s->max) {
        s->too_big = 1;
        return 0;
    }
    if (fwrite(p, 1, n, s->f) != n) {
        s->write_failed = 1;
        return 0;
    }
    sha256_update(&s->sha, p, n);
    s->n += (long long)n;
    return n;
}

/* mirror + "/" + path, percent-encoding what is not unreserved in each part. */
static bench_status mirror_url(const char *mirror, const char *path, dynbuf *url)
{
    bench_status st = dynbuf_adds(url, mirror);
    if (!st && (url->len == 0 || url->p[url->len - 1] != '/'))
        st = dynbuf_adds(url, "/");
    for (const unsigned char *p = (const unsigned char *)path; !st && *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~/", *p))
            st = dynbuf_add(url, p, 1);
        else
            st = dynbuf_addf(url, "%%%02X", *p);
    }
    return st;
}

/* Download one file into dest through a temporary file beside it. */
static bench_status fetch_one(const ds_file *f, const char *url, const char *dest, bench_err *err)
{
    bench_status st = BENCH_OK;
    char tmp[PATH_MAX], curl_msg[CURL_ERROR_SIZE] = "";
    int fd = -1;
    fetch_sink sink = {.max = f->size};
    CURL *c = NULL;
    const char *slash = strrchr(dest, '/');
    int dirlen = slash ? (int)(slash - dest) : 1;
    const char *base = slash ? slash + 1 : dest;
    if (snprintf(tmp, sizeof tmp, "%.*s/.%s.part-XXXXXX", dirlen, slash ? dest : ".", base) >=
        (int)sizeof tmp)
        return bench_fail(err, BENCH_EUSAGE, "%s: path too long", dest);
    if (file_mkdirs_for(dest))
        return bench_fail(err, BENCH_EIO, "%s: cannot create its directory: %s", dest,
                          strerror(errno));
    fd = mkstemp(tmp);
    if (fd < 0)
        return bench_fail(err, BENCH_EIO, "%s: cannot create a temporary file: %s", tmp,
                          strerror(errno));
    sink.f = fdopen(fd, "wb");
    if (!sink.f) {
        st = bench_fail(err, BENCH_EIO, "%s: %s", tmp, strerror(errno));
        close(fd);
        goto out;
    }
    sha256_init(&sink.sha);
    c = curl_easy_init();
    if (!c) {
        st = bench_fail(err, BENCH_ENOMEM, "%s: curl_easy_init failed", f->path);
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "file,http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "bench-datasets/1");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_msg);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    CURLcode rc = curl_easy_perform(c);
    if (sink.too_big) {
        st = bench_fail(err, BENCH_EPROTO,
                        "%s: %s sent more than the manifest's %lld bytes; not kept", f->path, url,
                        f->size);
        goto out;
    }
    if (sink.write_failed) {
        st = bench_fail(err, BENCH_EIO, "%s: writing %s: %s", f->path, tmp, strerror(errno));
        goto out;
    }
    if (rc != CURLE_OK) {
        st = bench_fail(err, BENCH_EIO, "%s: download from %s failed: %s", f->path, url,
                        curl_msg[0] ? curl_msg : curl_easy_strerror(rc));
        goto out;
    }
    if (fflush(sink.f) || fsync(fileno(sink.f))) {
        st = bench_fail(err, BENCH_EIO, "%s: writing %s: %s", f->path, tmp, strerror(errno));
        goto out;
    }
    char hex[65];
    sha256_final_hex(&sink.sha, hex);
    if (strcmp(hex, f->sha256) != 0 || sink.n != f->size) {
        st = bench_fail(err, BENCH_EINPUT,
                        "%s: sha256 mismatch: expected %s, got %s (%lld bytes from %s); refused, "
                        "nothing written",
                        f->path, f->sha256, hex, sink.n, url);
        goto out;
    }
    if (fchmod(fileno(sink.f), 0644) || rename(tmp, dest)) {
        st = bench_fail(err, BENCH_EIO, "%s: cannot move %s into place: %s", f->path, tmp,
                        strerror(errno));
        goto out;
    }
    tmp[0] = '\0'; /* moved: nothing to remove */
out:
    if (c)
        curl_easy_cleanup(c);
    if (sink.f && fclose(sink.f) && !st)
        st = bench_fail(err, BENCH_EIO, "%s: closing %s: %s", f->path, dest, strerror(errno));
    if (tmp[0])
        unlink(tmp);
    return st;
}

/* True when dir/<path> exists with the manifest's size and sha256. */
static int file_intact(const char *dir, const ds_file *f)
{
    char path[PATH_MAX], hex[65];
    long long size = -1;
    if (snprintf(path, sizeof path, "%s/%s", dir, f->path) >= (int)sizeof path)
        return 0;
    return sha256_file_size(path, hex, &size, NULL) == BENCH_OK && size == f->size &&
           strcmp(hex, f->sha256) == 0;
}

static bench_status fetch_loaded(const ds_manifest *m, const char *mpath, const char *name,
                                 const char *to_dir, FILE *out, bench_err *err)
{
    const ds_set *only = NULL;
    if (name && !(only = manifest_find(m, name)))
        return unknown_dataset(m, mpath, name, err);
    const char *mirror = getenv("BENCH_DATASETS_MIRROR");
    if (mirror && !*mirror)
        mirror = NULL;
    /* Without a mirror, refuse before downloading anything when some needed
     * file only exists inside an archive. */
    const ds_file *first = NULL;
    size_t nunreachable = 0;
    for (size_t i = 0; !mirror && i < m->nsets; i++)
        for (size_t j = 0; (!only || &m->sets[i] == only) && j < m->sets[i].nfiles; j++) {
            const ds_file *f = &m->sets[i].files[j];
            if (!f->url && !file_intact(to_dir, f) && !nunreachable++)
                first = f;
        }
    if (first)
        return bench_fail(err, BENCH_EUSAGE,
                          "%s (and %zu more): no direct URL, only member %s of the archive %s; "
                          "set BENCH_DATASETS_MIRROR to a base URL that holds the data "
                          "directory's files, e.g. file:///path/to/shared/datasets",
                          first->path, nunreachable - 1, first->archive_member, first->archive_url);
    bench_status st = BENCH_OK;
    dynbuf url;
    dynbuf_init(&url, 1 << 16);
    size_t nfetched = 0, npresent = 0;
    for (size_t i = 0; !st && i < m->nsets; i++) {
        const ds_set *s = &m->sets[i];
        if (only && s != only)
            continue;
        for (size_t j = 0; !st && j < s->nfiles; j++) {
            const ds_file *f = &s->files[j];
            char dest[PATH_MAX];
            if (snprintf(dest, sizeof dest, "%s/%s", to_dir, f->path) >= (int)sizeof dest) {
                st = bench_fail(err, BENCH_EUSAGE, "%s/%s: path too long", to_dir, f->path);
                break;
            }
            if (file_intact(to_dir, f)) {
                npresent++;
                if (out)
                    fprintf(out, "present   %s\n", f->path);
                continue;
            }
            dynbuf_reset(&url);
            if (mirror) {
                if (mirror_url(mirror, f->path, &url)) {
                    st = bench_fail(err, BENCH_EUSAGE, "BENCH_DATASETS_MIRROR: URL too long");
                    break;
                }
            } else if (f->url) {
                if (dynbuf_adds(&url, f->url)) {
                    st = bench_fail(err, BENCH_ENOMEM, "out of memory");
                    break;
                }
            } else {
                st = bench_fail(err, BENCH_EUSAGE, "%s: no URL", f->path); /* checked above */
                break;
            }
            st = fetch_one(f, url.p, dest, err);
            if (!st) {
                nfetched++;
                if (out)
                    fprintf(out, "fetched   %s (%lld bytes, sha256 ok)\n", f->path, f->size);
            }
        }
    }
    if (!st && out)
        fprintf(out, "%zu fetched, %zu already present (%s into %s)\n", nfetched, npresent,
                only ? only->name : "every dataset", to_dir);
    dynbuf_free(&url);
    return st;
}

bench_status datasets_fetch(const char *manifest_path, const char *name, const char *to_dir,
                            FILE *out, bench_err *err)
{
    ds_manifest m;
    bench_status st = manifest_load(manifest_path, &m, err);
    if (st)
        return st;
    st = fetch_loaded(&m, manifest_path, name, to_dir, out, err);
    manifest_free(&m);
    return st;
}

/* ---- bench datasets ---- */

static const char datasets_usage[] =
    "usage: bench datasets list [--manifest FILE]\n"
    "       bench datasets verify [NAME] [--data-dir DIR] [--manifest FILE]\n"
    "       bench datasets fetch NAME --to DIR [--manifest FILE]\n"
    "\n"
    "The evaluation data files, their sources and sha256 (datasets/manifest.json).\n"
    "  list              each dataset with its file count, size and license\n"
    "  verify [NAME]     hash every file of NAME (default: every dataset) in the data\n"
    "                    directory against the manifest: ok, MISSING or MISMATCH a line\n"
    "  fetch NAME        download NAME's files into DIR (file://, http://, https://),\n"
    "                    each through a temporary file, checked against its sha256\n"
    "                    before it is moved into place; files already there and intact\n"
    "                    are kept\n"
    "Options:\n"
    "  --data-dir DIR    data directory (default $BENCH_DATA_DIR, else\n"
    "                    <project root>/../shared/datasets)\n"
    "  --to DIR          where fetch writes (files go to DIR/<manifest path>)\n"
    "  --manifest FILE   the manifest (default <project root>/datasets/manifest.json)\n"
    "Environment:\n"
    "  BENCH_DATASETS_MIRROR  base URL that fetch uses instead of each file's own URL\n"
    "                    (the manifest path is appended); needed for files that only\n"
    "                    exist inside an archive (the MMLU CSVs)\n"
    "\n"
    "Exit status: 0 ok; 1 a download or a write failed; 2 a file missing or not matching\n"
    "its sha256 (verify, fetch), bad usage or manifest.\n";

static int cmd_list(const ds_manifest *m, FILE *out)
{
    fprintf(out, "%-12s %6s %10s  %-11s %s\n", "dataset", "files", "bytes", "license", "title");
    for (size_t i = 0; i < m->nsets; i++) {
        const ds_set *s = &m->sets[i];
        long long bytes = 0;
        size_t direct = 0;
        for (size_t j = 0; j < s->nfiles; j++) {
            bytes += s->files[j].size;
            direct += s->files[j].url != NULL;
        }
        fprintf(out, "%-12s %6zu %10lld  %-11s %s", s->name, s->nfiles, bytes,
                s->license ? s->license : "-", s->title ? s->title : "");
        if (direct < s->nfiles)
            fprintf(out, " (%zu files from an archive: fetch needs BENCH_DATASETS_MIRROR)",
                    s->nfiles - direct);
        fputc('\n', out);
    }
    return 0;
}

int datasets_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"manifest", required_argument, NULL, 'm'},
        {"to", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *sub = argc > 1 ? argv[1] : NULL;
    if (!sub) {
        fputs(datasets_usage, stderr);
        return 2;
    }
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(datasets_usage, stdout);
        return 0;
    }
    int is_list = strcmp(sub, "list") == 0, is_verify = strcmp(sub, "verify") == 0,
        is_fetch = strcmp(sub, "fetch") == 0;
    if (!is_list && !is_verify && !is_fetch) {
        fprintf(stderr,
                "bench datasets: unknown command '%s' (list, verify, fetch; see bench datasets "
                "--help)\n",
                sub);
        return 2;
    }
    const char *data_flag = NULL, *manifest_flag = NULL, *to = NULL;
    int opt;
    optind = 0; /* a full re-initialisation: getopt may have run on other vectors */
    opterr = 0;
    while ((opt = getopt_long(argc - 1, argv + 1, ":", opts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            data_flag = optarg;
            break;
        case 'm':
            manifest_flag = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'h':
            fputs(datasets_usage, stdout);
            return 0;
        case ':':
            fprintf(stderr, "bench datasets %s: %s needs a value\n", sub, argv[optind]);
            return 2;
        default:
            fprintf(stderr, "bench datasets %s: unknown option '%s' (see bench datasets --help)\n",
                    sub, argv[optind]);
            return 2;
        }
    }
    /* argv + 1 was parsed: its index i is argv's i + 1 */
    int npos = argc - 1 - optind;
    const char *name = npos > 0 ? argv[1 + optind] : NULL;
    if ((is_list && npos > 0) || npos > 1) {
        fprintf(stderr, "bench datasets %s: unexpected argument '%s'\n", sub,
                argv[1 + optind + (is_list ? 0 : 1)]);
        return 2;
    }
    if ((is_list || is_fetch) && data_flag) {
        fprintf(stderr, "bench datasets %s: --data-dir applies to verify only (fetch takes --to)\n",
                sub);
        return 2;
    }
    if (!is_fetch && to) {
        fprintf(stderr, "bench datasets %s: --to applies to fetch only\n", sub);
        return 2;
    }
    if (is_fetch && (!name || !to)) {
        fprintf(stderr, "bench datasets fetch: give a dataset name and --to DIR\n");
        return 2;
    }
    char mbuf[PATH_MAX];
    const char *mpath =
        manifest_flag ? manifest_flag : file_in_root("datasets/manifest.json", mbuf, sizeof mbuf);
    ds_manifest m;
    bench_err err;
    char *dir = NULL;
    int code = 0;
    bench_status st = manifest_load(mpath, &m, &err);
    if (st) {
        fprintf(stderr, "bench datasets: %s\n", err.msg);
        return 2;
    }
    if (is_list) {
        code = cmd_list(&m, stdout);
        goto out;
    }
    if (name && !manifest_find(&m, name)) {
        unknown_dataset(&m, mpath, name, &err);
        fprintf(stderr, "bench datasets %s: %s\n", sub, err.msg);
        code = 2;
        goto out;
    }
    if (is_verify && (st = datasets_dir(data_flag, &dir, &err)) != BENCH_OK) {
        fprintf(stderr, "bench datasets %s: %s\n", sub, err.msg);
        code = 2;
        goto out;
    }
    st = is_verify ? verify_loaded(&m, mpath, dir, name, stdout, &err)
                   : fetch_loaded(&m, mpath, name, to, stdout, &err);
    if (st) {
        /* a missing or mismatched file is bad input (2); a failed download or
         * write is not (1) */
        fprintf(stderr, "bench datasets %s: %s\n", sub, err.msg);
        code = bench_exit_code(st);
    }
out:
    free(dir);
    manifest_free(&m);
    return code;
}
