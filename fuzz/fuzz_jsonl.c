/* fuzz_jsonl.c - libFuzzer target: the JSON Lines readers, docs/FUZZING.md.
 *
 * The same input goes to three readers:
 * - prompt_source_dataset (prompt.h, `--dataset FILE.jsonl`), through a
 *   memory file, then every prompt it gives is fetched;
 * - mtbench_parse (mtbench.h): the input cut at form feeds into the three
 *   MT-Bench files (questions \f judge prompts \f reference answers), then
 *   every judge message of every question built;
 * - humaneval_parse (humaneval.h), then, reading the input as a model's
 *   reply, the completion extracted and the test program built for the
 *   first problem.
 * The reply parsers that take model text (mtbench_parse_rating,
 * humaneval_truncate) get the whole input too. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"
#include "fuzz_util.h"
#include "humaneval.h"
#include "mtbench.h"
#include "prompt.h"

static void fuzz_prompts(const uint8_t *data, size_t size)
{
    char path[64];
    prompt_source *src = NULL;
    bench_err err;
    fuzz_memfile(0, data, size, path, sizeof path);
    if (prompt_source_dataset(path, 128, &src, &err) != BENCH_OK) {
        if (src)
            abort();
        fuzz_check_str(err.msg, sizeof err.msg);
        return;
    }
    size_t n = prompt_source_size(src);
    if (n == 0)
        abort();
    dynbuf text;
    dynbuf_init(&text, 1u << 24);
    for (size_t k = 0; k <= n; k++) {
        prompt_item it;
        dynbuf_reset(&text);
        if (prompt_source_item(src, k, &it, &text) != BENCH_OK)
            abort(); /* the file's lines were all read into memory already */
        if (it.max_tokens < 1 || (!it.messages_json && !text.len))
            abort();
    }
    dynbuf_free(&text);
    prompt_source_destroy(src);
}

static void fuzz_mtbench(const uint8_t *data, size_t size)
{
    const char *text[3] = {"", "", ""};
    size_t len[3] = {0, 0, 0};
    static const char *const origin[3] = {"question.jsonl", "judge_prompts.jsonl", "gpt-4.jsonl"};
    const char *p = (const char *)data, *end = p + size;
    for (int i = 0; i < 3 && p <= end; i++) {
        const char *ff = i < 2 ? memchr(p, '\f', (size_t)(end - p)) : NULL;
        text[i] = p;
        len[i] = (size_t)((ff ? ff : end) - p);
        p = ff ? ff + 1 : end + 1;
    }
    mtbench_set *set = NULL;
    bench_err err;
    if (mtbench_parse(text, len, origin, &set, &err) != BENCH_OK) {
        if (set)
            abort();
        fuzz_check_str(err.msg, sizeof err.msg);
        return;
    }
    const char *answers[2] = {"The answer is [[7]].", "Still [[8.5]]."};
    dynbuf user;
    dynbuf_init(&user, 1u << 20);
    for (size_t i = 0; i < set->nq; i++) {
        if (!set->q[i].category || !set->q[i].turns[0] || !set->q[i].turns[1])
            abort();
        for (int turn = 1; turn <= 2; turn++) {
            const char *system = NULL, *name = NULL;
            dynbuf_reset(&user);
            if (mtbench_judge_messages(set, &set->q[i], turn, answers, &system, &user, &name,
                                       &err) == BENCH_OK &&
                (!system || !name))
                abort();
        }
        double t = mtbench_temperature(set->q[i].category);
        if (!(t >= 0 && t <= 1))
            abort();
    }
    dynbuf_free(&user);
    mtbench_free(set);
}

static void fuzz_humaneval(const uint8_t *data, size_t size)
{
    humaneval_problem *probs = NULL;
    size_t n = 0;
    bench_err err;
    const char *reply = (const char *)data;
    if (humaneval_parse(reply, size, "HumanEval.jsonl", &probs, &n, &err) != BENCH_OK) {
        if (probs || n)
            abort();
        fuzz_check_str(err.msg, sizeof err.msg);
        /* a problem to read the input against as a reply */
        static humaneval_problem fallback = {.task_id = "HumanEval/0",
                                             .prompt = "def f(x):\n    \"\"\"doc\"\"\"\n",
                                             .entry_point = "f",
                                             .canonical_solution = "    return x\n",
                                             .test = "def check(c):\n    assert c(1) == 1\n"};
        probs = &fallback;
        n = 0;
    }
    dynbuf out;
    dynbuf_init(&out, 1u << 24);
    if (humaneval_chat_prompt(&probs[0], &out, &err) != BENCH_OK)
        abort();
    char *completion = NULL;
    int full = 0;
    if (humaneval_extract(&probs[0], reply, size, &completion, &full, &err) == BENCH_OK) {
        dynbuf_reset(&out);
        if (humaneval_program(&probs[0], completion, full, &out, &err) != BENCH_OK)
            abort();
        free(completion);
    }
    dynbuf_free(&out);
    if (n)
        humaneval_free(probs, n);
    if (humaneval_truncate(reply, size) > size)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_prompts(data, size);
    fuzz_mtbench(data, size);
    fuzz_humaneval(data, size);
    double r = mtbench_parse_rating((const char *)data, size);
    if (!(r == -1 || r >= 0) || isnan(r))
        abort();
    return 0;
}
