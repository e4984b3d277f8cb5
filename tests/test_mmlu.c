/* Unit tests: MMLU loading from the real CSVs (counts, CSV edge cases found in
 * the files), the byte-exact 5-shot and chain-of-thought prompts, answer
 * extraction (letter, CoT regex, logprobs), categories and scoring. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cutest.h"
#include "datasets.h"
#include "fileio.h"
#include "mmlu.h"

static mmlu_set *test_set;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const mmlu_subject *subject(const mmlu_set *s, const char *name)
{
    for (size_t i = 0; i < s->nsubjects; i++)
        if (strcmp(s->subjects[i].name, name) == 0)
            return &s->subjects[i];
    return NULL;
}

/* Parse one real file of the data directory. */
static mmlu_row *parse_file(const char *rel, size_t *n)
{
    char path[PATH_MAX];
    char *data = NULL;
    size_t len = 0;
    mmlu_row *rows = NULL;
    bench_err e;
    snprintf(path, sizeof path, "%s/mmlu/%s", cutest_data_dir(), rel);
    if (file_read_all(path, 1 << 24, &data, &len, &e) != BENCH_OK ||
        mmlu_parse_csv(data, len, path, &rows, n, &e) != BENCH_OK) {
        fprintf(stderr, "%s\n", e.msg);
        rows = NULL;
    }
    free(data);
    return rows;
}

static void test_load_counts(void)
{
    bench_err e;
    double t0 = now_s();
    bench_status st = mmlu_load(cutest_data_dir(), "test", &test_set, &e);
    double took = now_s() - t0;
    if (st)
        fprintf(stderr, "mmlu_load: %s\n", e.msg);
    CU_ASSERT_EQUAL_FATAL(st, BENCH_OK);
#if defined(__SANITIZE_ADDRESS__)
    CU_ASSERT(took < 5.0);
#else
    CU_ASSERT(took < 1.0); /* every test file and every dev file */
#endif
    CU_ASSERT_EQUAL(test_set->nsubjects, 57);
    CU_ASSERT_EQUAL(test_set->nitems, 14042);
    size_t ndev = 0, sum = 0;
    for (size_t i = 0; i < test_set->nsubjects; i++) {
        ndev += test_set->subjects[i].ndev;
        sum += test_set->subjects[i].nitems;
        CU_ASSERT_EQUAL(test_set->subjects[i].ndev, 5);
        if (i)
            CU_ASSERT(strcmp(test_set->subjects[i - 1].name, test_set->subjects[i].name) < 0);
    }
    CU_ASSERT_EQUAL(ndev, 285);
    CU_ASSERT_EQUAL(sum, 14042);
    CU_ASSERT_STRING_EQUAL(test_set->subjects[0].name, "abstract_algebra");
    CU_ASSERT_STRING_EQUAL(test_set->subjects[56].name, "world_religions");
    const mmlu_subject *pl = subject(test_set, "professional_law");
    CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
    CU_ASSERT_EQUAL(pl->nitems, 1534);
    CU_ASSERT_EQUAL(pl->category, MMLU_HUMANITIES);
    /* the test answer distribution of the release */
    size_t dist[4] = {0};
    for (size_t i = 0; i < test_set->nsubjects; i++)
        for (size_t j = 0; j < test_set->subjects[i].nitems; j++)
            dist[test_set->subjects[i].items[j].answer - 'A']++;
    CU_ASSERT(dist[0] == 3222 && dist[1] == 3462 && dist[2] == 3582 && dist[3] == 3776);

    mmlu_set *val = NULL;
    CU_ASSERT_EQUAL_FATAL(mmlu_load(cutest_data_dir(), "val", &val, &e), BENCH_OK);
    CU_ASSERT_EQUAL(val->nsubjects, 57);
    CU_ASSERT_EQUAL(val->nitems, 1531);
    mmlu_free(val);

    CU_ASSERT_EQUAL(mmlu_load(cutest_data_dir(), "dev", &val, &e), BENCH_EUSAGE);
    CU_ASSERT_EQUAL(mmlu_load("/nonexistent", "test", &val, &e), BENCH_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "/nonexistent/mmlu/test"));
}

