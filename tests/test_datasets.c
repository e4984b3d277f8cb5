/* Unit tests: SHA-256 (FIPS 180-4 vectors), the dataset manifest against the
 * real ../shared/datasets, verify catching a tampered or missing file, and
 * fetch over file:// (mirror and manifest URLs), refusing a file whose hash
 * differs without leaving anything behind. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cutest.h"
#include "datasets.h"
#include "fileio.h"
#include "sha256.h"

static const char *manifest(void)
{
    static char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s/datasets/manifest.json", cutest_root());
    return buf;
}

/* The real data directory, absolute (for file:// URLs). */
static char *slurp(const char *path, size_t *len)
{
    char *b = NULL;
    bench_err e;
    if (file_read_all(path, 64 << 20, &b, len, &e) != BENCH_OK)
        return NULL;
    return b;
}

static int write_file(const char *path, const void *data, size_t len)
{
    if (file_mkdirs_for(path))
        return -1;
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && n == len) ? 0 : -1;
}

static int copy_file(const char *from, const char *to)
{
    size_t len;
    char *b = slurp(from, &len);
    if (!b)
        return -1;
    int rc = write_file(to, b, len);
    free(b);
    return rc;
}

static int same_bytes(const char *a, const char *b)
{
    size_t la, lb;
    char *x = slurp(a, &la), *y = slurp(b, &lb);
    int same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

/* Number of directory entries other than . and .. (-1 when it cannot be read). */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void test_sha256_vectors(void)
{
    char hex[65];
    datasets_sha256_hex("abc", 3, hex);
    CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    datasets_sha256_hex("", 0, hex);
    CU_ASSERT_STRING_EQUAL(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    datasets_sha256_hex(two, strlen(two), hex);
    CU_ASSERT_STRING_EQUAL(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

    char *million = malloc(1000000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(million);
    memset(million, 'a', 1000000);
    datasets_sha256_hex(million, 1000000, hex);
    CU_ASSERT_STRING_EQUAL(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* the same bytes fed in uneven pieces (partial blocks, 55/56/64-byte edges) */
    sha256_ctx c;
    sha256_init(&c);
    size_t steps[] = {1, 55, 56, 63, 64, 65, 7, 1000};
    size_t off = 0;
    for (size_t i = 0; off < 1000000; i++) {
        size_t n = steps[i % 8];
        if (n > 1000000 - off)
            n = 1000000 - off;
        sha256_update(&c, million + off, n);
        off += n;
    }
    sha256_final_hex(&c, hex);
    CU_ASSERT_STRING_EQUAL(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);

    /* a file: matches SHA256SUMS of the shared data */
    char path[PATH_MAX];
    bench_err e;
    snprintf(path, sizeof path, "%s/humaneval/LICENSE", cutest_data_dir());
    CU_ASSERT_EQUAL(datasets_sha256_file(path, hex, &e), BENCH_OK);
    CU_ASSERT_STRING_EQUAL(hex, "bcba3de214851cce46ed5af42d6698044616eeace887c3231bc7a20474ab639e");
    CU_ASSERT_EQUAL(datasets_sha256_file("/nonexistent/file", hex, &e), BENCH_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "/nonexistent/file"));
}

static void test_data_dir(void)
{
    char *d = NULL, *saved = NULL;
    bench_err e;
    const char *env = getenv("BENCH_DATA_DIR");
    if (env)
        saved = strdup(env);
    CU_ASSERT_EQUAL(datasets_dir("/flag/dir", &d, &e), BENCH_OK);
    CU_ASSERT_STRING_EQUAL(d, "/flag/dir");
    free(d);
    setenv("BENCH_DATA_DIR", "/env/dir", 1);
    CU_ASSERT_EQUAL(datasets_dir(NULL, &d, &e), BENCH_OK);
    CU_ASSERT_STRING_EQUAL(d, "/env/dir");
    free(d);
    CU_ASSERT_EQUAL(datasets_dir("/flag/dir", &d, &e), BENCH_OK);
    CU_ASSERT_STRING_EQUAL(d, "/flag/dir"); /* the flag wins over the environment */
    free(d);
    unsetenv("BENCH_DATA_DIR");
    CU_ASSERT_EQUAL(datasets_dir(NULL, &d, &e), BENCH_OK);
    char want[PATH_MAX];
    snprintf(want, sizeof want, "%s/../shared/datasets", file_project_root());
    CU_ASSERT_STRING_EQUAL(d, want);
    free(d);
    if (saved)
        setenv("BENCH_DATA_DIR", saved, 1);
    free(saved);
}

static void test_verify_real(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    bench_err e;
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    bench_status st = datasets_verify(manifest(), cutest_data_dir(), NULL, out, &e);
    fclose(out);
    if (st)
        fprintf(stderr, "verify: %s\n", e.msg);
    CU_ASSERT_EQUAL(st, BENCH_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "180 ok, 0 failed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "ok        mmlu/test/abstract_algebra_test.csv\n"));
    free(buf);

    CU_ASSERT_EQUAL(datasets_verify(manifest(), cutest_data_dir(), "humaneval", NULL, &e),
                    BENCH_OK);
    CU_ASSERT_EQUAL(datasets_verify(manifest(), cutest_data_dir(), "nope", NULL, &e), BENCH_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "nope"));
    CU_ASSERT_EQUAL(
        datasets_verify("/nonexistent/manifest.json", cutest_data_dir(), NULL, NULL, &e),
        BENCH_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "/nonexistent/manifest.json"));
}

static void test_verify_tampered(void)
{
    char *tmp = cutest_tmpdir("datasets-tamper");
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    static const char *const files[] = {"mt_bench/question.jsonl", "mt_bench/judge_prompts.jsonl",
                                        "mt_bench/LICENSE"};
    char from[PATH_MAX], to[PATH_MAX];
    for (int i = 0; i < 3; i++) {
        snprintf(from, sizeof from, "%s/%s", cutest_data_dir(), files[i]);
        snprintf(to, sizeof to, "%s/%s", tmp, files[i]);
        CU_ASSERT_EQUAL_FATAL(copy_file(from, to), 0);
    }
    bench_err e;
    /* reference_answer/gpt-4.jsonl was not copied: MISSING */
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    CU_ASSERT_EQUAL(datasets_verify(manifest(), tmp, "mt_bench", out, &e), BENCH_EINPUT);
    fclose(out);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "ok        mt_bench/question.jsonl\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "MISSING   mt_bench/reference_answer/gpt-4.jsonl"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "mt_bench/reference_answer/gpt-4.jsonl"));
    free(buf);

    /* flip one byte of question.jsonl: MISMATCH, named first */
    snprintf(to, sizeof to, "%s/mt_bench/question.jsonl", tmp);
    size_t n;
    char *b = slurp(to, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    b[n / 2] ^= 0x20;
    CU_ASSERT_EQUAL_FATAL(write_file(to, b, n), 0);
    free(b);
    buf = NULL;
    out = open_memstream(&buf, &len);
    CU_ASSERT_EQUAL(datasets_verify(manifest(), tmp, "mt_bench", out, &e), BENCH_EINPUT);
    fclose(out);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "MISMATCH  mt_bench/question.jsonl"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "ok        mt_bench/LICENSE\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "2 ok, 2 failed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "mt_bench/question.jsonl: MISMATCH"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(e.msg, "expected 119565adbab82227089cefdb44c8d7e2cf04dc0a0ec233634c82e7d4e2a944f7"));
    free(buf);

    /* the command: exit status 2 for a failed verification (bad input) and
     * for usage */
    char *argv1[] = {"datasets", "verify", "mt_bench", "--data-dir", tmp, NULL};
    CU_ASSERT_EQUAL(datasets_main(5, argv1), 2);
    char *argv2[] = {"datasets", "verify", "humaneval", "--data-dir", (char *)cutest_data_dir(),
                     NULL};
    CU_ASSERT_EQUAL(datasets_main(5, argv2), 0);
    char *argv3[] = {"datasets", "verify", "--bogus", NULL};
    CU_ASSERT_EQUAL(datasets_main(3, argv3), 2);
    char *argv4[] = {"datasets", "fetch", "mmlu", NULL}; /* no --to */
    CU_ASSERT_EQUAL(datasets_main(3, argv4), 2);
    char *argv5[] = {"datasets", "verify", "nope", NULL};
    CU_ASSERT_EQUAL(datasets_main(3, argv5), 2);
    free(tmp);
}

static void test_fetch_mirror(void)
{
    char *tmp = cutest_tmpdir("datasets-fetch");
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    bench_err e;
    /* without a mirror the MMLU CSVs (archive members) cannot be fetched:
     * refused before anything is downloaded */
    unsetenv("BENCH_DATASETS_MIRROR");
    CU_ASSERT_EQUAL(datasets_fetch(manifest(), "mmlu", tmp, NULL, &e), BENCH_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "BENCH_DATASETS_MIRROR"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "mmlu.zip"));
    CU_ASSERT_EQUAL(count_entries(tmp), 0);

    char mirror[PATH_MAX + 16];
    snprintf(mirror, sizeof mirror, "file://%s/", cutest_data_dir());
    setenv("BENCH_DATASETS_MIRROR", mirror, 1);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    bench_status st = datasets_fetch(manifest(), "mt_bench", tmp, out, &e);
    if (!st)
        st = datasets_fetch(manifest(), "mmlu", tmp, out, &e);
    fclose(out);
    if (st)
        fprintf(stderr, "fetch: %s\n", e.msg);
    CU_ASSERT_EQUAL(st, BENCH_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "4 fetched, 0 already present"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "174 fetched, 0 already present"));
    free(buf);
    static const char *const some[] = {"mt_bench/question.jsonl",
                                       "mt_bench/reference_answer/gpt-4.jsonl",
                                       "mmlu/test/abstract_algebra_test.csv", "mmlu/README.txt"};
    for (int i = 0; i < 4; i++) {
        char a[PATH_MAX], b[PATH_MAX];
        snprintf(a, sizeof a, "%s/%s", cutest_data_dir(), some[i]);
        snprintf(b, sizeof b, "%s/%s", tmp, some[i]);
        CU_ASSERT(same_bytes(a, b));
    }
    CU_ASSERT_EQUAL(datasets_verify(manifest(), tmp, "mmlu", NULL, &e), BENCH_OK);
    CU_ASSERT_EQUAL(datasets_verify(manifest(), tmp, "mt_bench", NULL, &e), BENCH_OK);
    /* again: everything is already there and intact */
    buf = NULL;
    out = open_memstream(&buf, &len);
    CU_ASSERT_EQUAL(datasets_fetch(manifest(), "mt_bench", tmp, out, &e), BENCH_OK);
    fclose(out);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "0 fetched, 4 already present"));
    free(buf);
    /* a mirror that does not have the files: a download error naming the file */
    char *tmp2 = cutest_tmpdir("datasets-fetch-none");
    setenv("BENCH_DATASETS_MIRROR", "file:///nonexistent/mirror", 1);
    CU_ASSERT_EQUAL(datasets_fetch(manifest(), "humaneval", tmp2, NULL, &e), BENCH_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "humaneval/HumanEval.jsonl.gz"));
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/humaneval", tmp2);
    CU_ASSERT(count_entries(sub) <= 0); /* no temporary file left */
    unsetenv("BENCH_DATASETS_MIRROR");
    free(tmp2);
    free(tmp);
}

