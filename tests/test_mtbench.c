/* Unit tests: MT-Bench questions, judge prompts and GPT-4 references from the
 * real files, FastChat's temperatures, the judge messages it builds, and its
 * rating regex. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cutest.h"
#include "datasets.h"
#include "fileio.h"
#include "mtbench.h"

static mtbench_set *set;

static const mtbench_question *question(int id)
{
    for (size_t i = 0; set && i < set->nq; i++)
        if (set->q[i].id == id)
            return &set->q[i];
    return NULL;
}

static const mtbench_judge_prompt *judge(const char *name)
{
    for (size_t i = 0; set && i < set->njudge; i++)
        if (strcmp(set->judge[i].name, name) == 0)
            return &set->judge[i];
    return NULL;
}

static void test_load(void)
{
    bench_err e;
    bench_status st = mtbench_load(cutest_data_dir(), &set, &e);
    if (st)
        fprintf(stderr, "mtbench_load: %s\n", e.msg);
    CU_ASSERT_EQUAL_FATAL(st, BENCH_OK);
    CU_ASSERT_EQUAL(set->nq, 80);
    CU_ASSERT_EQUAL(set->njudge, 8);
    static const char *const cats[8] = {"writing", "roleplay",   "reasoning", "math",
                                        "coding",  "extraction", "stem",      "humanities"};
    int per[8] = {0}, nref = 0;
    for (size_t i = 0; i < set->nq; i++) {
        const mtbench_question *q = &set->q[i];
        CU_ASSERT_EQUAL(q->id, 81 + (int)i);
        CU_ASSERT_PTR_NOT_NULL(q->turns[0]);
        CU_ASSERT_PTR_NOT_NULL(q->turns[1]);
        for (int c = 0; c < 8; c++)
            per[c] += strcmp(q->category, cats[c]) == 0;
        /* questions come in blocks of ten per category, in that order */
        CU_ASSERT_STRING_EQUAL(q->category, cats[i / 10]);
        if (q->ref[0]) {
            nref++;
            CU_ASSERT_PTR_NOT_NULL(q->ref[1]);
            CU_ASSERT(q->id >= 101 && q->id <= 130);
            CU_ASSERT(mtbench_needs_ref(q->category));
        } else {
            CU_ASSERT(q->id < 101 || q->id > 130);
        }
    }
    for (int c = 0; c < 8; c++)
        CU_ASSERT_EQUAL(per[c], 10);
    CU_ASSERT_EQUAL(nref, 30);
    const mtbench_question *q = question(111);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CU_ASSERT_STRING_EQUAL(q->category, "math");
    CU_ASSERT_STRING_EQUAL(q->turns[1], "What's area of the circle circumscribing the triangle?");
    CU_ASSERT_EQUAL(
        strncmp(q->ref[0], "To find the area of the triangle, we can use the formula", 56), 0);
    CU_ASSERT_EQUAL(strncmp(q->ref[1], "Since the three points are collinear", 36), 0);
    static const char *const names[8] = {
        "pair-v2",   "pair-v2-multi-turn", "pair-math-v1",         "pair-math-v1-multi-turn",
        "single-v1", "single-math-v1",     "single-v1-multi-turn", "single-math-v1-multi-turn"};
    for (int i = 0; i < 8; i++) {
        CU_ASSERT_PTR_NOT_NULL(judge(names[i]));
    }
    CU_ASSERT_STRING_EQUAL(judge("single-v1")->output_format, "[[rating]]");
    CU_ASSERT_STRING_EQUAL(judge("single-v1")->system_prompt, "You are a helpful assistant.");

    mtbench_set *none = NULL;
    CU_ASSERT_EQUAL(mtbench_load("/nonexistent", &none, &e), BENCH_EIO);
    CU_ASSERT_PTR_NULL(none);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "/nonexistent/mt_bench/question.jsonl"));
}

