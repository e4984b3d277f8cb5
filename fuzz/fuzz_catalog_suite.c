/* fuzz_catalog_suite.c - libFuzzer target: the JSON files a user writes,
 * docs/FUZZING.md.
 *
 * The same input goes to three readers:
 * - catalog_parse (catalog.h, suites/models.json), then every entry is
 *   looked up by name and the name list built;
 * - suite_check_text (suite.h, `bench suite FILE`): the input up to the
 *   first form feed is the suite file, the rest (if any) an endpoint map
 *   applied to it, through a memory file;
 * - compare_thresholds_load (compare.h, suites/thresholds.json), through a
 *   memory file; the thresholds it accepts must be non-negative.
 * Failures must come with a message. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "compare.h"
#include "fuzz_util.h"
#include "suite.h"

static void fuzz_catalog(const char *json)
{
    catalog *c = NULL;
    bench_err err;
    if (catalog_parse(json, "models.json", &c, &err) != BENCH_OK) {
        if (c)
            abort();
        fuzz_check_str(err.msg, sizeof err.msg);
        return;
    }
    size_t n = catalog_count(c);
    if (n == 0)
        abort();
    for (size_t i = 0; i < n; i++) {
        const catalog_model *m = catalog_at(c, i);
        if (!m || !m->name || !m->served_id || !m->family || catalog_find(c, m->name) != m ||
            m->context < 1)
            abort();
    }
    if (catalog_at(c, n))
        abort();
    free(catalog_names(c));
    catalog_destroy(c);
}

static void fuzz_suite(const uint8_t *data, size_t size)
{
    const uint8_t *ff = memchr(data, '\f', size);
    size_t slen = ff ? (size_t)(ff - data) : size;
    char *json = malloc(slen + 1);
    char path[64];
    bench_err err;
    if (!json)
        abort();
    memcpy(json, data, slen);
    json[slen] = '\0';
    const char *map = ff ? fuzz_memfile(1, ff + 1, size - slen - 1, path, sizeof path) : NULL;
    if (suite_check_text(json, "suite.json", map, &err) != BENCH_OK)
        fuzz_check_str(err.msg, sizeof err.msg);
    free(json);
}

static void fuzz_thresholds(const uint8_t *data, size_t size)
{
    char path[64];
    compare_thresholds t;
    bench_err err;
    fuzz_memfile(2, data, size, path, sizeof path);
    if (compare_thresholds_load(path, &t, &err) != BENCH_OK) {
        fuzz_check_str(err.msg, sizeof err.msg);
        return;
    }
    if (!(t.alpha > 0 && t.alpha < 1))
        abort();
    for (int m = 0; m < CMP_METRIC_COUNT; m++)
        if (!(t.threshold[m] >= 0) || !compare_metric_key((compare_metric)m))
            abort();
    fuzz_check_str(t.slo, sizeof t.slo);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = malloc(size + 1);
    if (!json)
        abort();
    memcpy(json, data, size);
    json[size] = '\0';
    fuzz_catalog(json);
    free(json);
    fuzz_suite(data, size);
    fuzz_thresholds(data, size);
    return 0;
}