/* A one-file manifest whose url is file:// into the shared data. */
static char *write_manifest(const char *dir, const char *sha, long long size)
{
    char path[PATH_MAX], text[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    snprintf(text, sizeof text,
             "{\"version\": 1, \"datasets\": [{\"name\": \"mtq\", \"files\": [{\"path\": "
             "\"mtq/question.jsonl\", \"url\": \"file://%s/mt_bench/question.jsonl\", \"sha256\": "
             "\"%s\", \"size\": %lld, \"format\": \"jsonl\"}]}]}\n",
             cutest_data_dir(), sha, size);
    if (write_file(path, text, strlen(text)))
        return NULL;
    return strdup(path);
}

static void test_fetch_manifest_url(void)
{
    const char *good = "119565adbab82227089cefdb44c8d7e2cf04dc0a0ec233634c82e7d4e2a944f7";
    const char *wrong = "0000000000000000000000000000000000000000000000000000000000000000";
    char *mdir = cutest_tmpdir("datasets-manifest");
    char *to = cutest_tmpdir("datasets-to");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mdir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(to);
    bench_err e;
    unsetenv("BENCH_DATASETS_MIRROR");
    char dest[PATH_MAX], orig[PATH_MAX], sub[PATH_MAX];
    snprintf(dest, sizeof dest, "%s/mtq/question.jsonl", to);
    snprintf(orig, sizeof orig, "%s/mt_bench/question.jsonl", cutest_data_dir());
    snprintf(sub, sizeof sub, "%s/mtq", to);

    /* wrong sha256: refused, the message names file, expected and actual hash */
    char *m = write_manifest(mdir, wrong, 48929);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(datasets_fetch(m, "mtq", to, NULL, &e), BENCH_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "mtq/question.jsonl"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, wrong));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, good));
    CU_ASSERT_PTR_NULL(strchr(e.msg, '\n'));
    CU_ASSERT_NOT_EQUAL(access(dest, F_OK), 0);
    CU_ASSERT(count_entries(sub) <= 0); /* not even the temporary file */
    free(m);

    /* a size below the real one: the download is cut and refused */
    m = write_manifest(mdir, good, 1000);
    CU_ASSERT_EQUAL(datasets_fetch(m, "mtq", to, NULL, &e), BENCH_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "mtq/question.jsonl"));
    CU_ASSERT(count_entries(sub) <= 0);
    free(m);

    /* the right hash: fetched, identical bytes */
    m = write_manifest(mdir, good, 48929);
    CU_ASSERT_EQUAL(datasets_fetch(m, "mtq", to, NULL, &e), BENCH_OK);
    CU_ASSERT(same_bytes(orig, dest));
    CU_ASSERT_EQUAL(count_entries(sub), 1);
    struct stat sb;
    CU_ASSERT(stat(dest, &sb) == 0 && (sb.st_mode & 0777) == 0644);
    free(m);
    free(mdir);
    free(to);
}