static void test_prompt_5shot(void)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(test_set);
    const mmlu_subject *s = subject(test_set, "abstract_algebra");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const mmlu_row *item = &s->items[0];
    CU_ASSERT_STRING_EQUAL(item->question, "Find the degree for the given field extension "
                                           "Q(sqrt(2), sqrt(3), sqrt(18)) over Q.");
    CU_ASSERT_EQUAL(item->answer, 'B');
    CU_ASSERT_EQUAL(s->items[1].answer, 'C');
    CU_ASSERT_STRING_EQUAL(s->dev[0].question,
                           "Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.");

    /* written out by hand from dev/abstract_algebra_dev.csv and row 1 of
     * test/abstract_algebra_test.csv */
    const char *tf = "\nA. True, True\nB. False, False\nC. True, False\nD. False, True";
    char want[8192];
    snprintf(want, sizeof want,
             "The following are multiple choice questions (with answers) about abstract "
             "algebra.\n\n"
             "Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.\nA. 0\nB. 1\nC. 2\nD. 3\n"
             "Answer: B\n\n"
             "Statement 1 | If aH is an element of a factor group, then |aH| divides |a|. "
             "Statement 2 | If H and K are subgroups of G then HK is a subgroup of G.%s\n"
             "Answer: B\n\n"
             "Statement 1 | Every element of a group generates a cyclic subgroup of the group. "
             "Statement 2 | The symmetric group S_10 has 10 elements.%s\n"
             "Answer: C\n\n"
             "Statement 1| Every function from a finite set onto itself must be one to one. "
             "Statement 2 | Every subgroup of an abelian group is abelian.%s\n"
             "Answer: A\n\n"
             "Find the characteristic of the ring 2Z.\nA. 0\nB. 3\nC. 12\nD. 30\n"
             "Answer: A\n\n"
             "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over "
             "Q.\nA. 0\nB. 4\nC. 2\nD. 6\n"
             "Answer:",
             tf, tf, tf);
    dynbuf b;
    dynbuf_init(&b, 1 << 20);
    bench_err e;
    CU_ASSERT_EQUAL(mmlu_prompt(s, item, 5, &b, &e), BENCH_OK);
    CU_ASSERT_EQUAL(b.len, strlen(want));
    CU_ASSERT_STRING_EQUAL(b.p, want);

    /* 0 shots: header and item only */
    dynbuf_reset(&b);
    CU_ASSERT_EQUAL(mmlu_prompt(s, item, 0, &b, &e), BENCH_OK);
    CU_ASSERT_STRING_EQUAL(b.p, "The following are multiple choice questions (with answers) about "
                                "abstract algebra.\n\nFind the degree for the given field "
                                "extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.\nA. 0\nB. 4\nC. "
                                "2\nD. 6\nAnswer:");
    CU_ASSERT_EQUAL(mmlu_prompt(s, item, 6, &b, &e), BENCH_EUSAGE);
    /* a capped buffer: refused, not truncated */
    dynbuf small;
    dynbuf_init(&small, 100);
    CU_ASSERT_EQUAL(mmlu_prompt(s, item, 5, &small, &e), BENCH_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "abstract_algebra"));
    dynbuf_free(&small);

    /* the simple-evals 0-shot chain-of-thought prompt */
    dynbuf_reset(&b);
    CU_ASSERT_EQUAL(mmlu_prompt_cot(item, &b, &e), BENCH_OK);
    CU_ASSERT_STRING_EQUAL(
        b.p, "Answer the following multiple choice question. The last line of your response "
             "should be of the following format: 'Answer: $LETTER' (without quotes) where LETTER "
             "is one of ABCD. Think step by step before answering.\n\n"
             "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over "
             "Q.\n\nA) 0\nB) 4\nC) 2\nD) 6");
    dynbuf_free(&b);
}