/* A copy of the data with question.jsonl replaced: errors name file and line. */
static void test_load_errors(void)
{
    char *tmp = cutest_tmpdir("mtbench");
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    char path[PATH_MAX], from[PATH_MAX];
    static const char *const keep[] = {"mt_bench/judge_prompts.jsonl",
                                       "mt_bench/reference_answer/gpt-4.jsonl"};
    for (int i = 0; i < 2; i++) {
        char *b = NULL;
        size_t n = 0;
        bench_err e;
        snprintf(from, sizeof from, "%s/%s", cutest_data_dir(), keep[i]);
        snprintf(path, sizeof path, "%s/%s", tmp, keep[i]);
        CU_ASSERT_EQUAL_FATAL(file_read_all(from, 1 << 20, &b, &n, &e), BENCH_OK);
        CU_ASSERT_EQUAL_FATAL(file_mkdirs_for(path), 0);
        FILE *f = fopen(path, "wb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        fwrite(b, 1, n, f);
        fclose(f);
        free(b);
    }
    static const struct {
        const char *text, *needle;
    } cases[] = {
        {"{\"question_id\": 101, \"category\": \"reasoning\", \"turns\": [\"a\", \"b\"]}\n"
         "{\"question_id\": 102, \"category\": \"reasoning\", \"turns\": [\"only one\"]}\n",
         "question.jsonl:2:"},
        {"{\"question_id\": 101, \"category\": \"reasoning\", \"turns\": [\"a\", \"b\"]}\n\n"
         "not json\n",
         "question.jsonl:3:"},
        /* references for 101..130 but only 101 is a question */
        {"{\"question_id\": 101, \"category\": \"reasoning\", \"turns\": [\"a\", \"b\"]}\n",
         "gpt-4.jsonl:2: question_id 102"},
    };
    snprintf(path, sizeof path, "%s/mt_bench/question.jsonl", tmp);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        FILE *f = fopen(path, "wb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        fputs(cases[i].text, f);
        fclose(f);
        mtbench_set *s = NULL;
        bench_err e;
        CU_ASSERT_EQUAL(mtbench_load(tmp, &s, &e), BENCH_EINPUT);
        CU_ASSERT_PTR_NULL(s);
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, cases[i].needle));
    }
    free(tmp);
}