static void test_manifest_rejects(void)
{
    static const char *const bad[] = {
        "{\"datasets\": []}",
        "{\"datasets\": [{\"name\": \"x\", \"files\": [{\"path\": \"../etc/passwd\", \"url\": "
        "\"file:///etc/passwd\", \"sha256\": "
        "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\", \"size\": 0, "
        "\"format\": \"text\"}]}]}",
        "{\"datasets\": [{\"name\": \"x\", \"files\": [{\"path\": \"x/a\", \"url\": \"file:///a\", "
        "\"sha256\": \"E3B0\", \"size\": 0, \"format\": \"text\"}]}]}",
        "{\"datasets\": [{\"name\": \"x\", \"files\": [{\"path\": \"x/a\", \"sha256\": "
        "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\", \"size\": 0, "
        "\"format\": \"text\"}]}]}",
        "{\"datasets\": [{\"name\": \"x\", \"files\": [{\"path\": \"x/a\", \"url\": \"file:///a\", "
        "\"sha256\": \"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\", "
        "\"size\": 0, \"format\": \"parquet\"}]}]}",
        "{\"datasets\": [",
    };
    static const char *const needle[] = {"datasets", "path", "sha256", "url", "format", ":1:"};
    char *dir = cutest_tmpdir("datasets-bad");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        bench_err e;
        CU_ASSERT_EQUAL_FATAL(write_file(path, bad[i], strlen(bad[i])), 0);
        CU_ASSERT_EQUAL(datasets_verify(path, dir, NULL, NULL, &e), BENCH_EINPUT);
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, path));
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, needle[i]));
    }
    free(dir);
}

static CU_TestInfo tests[] = {
    {"sha256 FIPS vectors, streaming, files", test_sha256_vectors},
    {"data directory: flag > BENCH_DATA_DIR > root", test_data_dir},
    {"verify the real shared datasets", test_verify_real},
    {"verify reports a tampered and a missing file", test_verify_tampered},
    {"fetch through a file:// mirror", test_fetch_mirror},
    {"fetch from a manifest url; wrong sha256 refused", test_fetch_manifest_url},
    {"malformed manifests are rejected", test_manifest_rejects},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cutest_run("datasets", tests);
}
