/* fuzz_mmlu_csv.c - libFuzzer target: the MMLU CSV reader (mmlu.h),
 * docs/FUZZING.md.
 *
 * The input is one CSV file's bytes. Rows it accepts must be whole (six
 * strings, an answer in A-D) and go on through the prompt builders; the
 * same bytes, read as a model's reply, go through the answer extractors,
 * whose letter must be one they may return. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"
#include "mmlu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    mmlu_row *rows = NULL;
    size_t n = 0;
    bench_err err;
    bench_status st = mmlu_parse_csv(text, size, "fuzz.csv", &rows, &n, &err);
    if (st == BENCH_OK) {
        if (!rows || n == 0)
            abort();
        for (size_t i = 0; i < n; i++) {
            if (!rows[i].question || rows[i].answer < 'A' || rows[i].answer > 'D')
                abort();
            for (int j = 0; j < 4; j++)
                if (!rows[i].choices[j])
                    abort();
        }
        mmlu_subject s = {.name = "college_computer_science",
                          .category = MMLU_STEM,
                          .dev = rows,
                          .ndev = n > 5 ? 5 : n,
                          .items = rows,
                          .nitems = n};
        dynbuf out;
        dynbuf_init(&out, 1u << 20);
        if (mmlu_prompt(&s, &rows[n - 1], (int)s.ndev, &out, &err) == BENCH_OK &&
            (!out.p || out.p[out.len] != '\0'))
            abort();
        dynbuf_reset(&out);
        if (mmlu_prompt_cot(&rows[0], &out, &err) == BENCH_OK && (!out.p || out.p[out.len] != '\0'))
            abort();
        dynbuf_free(&out);
    } else if (rows || n) {
        abort(); /* a failure leaves no rows behind */
    }
    mmlu_rows_free(rows, n);

    char a = mmlu_extract_letter(text, size);
    if (a && (a < 'A' || a > 'D'))
        abort();
    char c = mmlu_extract_cot(text, size);
    if (c && !((c >= 'A' && c <= 'D') || (c >= 'a' && c <= 'd')))
        abort();
    return 0;
}