static void test_csv_real_edge_cases(void)
{
    size_t n;
    /* a quoted field spanning several lines (LF file) */
    mmlu_row *r = parse_file("dev/college_computer_science_dev.csv", &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(n, 5);
    CU_ASSERT_PTR_NOT_NULL(strstr(
        r[1].question, "R0, R1, . . . , R7 and supports the following operations.\nADD Rs1, Rs2, "
                       "Rd Add Rs1 to Rs2 and put the sum in Rd\nMUL Rs1, Rs2, Rd Multiply"));
    CU_ASSERT_EQUAL(strncmp(r[1].question, "A certain pipelined RISC machine has 8", 38), 0);
    CU_ASSERT_STRING_EQUAL(r[1].choices[0], "5");
    CU_ASSERT_STRING_EQUAL(r[1].choices[3], "8");
    CU_ASSERT_EQUAL(r[1].answer, 'B');
    mmlu_rows_free(r, n);

    /* a CRLF file whose quoted field holds CRLF line breaks: kept as they are */
    r = parse_file("dev/college_mathematics_dev.csv", &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(n, 5);
    CU_ASSERT_STRING_EQUAL(
        r[2].question,
        "Let A be a real 2x2 matrix. Which of the following statements must be true?\r\nI. All "
        "of the entries of A^2 are nonnegative.\r\nII. The determinant of A^2 is nonnegative."
        "\r\nIII. If A has two distinct eigenvalues, then A^2 has two distinct eigenvalues.");
    CU_ASSERT_STRING_EQUAL(r[2].choices[3], "II and III only");
    CU_ASSERT_EQUAL(r[2].answer, 'B');
    mmlu_rows_free(r, n);

    /* CRLF, no final newline, a leading space kept in the first field */
    r = parse_file("dev/world_religions_dev.csv", &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(n, 5);
    CU_ASSERT_STRING_EQUAL(r[0].question, " What is the sign of the covenant for Jewish males?");
    CU_ASSERT_STRING_EQUAL(r[0].choices[1], "Circumcision");
    CU_ASSERT_STRING_EQUAL(r[4].question, "How can the Upanishads be characterized?");
    CU_ASSERT_STRING_EQUAL(r[4].choices[0], "Ritual texts");
    CU_ASSERT_STRING_EQUAL(r[4].choices[3], "Origin stories");
    CU_ASSERT_EQUAL(r[4].answer, 'B'); /* the very last byte of the file */
    mmlu_rows_free(r, n);

    /* CRLF records, an LF-only line break inside a quoted field, no final newline */
    r = parse_file("dev/high_school_statistics_dev.csv", &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(n, 5);
    CU_ASSERT_STRING_EQUAL(r[4].question, "Which of the following sets has the smallest standard "
                                          "deviation? Which has the largest?\nI: {1,2,3}\nII: "
                                          "{-10,10}\nIII: {100}\n");
    CU_ASSERT_STRING_EQUAL(r[4].choices[3], "III, II");
    CU_ASSERT_EQUAL(r[4].answer, 'D');
    mmlu_rows_free(r, n);

    /* a double quote inside an unquoted field is a literal (as Python's csv) */
    r = parse_file("val/college_medicine_val.csv", &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(n, 22);
    CU_ASSERT_STRING_EQUAL(r[5].question, "Which of the following would be the most accurate "
                                          "definition of Nietzsche\xe2\x80\x99s Will to Truth?\"");
    CU_ASSERT_EQUAL(r[5].answer, 'A');
    mmlu_rows_free(r, n);
}

static void test_csv_malformed(void)
{
    mmlu_row *r = (mmlu_row *)1;
    size_t n = 99;
    bench_err e;
    const char *five = "q1,a,b,c,d,A\nq2,a,b,c,d\n";
    CU_ASSERT_EQUAL(mmlu_parse_csv(five, strlen(five), "x/five.csv", &r, &n, &e), BENCH_EINPUT);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "x/five.csv"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "record 2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "5 fields"));

    const char *ans = "q1,a,b,c,d,A\r\nq2,a,b,c,d,B\r\n\"q3\",a,b,c,d,E";
    CU_ASSERT_EQUAL(mmlu_parse_csv(ans, strlen(ans), "x/ans.csv", &r, &n, &e), BENCH_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "x/ans.csv"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "record 3"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "'E'"));

    const char *seven = "q1,a,b,c,d,A,extra\n";
    CU_ASSERT_EQUAL(mmlu_parse_csv(seven, strlen(seven), "x/seven.csv", &r, &n, &e), BENCH_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "7 fields"));

    const char *open_quote = "q1,a,b,c,d,A\n\"unterminated,a,b,c,d,A\n";
    CU_ASSERT_EQUAL(mmlu_parse_csv(open_quote, strlen(open_quote), "x/q.csv", &r, &n, &e),
                    BENCH_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "x/q.csv"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "record 2"));

    CU_ASSERT_EQUAL(mmlu_parse_csv("", 0, "x/empty.csv", &r, &n, &e), BENCH_EINPUT);

    /* quoting, embedded quotes and commas, blank lines skipped */
    const char *ok = "\"say \"\"hi\"\", ok\",\" a \",b,c,d,D\n\nq2,1,2,3,4,C";
    CU_ASSERT_EQUAL_FATAL(mmlu_parse_csv(ok, strlen(ok), "x/ok.csv", &r, &n, &e), BENCH_OK);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_STRING_EQUAL(r[0].question, "say \"hi\", ok");
    CU_ASSERT_STRING_EQUAL(r[0].choices[0], " a ");
    CU_ASSERT_EQUAL(r[0].answer, 'D');
    CU_ASSERT_STRING_EQUAL(r[1].choices[3], "4");
    mmlu_rows_free(r, n);
}

static void test_extract_letter(void)
{
#define L(s) mmlu_extract_letter(s, strlen(s))
    CU_ASSERT_EQUAL(L(" B"), 'B');
    CU_ASSERT_EQUAL(L("B"), 'B');
    CU_ASSERT_EQUAL(L("B."), 'B');
    CU_ASSERT_EQUAL(L("B)"), 'B');
    CU_ASSERT_EQUAL(L("(B"), 'B'); /* an opening parenthesis is allowed before the letter */
    CU_ASSERT_EQUAL(L("(B) 4"), 'B');
    CU_ASSERT_EQUAL(L("  C\n"), 'C');
    CU_ASSERT_EQUAL(L("D: because"), 'D');
    CU_ASSERT_EQUAL(L("A, since"), 'A');
    CU_ASSERT_EQUAL(L("\t\r\nA"), 'A');
    CU_ASSERT_EQUAL(L("Because"), 0);
    CU_ASSERT_EQUAL(L(""), 0);
    CU_ASSERT_EQUAL(L("   "), 0);
    CU_ASSERT_EQUAL(L("E"), 0);
    CU_ASSERT_EQUAL(L("b"), 0);  /* letters are upper case */
    CU_ASSERT_EQUAL(L("B-"), 0); /* not a whole token */
    /* only the reply's first token counts: a letter later on is not an answer */
    CU_ASSERT_EQUAL(L("The answer is B"), 0);
    CU_ASSERT_EQUAL(mmlu_extract_letter("B.xyz", 1), 'B'); /* len bounds the text */
#undef L
}

static void test_extract_cot(void)
{
#define C(s) mmlu_extract_cot(s, strlen(s))
    CU_ASSERT_EQUAL(C("Let me think.\nThe options...\nAnswer: C"), 'C');
    CU_ASSERT_EQUAL(C("answer:$D$"), 'D');
    CU_ASSERT_EQUAL(C("ANSWER \t:\t B"), 'B');
    CU_ASSERT_EQUAL(C("Final Answer: $A$ because"), 'A');
    CU_ASSERT_EQUAL(C("no answer here"), 0);
    CU_ASSERT_EQUAL(C("Answer:\nB"), 0); /* [ \t]* does not cross a line */
    CU_ASSERT_EQUAL(C("Answer: E"), 0);
    CU_ASSERT_EQUAL(C(""), 0);
    /* the first match wins, as re.search */
    CU_ASSERT_EQUAL(C("Answer: A\nAnswer: B"), 'A');
    CU_ASSERT_EQUAL(C("Answer: maybe.\nAnswer: D"), 'D');
    /* (?i) also makes [A-D] match a-d: returned as written, so it is never
     * equal to the item's upper-case answer (simple-evals scores it wrong) */
    CU_ASSERT_EQUAL(C("answer: b"), 'b');
#undef C
}

static void test_pick_logprob(void)
{
    const char *t1[] = {" A", " B", "C", "\n"};
    double l1[] = {-2.0, -0.1, -3.0, -0.05};
    CU_ASSERT_EQUAL(mmlu_pick_logprob(t1, l1, 4), 'B');
    const char *t2[] = {"B", " B", " D", "D"};
    double l2[] = {-1.5, -1.2, -0.9, -3.0};
    CU_ASSERT_EQUAL(mmlu_pick_logprob(t2, l2, 4), 'D');
    const char *t3[] = {" A", "A"};
    double l3[] = {-5.0, -0.5};
    CU_ASSERT_EQUAL(mmlu_pick_logprob(t3, l3, 2), 'A');
    const char *t4[] = {"The", " answer", "  A", "AB", "a"};
    double l4[] = {-0.1, -0.2, -0.3, -0.4, -0.5};
    CU_ASSERT_EQUAL(mmlu_pick_logprob(t4, l4, 5), 0); /* none of the eight */
    CU_ASSERT_EQUAL(mmlu_pick_logprob(NULL, NULL, 0), 0);
}

static void test_categories(void)
{
    CU_ASSERT_EQUAL(mmlu_subject_category("abstract_algebra"), MMLU_STEM);
    CU_ASSERT_EQUAL(mmlu_subject_category("electrical_engineering"), MMLU_STEM);
    CU_ASSERT_EQUAL(mmlu_subject_category("machine_learning"), MMLU_STEM);
    CU_ASSERT_EQUAL(mmlu_subject_category("world_religions"), MMLU_HUMANITIES);
    CU_ASSERT_EQUAL(mmlu_subject_category("professional_law"), MMLU_HUMANITIES);
    CU_ASSERT_EQUAL(mmlu_subject_category("public_relations"), MMLU_SOCIAL_SCIENCES);
    CU_ASSERT_EQUAL(mmlu_subject_category("human_sexuality"), MMLU_SOCIAL_SCIENCES);
    CU_ASSERT_EQUAL(mmlu_subject_category("econometrics"), MMLU_SOCIAL_SCIENCES);
    CU_ASSERT_EQUAL(mmlu_subject_category("virology"), MMLU_OTHER);
    CU_ASSERT_EQUAL(mmlu_subject_category("professional_accounting"), MMLU_OTHER);
    CU_ASSERT_EQUAL(mmlu_subject_category("global_facts"), MMLU_OTHER);
    CU_ASSERT_EQUAL(mmlu_subject_category("astrology"), -1);
    CU_ASSERT_EQUAL(mmlu_subject_category(""), -1);
    CU_ASSERT_STRING_EQUAL(mmlu_category_name(MMLU_STEM), "STEM");
    CU_ASSERT_STRING_EQUAL(mmlu_category_name(MMLU_SOCIAL_SCIENCES), "social sciences");

    /* subjects per category, from categories.py: STEM = physics 4, chemistry
     * 2, biology 2, computer science 4, math 5, engineering 1; humanities =
     * history 4, philosophy 6, law 3; social sciences = politics 4, culture
     * 2, economics 3, geography 1, psychology 2; other = other 3, business 3,
     * health 8 */
    CU_ASSERT_PTR_NOT_NULL_FATAL(test_set);
    size_t subj[MMLU_CATEGORY_COUNT] = {0}, items[MMLU_CATEGORY_COUNT] = {0};
    for (size_t i = 0; i < test_set->nsubjects; i++) {
        int c = test_set->subjects[i].category;
        CU_ASSERT_EQUAL(c, mmlu_subject_category(test_set->subjects[i].name));
        CU_ASSERT_FATAL(c >= 0 && c < MMLU_CATEGORY_COUNT);
        subj[c]++;
        items[c] += test_set->subjects[i].nitems;
    }
    CU_ASSERT_EQUAL(subj[MMLU_STEM], 18);
    CU_ASSERT_EQUAL(subj[MMLU_HUMANITIES], 13);
    CU_ASSERT_EQUAL(subj[MMLU_SOCIAL_SCIENCES], 12);
    CU_ASSERT_EQUAL(subj[MMLU_OTHER], 14);
    /* test items per category (sums of the README's per-subject counts) */
    CU_ASSERT_EQUAL(items[MMLU_STEM], 3018);
    CU_ASSERT_EQUAL(items[MMLU_HUMANITIES], 4705);
    CU_ASSERT_EQUAL(items[MMLU_SOCIAL_SCIENCES], 3077);
    CU_ASSERT_EQUAL(items[MMLU_OTHER], 3242);
}

static void test_scores(void)
{
    /* two subjects by hand: STEM with 4 items (3 right), humanities with 1 (right) */
    mmlu_subject subs[2] = {{.name = "a", .category = MMLU_STEM, .nitems = 4},
                            {.name = "b", .category = MMLU_HUMANITIES, .nitems = 1}};
    mmlu_set set = {.subjects = subs, .nsubjects = 2, .nitems = 5};
    unsigned char correct[5] = {1, 0, 1, 1, 1};
    mmlu_scores sc;
    double per[2];
    mmlu_score(&set, correct, NULL, &sc, per);
    CU_ASSERT_EQUAL(sc.n, 5);
    CU_ASSERT_EQUAL(sc.n_correct, 4);
    CU_ASSERT_DOUBLE_EQUAL(sc.micro, 0.8, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(sc.macro, (0.75 + 1.0) / 2, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(per[0], 0.75, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(per[1], 1.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(sc.category[MMLU_STEM], 0.75, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(sc.category[MMLU_HUMANITIES], 1.0, 1e-12);
    CU_ASSERT(isnan(sc.category[MMLU_SOCIAL_SCIENCES]));
    CU_ASSERT(isnan(sc.category[MMLU_OTHER]));

    /* a limit: the first 2 items of a, none of b (skipped by the macro mean);
     * correct[] keeps the set's indexing */
    size_t ne[2] = {2, 0};
    mmlu_score(&set, correct, ne, &sc, per);
    CU_ASSERT_EQUAL(sc.n, 2);
    CU_ASSERT_EQUAL(sc.n_correct, 1);
    CU_ASSERT_DOUBLE_EQUAL(sc.micro, 0.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(sc.macro, 0.5, 1e-12);
    CU_ASSERT(isnan(per[1]));
    CU_ASSERT(isnan(sc.category[MMLU_HUMANITIES]));

    /* the real set: micro and macro differ when subjects differ in size */
    CU_ASSERT_PTR_NOT_NULL_FATAL(test_set);
    unsigned char *all = calloc(test_set->nitems, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(all);
    size_t base = 0;
    for (size_t i = 0; i < test_set->nsubjects; i++) {
        if (strcmp(test_set->subjects[i].name, "professional_law") == 0)
            memset(all + base, 1, test_set->subjects[i].nitems);
        base += test_set->subjects[i].nitems;
    }
    mmlu_score(test_set, all, NULL, &sc, NULL);
    CU_ASSERT_DOUBLE_EQUAL(sc.micro, 1534.0 / 14042.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(sc.macro, 1.0 / 57.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(sc.category[MMLU_HUMANITIES], 1534.0 / 4705.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(sc.category[MMLU_STEM], 0.0, 1e-12);
    free(all);
    mmlu_free(test_set);
    test_set = NULL;
}

static CU_TestInfo tests[] = {
    {"load all subjects: counts, order, speed", test_load_counts},
    {"byte-exact 5-shot and CoT prompts", test_prompt_5shot},
    {"CSV edge cases of the real files", test_csv_real_edge_cases},
    {"malformed CSV names file and record", test_csv_malformed},
    {"letter extraction", test_extract_letter},
    {"chain-of-thought answer regex", test_extract_cot},
    {"logprob pick", test_pick_logprob},
    {"categories of categories.py", test_categories},
    {"micro, macro and category scores", test_scores},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cutest_run("mmlu", tests);
}