static void test_temperatures(void)
{
    CU_ASSERT_DOUBLE_EQUAL(mtbench_temperature("writing"), 0.7, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(mtbench_temperature("roleplay"), 0.7, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(mtbench_temperature("extraction"), 0.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(mtbench_temperature("math"), 0.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(mtbench_temperature("coding"), 0.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(mtbench_temperature("reasoning"), 0.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(mtbench_temperature("stem"), 0.1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(mtbench_temperature("humanities"), 0.1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(mtbench_temperature("poetry"), 0.7, 1e-12);
    CU_ASSERT(mtbench_needs_ref("math") && mtbench_needs_ref("reasoning") &&
              mtbench_needs_ref("coding"));
    CU_ASSERT(!mtbench_needs_ref("writing") && !mtbench_needs_ref("stem") &&
              !mtbench_needs_ref("extraction"));
}

static void test_judge_single_turn1(void)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    const mtbench_question *q = question(81);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CU_ASSERT_STRING_EQUAL(q->category, "writing");
    const char *answers[2] = {"Aloha! {not a placeholder} Hawaii was great.", NULL};
    const char *system = NULL, *name = NULL;
    dynbuf u;
    dynbuf_init(&u, 1 << 20);
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(mtbench_judge_messages(set, q, 1, answers, &system, &u, &name, &e),
                          BENCH_OK);
    CU_ASSERT_STRING_EQUAL(name, "single-v1");
    CU_ASSERT_STRING_EQUAL(system, "You are a helpful assistant.");
    const char *start =
        "[Instruction]\nPlease act as an impartial judge and evaluate the quality of the response "
        "provided by an AI assistant to the user question displayed below. Your evaluation should "
        "consider factors such as the helpfulness, relevance, accuracy, depth, creativity, and "
        "level of detail of the response. Begin your evaluation by providing a short explanation. "
        "Be as objective as possible. After providing your explanation, you must rate the "
        "response on a scale of 1 to 10 by strictly following this format: \"[[rating]]\", for "
        "example: \"Rating: [[5]]\".\n\n[Question]\n";
    CU_ASSERT_EQUAL(strncmp(u.p, start, strlen(start)), 0);
    char want[8192];
    snprintf(want, sizeof want,
             "%s%s\n\n[The Start of Assistant's Answer]\n%s\n[The End of Assistant's Answer]",
             start, q->turns[0], answers[0]);
    CU_ASSERT_STRING_EQUAL(u.p, want);
    /* the answer sits between the markers, braces and all */
    const char *a = strstr(u.p, "[The Start of Assistant's Answer]\n");
    const char *b = strstr(u.p, "\n[The End of Assistant's Answer]");
    CU_ASSERT_FATAL(a && b && a < b);
    a += strlen("[The Start of Assistant's Answer]\n");
    CU_ASSERT_EQUAL((size_t)(b - a), strlen(answers[0]));
    CU_ASSERT_EQUAL(memcmp(a, answers[0], strlen(answers[0])), 0);
    dynbuf_free(&u);

    /* a missing answer is refused */
    const char *none[2] = {NULL, NULL};
    dynbuf_init(&u, 1 << 20);
    CU_ASSERT_EQUAL(mtbench_judge_messages(set, q, 1, none, &system, &u, &name, &e), BENCH_EUSAGE);
    CU_ASSERT_EQUAL(mtbench_judge_messages(set, q, 3, answers, &system, &u, &name, &e),
                    BENCH_EUSAGE);
    dynbuf_free(&u);
}

static void test_judge_math_turn2(void)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    const mtbench_question *q = question(111);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    const char *answers[2] = {"The area is 3.", "The area is 5 pi."};
    const char *system = NULL, *name = NULL;
    dynbuf u;
    dynbuf_init(&u, 1 << 20);
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(mtbench_judge_messages(set, q, 2, answers, &system, &u, &name, &e),
                          BENCH_OK);
    CU_ASSERT_STRING_EQUAL(name, "single-math-v1-multi-turn");
    CU_ASSERT_PTR_EQUAL(system, judge("single-math-v1-multi-turn")->system_prompt);
    char want[16384];
    snprintf(want, sizeof want,
             "<|The Start of Reference Answer|>\n\n### User:\n%s\n\n### Reference answer:\n%s\n\n"
             "### User:\n%s\n\n### Reference answer:\n%s\n\n<|The End of Reference Answer|>\n\n\n"
             "<|The Start of Assistant A's Conversation with User|>\n\n### User:\n%s\n\n"
             "### Assistant A:\n%s\n\n### User:\n%s\n\n### Assistant A:\n%s\n\n"
             "<|The End of Assistant A's Conversation with User|>",
             q->turns[0], q->ref[0], q->turns[1], q->ref[1], q->turns[0], answers[0], q->turns[1],
             answers[1]);
    CU_ASSERT_STRING_EQUAL(u.p, want);

    /* turn 1 of the same question: single-math-v1 with ref_answer_1 */
    dynbuf_reset(&u);
    CU_ASSERT_EQUAL_FATAL(mtbench_judge_messages(set, q, 1, answers, &system, &u, &name, &e),
                          BENCH_OK);
    CU_ASSERT_STRING_EQUAL(name, "single-math-v1");
    CU_ASSERT_PTR_NOT_NULL(strstr(u.p, "[The Start of Reference Answer]\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(u.p, q->ref[0]));
    CU_ASSERT_PTR_NULL(strstr(u.p, q->ref[1]));

    /* a general question's turn 2 uses single-v1-multi-turn */
    dynbuf_reset(&u);
    CU_ASSERT_EQUAL_FATAL(
        mtbench_judge_messages(set, question(141), 2, answers, &system, &u, &name, &e), BENCH_OK);
    CU_ASSERT_STRING_EQUAL(name, "single-v1-multi-turn");
    CU_ASSERT_PTR_NULL(strstr(u.p, "Reference"));
    CU_ASSERT_EQUAL(strncmp(u.p, "<|The Start of Assistant A's Conversation with User|>", 53), 0);
    dynbuf_free(&u);

    /* a cap too small for the message: refused */
    dynbuf_init(&u, 64);
    CU_ASSERT_EQUAL(mtbench_judge_messages(set, q, 2, answers, &system, &u, &name, &e),
                    BENCH_ETOOBIG);
    dynbuf_free(&u);
}

static void test_rating(void)
{
#define R(s) mtbench_parse_rating(s, strlen(s))
    CU_ASSERT_DOUBLE_EQUAL(R("[[8]]"), 8, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(R("[[8.5]]"), 8.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(R("Rating: [8]"), 8, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(R("no rating"), -1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(R("[[3]] then [[9]]"), 3, 1e-12);
    /* the double-bracket pattern is searched over the whole text first */
    CU_ASSERT_DOUBLE_EQUAL(R("[5] and [[7]]"), 7, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(R("Rating: [[10]]"), 10, 1e-12);
    /* \d+ allows no spaces: neither pattern matches */
    CU_ASSERT_DOUBLE_EQUAL(R("[[ 8 ]]"), -1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(R("[[8.]]"), 8, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(R("[[.5]]"), -1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(R("[[[6]]]"), 6, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(R("[[x]] [4.25]"), 4.25, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(R("[[7"), -1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(R(""), -1, 1e-12);
    /* len bounds the text: "[[9]" has no [[n]] but its [9] matches the backup */
    CU_ASSERT_DOUBLE_EQUAL(mtbench_parse_rating("[[9]]", 4), 9, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(mtbench_parse_rating("[[9]]", 3), -1, 1e-12);
#undef R
    mtbench_free(set);
    set = NULL;
}

/* mtbench_parse on bytes: the three files as mtbench_load reads them. A
 * question_id beyond int's range was converted to int unchecked (undefined
 * behaviour; found by fuzz/fuzz_jsonl): now it is not an integer id. */
static void test_parse_bytes(void)
{
    const char *q = "{\"question_id\": 81, \"category\": \"writing\", \"turns\": [\"a\", \"b\"]}\n";
    const char *j = "{\"name\": \"single-v1\", \"system_prompt\": \"s\", \"prompt_template\": "
                    "\"{question} {answer}\", \"output_format\": \"[[rating]]\"}\r\n";
    const char *text[3] = {q, j, ""};
    size_t len[3] = {strlen(q), strlen(j), 0};
    const char *origin[3] = {"q.jsonl", "j.jsonl", "r.jsonl"};
    mtbench_set *s = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(mtbench_parse(text, len, origin, &s, &e), BENCH_OK);
    CU_ASSERT_EQUAL(s->nq, 1);
    CU_ASSERT_EQUAL(s->njudge, 1);
    mtbench_free(s);

    static const char *const huge[] = {"1e64", "-1e64", "2147483648", "81.5"};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        char line[160];
        snprintf(line, sizeof line,
                 "{\"question_id\": %s, \"category\": \"math\", \"turns\": [\"a\", \"b\"]}",
                 huge[i]);
        text[0] = line;
        len[0] = strlen(line);
        CU_ASSERT_EQUAL(mtbench_parse(text, len, origin, &s, &e), BENCH_EINPUT);
        CU_ASSERT_PTR_NULL(s);
        CU_ASSERT_STRING_EQUAL(e.msg, "q.jsonl:1: no integer \"question_id\"");
    }
}

static CU_TestInfo tests[] = {
    {"load questions, judge prompts, references", test_load},
    {"load errors name file and line", test_load_errors},
    {"temperatures and reference categories", test_temperatures},
    {"judge message: writing, turn 1 (single-v1)", test_judge_single_turn1},
    {"judge message: math, turn 2 (single-math-v1-multi-turn)", test_judge_math_turn2},
    {"rating regex", test_rating},
    {"parse from bytes; ids beyond int", test_parse_bytes},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cutest_run("mtbench", tests);
}
