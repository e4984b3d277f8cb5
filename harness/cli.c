#include "cli.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "compare.h"
#include "config.h"
#include "datasets.h"
#include "eval.h"
#include "report.h"
#include "run.h"
#include "searchcmd.h"
#include "sim.h"
#include "suite.h"
#include "summary.h"
#include "tokenize.h"
#include "version.h"
#include "worker.h"

static const char run_usage[] =
    "usage: bench [run] [options]\n"
    "       bench search --model M --slo LIMITS [options]   (bench search --help)\n"
    "       bench report [FILES.h5 | DIR ...] [options]   (bench report --help)\n"
    "       bench suite FILE.json [options]   (bench suite --help)\n"
    "       bench serve --simulate MODEL [options]   (bench serve --help)\n"
    "       bench datasets list|verify|fetch ...   (bench datasets --help)\n"
    "       bench eval mmlu|humaneval|mtbench --model M [options]   (bench eval --help)\n"
    "       bench compare BASELINE CANDIDATE [options]   (bench compare --help)\n"
    "       bench baseline promote RUN_DIR --reason TEXT [options]   (bench baseline --help)\n"
    "\n"
    "Measure an OpenAI-compatible endpoint under a closed-loop concurrency sweep (or\n"
    "open-loop request rates with --rate), timestamping every streamed chunk into an\n"
    "HDF5 results file.\n"
    "With no --endpoint (and no $OPENAI_BASE_URL) the embedded simulated endpoint\n"
    "plays the model; results and summary then say 'simulated'.\n"
    "\n"
    "What to measure:\n"
    "  --model NAME          model from suites/models.json, or any name with --endpoint\n"
    "  --endpoint URL        base URL, e.g. http://127.0.0.1:8000/v1 (default $OPENAI_BASE_URL)\n"
    "  --served-model ID     model id sent in requests (default: the catalog's served_id)\n"
    "  --api chat|completions   API to call (default chat)\n"
    "  --api-key-env VAR     environment variable holding the API key (default OPENAI_API_KEY);\n"
    "                        the key is never taken from the command line nor recorded\n"
    "  --cacert FILE         trust the CA certificate(s) in FILE (PEM) instead of the\n"
    "                        system store for an https:// endpoint (e.g. self-signed)\n"
    "  --insecure            do not verify the server's certificate at all (recorded in the\n"
    "                        results file; the summary and report warn). Not with --cacert\n"
    "Load:\n"
    "  --concurrency LIST    closed loop: keep N requests in flight; levels 8, 1,2,4,8, 1-8\n"
    "                        or a mix (default 1-8)\n"
    "  --rate LIST           open loop instead: send R requests/s on a schedule drawn from\n"
    "                        --seed, whatever is in flight; 2.5, 1,2,4, 1-8, 1-4:0.5 (1, 1.5\n"
    "                        .. 4) or a mix. Latencies are also measured from each\n"
    "                        request's intended send time. Not with --concurrency\n"
    "  --arrival KIND        with --rate: poisson (default), constant or gamma:SHAPE (gaps\n"
    "                        of mean 1/R; SHAPE < 1 burstier than poisson, > 1 more even)\n"
    "  --max-concurrency N   with --rate: at most N requests in flight; later sends wait and\n"
    "                        the wait shows as schedule lag (default 1024, or less when the\n"
    "                        file descriptor limit allows less)\n"
    "  --requests N[,cL=M]   measured requests per level (default 100); cL=M (rR=M) gives\n"
    "                        level L (rate R) its own count, e.g. 60,c1=300\n"
    "  --warmup N            warm-up requests per level, sent first, recorded with warmup=1\n"
    "                        and excluded from statistics (default 4)\n"
    "  --threads N           load-generator threads (default: all cores, at most the level\n"
    "                        or, with --rate, --max-concurrency)\n"
    "  --busy-poll           worker threads spin instead of sleeping while requests are in\n"
    "                        flight: chunk times within microseconds of arrival, at the\n"
    "                        cost of a whole core per thread (for accuracy-critical runs)\n"
    "  --timeout SPEC        limits, e.g. connect=10s,first-token=120s,idle=60s,total=15m\n"
    "                        (those are the defaults)\n";

/* The rest of the usage (one string literal may not exceed 4095 bytes). */
static const char run_usage_more[] =
    "  --transport T         who speaks HTTP: auto (default: the built-in HTTP/1.1 client for\n"
    "                        plain http:// without a proxy variable, else libcurl), native,\n"
    "                        libcurl. The built-in client's chunk times are the kernel's\n"
    "                        receive stamps (docs/METRICS.md, Timestamps); it reads through\n"
    "                        io_uring where the kernel allows ($BENCH_IO_URING=off: recvmsg)\n"
    "Prompts:\n"
    "  --input-tokens N      synthetic prompt length in tokens (default 256); sized exactly\n"
    "                        with the server's POST /tokenize when it has one (vLLM, llama.cpp)\n"
    "  --tokenizer MODE      auto (default: probe <endpoint minus /v1>/tokenize), off, vllm,\n"
    "                        llama.cpp (that form only), or the URL of a tokenize endpoint;\n"
    "                        without one, prompt sizes are approximate (said once, recorded)\n"
    "  --output-tokens N     output tokens asked for with max_tokens (default 128)\n"
    "  --dataset FILE.jsonl  replay prompts: {\"prompt\": ...} or {\"messages\": [...]} a line,\n"
    "                        optional \"max_tokens\"; replayed in file order, cycling\n"
    "  --seed N              same seed, same prompts and schedule (default 1)\n"
    "  --no-ignore-eos       do not send \"ignore_eos\": true (for servers that reject it)\n"
    "  --temperature T       sampling temperature to send (default: not sent)\n"
    "Output:\n"
    "  --output FILE.h5      results file (default results/<model>-<UTC time>.h5)\n"
    "  --json                print the summary as one JSON object on stdout (table on stderr)\n"
    "  --progress            progress line on stderr even when it is not a terminal\n"
    "  --no-progress         never show the progress line\n"
    "  --no-report           do not write the report (by default the run ends by writing\n"
    "                        <results file minus .h5>-report/ as bench report would)\n"
    "  --catalog FILE        model catalog (default suites/models.json)\n"
    "Embedded simulated endpoint (only without --endpoint):\n"
    "  --sim-slowdown F      multiply every simulated latency by F (default 1)\n"
    "  --sim-faults SPEC     inject faults, e.g. http500=0.05 (docs/SIMULATOR.md)\n"
    "  --sim-log-sends FILE  the simulator's per-chunk send log (ground truth)\n"
    "\n"
    "  --help, --version\n"
    "\n"
    "Exit status: 0 run completed (some requests may have failed: see the summary),\n"
    "1 run failed or every measured request failed, 2 bad flags or input,\n"
    "130/143 interrupted by SIGINT/SIGTERM (what was measured is kept).\n";

enum {
    OPT_MODEL = 256,
    OPT_ENDPOINT,
    OPT_SERVED,
    OPT_API,
    OPT_KEYENV,
    OPT_CONC,
    OPT_REQUESTS,
    OPT_WARMUP,
    OPT_THREADS,
    OPT_TIMEOUT,
    OPT_IN,
    OPT_OUT,
    OPT_DATASET,
    OPT_SEED,
    OPT_NO_EOS,
    OPT_BUSY_POLL,
    OPT_TRANSPORT,
    OPT_TEMP,
    OPT_OUTPUT,
    OPT_JSON,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
    OPT_CATALOG,
    OPT_SIM_SLOW,
    OPT_SIM_FAULTS,
    OPT_SIM_LOG,
    OPT_NO_REPORT,
    OPT_CACERT,
    OPT_INSECURE,
    OPT_RATE,
    OPT_ARRIVAL,
    OPT_MAX_CONC,
    OPT_TOKENIZER,
    OPT_HELP,
    OPT_VERSION,
};

static const struct option run_opts[] = {
    {"model", required_argument, NULL, OPT_MODEL},
    {"endpoint", required_argument, NULL, OPT_ENDPOINT},
    {"served-model", required_argument, NULL, OPT_SERVED},
    {"api", required_argument, NULL, OPT_API},
    {"api-key-env", required_argument, NULL, OPT_KEYENV},
    {"concurrency", required_argument, NULL, OPT_CONC},
    {"requests", required_argument, NULL, OPT_REQUESTS},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"input-tokens", required_argument, NULL, OPT_IN},
    {"output-tokens", required_argument, NULL, OPT_OUT},
    {"dataset", required_argument, NULL, OPT_DATASET},
    {"seed", required_argument, NULL, OPT_SEED},
    {"no-ignore-eos", no_argument, NULL, OPT_NO_EOS},
    {"busy-poll", no_argument, NULL, OPT_BUSY_POLL},
    {"transport", required_argument, NULL, OPT_TRANSPORT},
    {"temperature", required_argument, NULL, OPT_TEMP},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"json", no_argument, NULL, OPT_JSON},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"catalog", required_argument, NULL, OPT_CATALOG},
    {"sim-slowdown", required_argument, NULL, OPT_SIM_SLOW},
    {"sim-faults", required_argument, NULL, OPT_SIM_FAULTS},
    {"sim-log-sends", required_argument, NULL, OPT_SIM_LOG},
    {"tokenizer", required_argument, NULL, OPT_TOKENIZER},
    {"no-report", no_argument, NULL, OPT_NO_REPORT},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"rate", required_argument, NULL, OPT_RATE},
    {"arrival", required_argument, NULL, OPT_ARRIVAL},
    {"max-concurrency", required_argument, NULL, OPT_MAX_CONC},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static bench_status set_str(char **dst, const char *v, const char *flag, bench_err *err)
{
    if (!*v)
        return bench_fail(err, BENCH_EUSAGE, "%s: empty value", flag);
    free(*dst);
    *dst = strdup(v);
    return *dst ? BENCH_OK : bench_fail(err, BENCH_ENOMEM, "out of memory");
}

static bench_status parse_double(const char *s, const char *flag, double lo, double hi, double *out,
                                 bench_err *err)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end)
        return bench_fail(err, BENCH_EUSAGE, "%s: '%s' is not a number", flag, s);
    if (!(v >= lo && v <= hi))
        return bench_fail(err, BENCH_EUSAGE, "%s: %s is out of range [%g, %g]", flag, s, lo, hi);
    *out = v;
    return BENCH_OK;
}

/* Parse run options into cfg. *exit_now is set (with *code) for --help and
 * --version. */
static bench_status parse_run(int argc, char **argv, run_config *cfg, int *exit_now, bench_err *err)
{
    bench_status st = BENCH_OK;
    long v;
    int opt, conc_given = 0, arrival_given = 0;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", run_opts, NULL)) != -1) {
        const char *a = optarg;
        switch (opt) {
        case OPT_MODEL:
            st = set_str(&cfg->model, a, "--model", err);
            break;
        case OPT_ENDPOINT:
            st = set_str(&cfg->endpoint, a, "--endpoint", err);
            break;
        case OPT_SERVED:
            st = set_str(&cfg->served_model, a, "--served-model", err);
            break;
        case OPT_API:
            if (strcmp(a, "chat") == 0)
                cfg->api = OAI_CHAT;
            else if (strcmp(a, "completions") == 0)
                cfg->api = OAI_COMPLETIONS;
            else
                st = bench_fail(err, BENCH_EUSAGE, "--api: '%s' (want chat or completions)", a);
            break;
        case OPT_KEYENV:
            st = set_str(&cfg->api_key_env, a, "--api-key-env", err);
            break;
        case OPT_CONC:
            st = config_parse_levels(a, "--concurrency", cfg->levels, &cfg->n_levels, err);
            conc_given = 1;
            break;
        case OPT_RATE:
            st = config_parse_rates(a, "--rate", cfg->rates, &cfg->n_rates, err);
            break;
        case OPT_ARRIVAL:
            st = schedule_parse_arrival(a, "--arrival", &cfg->arrival, err);
            arrival_given = 1;
            break;
        case OPT_MAX_CONC:
            if (!(st = config_parse_long(a, "--max-concurrency", 1, CONFIG_MAX_CONCURRENCY, &v,
                                         err)))
                cfg->max_concurrency = (int)v;
            break;
        case OPT_REQUESTS:
            st = config_parse_requests(a, cfg, err);
            break;
        case OPT_WARMUP:
            if (!(st = config_parse_long(a, "--warmup", 0, 1000000, &v, err)))
                cfg->warmup = v;
            break;
        case OPT_THREADS:
            if (!(st = config_parse_long(a, "--threads", 1, 1024, &v, err)))
                cfg->threads = (int)v;
            break;
        case OPT_TIMEOUT:
            st = config_parse_timeouts(a, &cfg->timeout, err);
            break;
        case OPT_IN:
            if (!(st = config_parse_long(a, "--input-tokens", 1, 10000000, &v, err)))
                cfg->input_tokens = (int)v;
            break;
        case OPT_OUT:
            if (!(st = config_parse_long(a, "--output-tokens", 1, 10000000, &v, err)))
                cfg->output_tokens = (int)v;
            break;
        case OPT_DATASET:
            st = set_str(&cfg->dataset, a, "--dataset", err);
            break;
        case OPT_SEED:
            if (!(st = config_parse_long(a, "--seed", 0, 0x7fffffffffffffffL, &v, err)))
                cfg->seed = (uint64_t)v;
            break;
        case OPT_NO_EOS:
            cfg->ignore_eos = 0;
            break;
        case OPT_BUSY_POLL:
            cfg->busy_poll = 1;
            break;
        case OPT_TRANSPORT:
            if (strcmp(a, "auto") == 0)
                cfg->transport = CONFIG_TRANSPORT_AUTO;
            else if (strcmp(a, "native") == 0)
                cfg->transport = CONFIG_TRANSPORT_NATIVE;
            else if (strcmp(a, "libcurl") == 0)
                cfg->transport = CONFIG_TRANSPORT_LIBCURL;
            else
                st = bench_fail(err, BENCH_EUSAGE,
                                "--transport: '%s' is not auto, native or libcurl", a);
            break;
        case OPT_TEMP:
            st = parse_double(a, "--temperature", 0, 2, &cfg->temperature, err);
            break;
        case OPT_OUTPUT:
            st = set_str(&cfg->output, a, "--output", err);
            break;
        case OPT_JSON:
            cfg->json = 1;
            break;
        case OPT_PROGRESS:
            cfg->progress = 1;
            break;
        case OPT_NO_PROGRESS:
            cfg->progress = -1;
            break;
        case OPT_CATALOG:
            st = set_str(&cfg->catalog_path, a, "--catalog", err);
            break;
        case OPT_SIM_SLOW:
            st = parse_double(a, "--sim-slowdown", 0.01, 1000, &cfg->sim_slowdown, err);
            break;
        case OPT_SIM_FAULTS:
            st = set_str(&cfg->sim_faults, a, "--sim-faults", err);
            break;
        case OPT_SIM_LOG:
            st = set_str(&cfg->sim_log_sends, a, "--sim-log-sends", err);
            break;
        case OPT_TOKENIZER:
            if (!(st = tokenizer_check_spec(a, err)))
                st = set_str(&cfg->tokenizer, a, "--tokenizer", err);
            break;
        case OPT_NO_REPORT:
            cfg->no_report = 1;
            break;
        case OPT_CACERT:
            st = set_str(&cfg->tls.cacert, a, "--cacert", err);
            break;
        case OPT_INSECURE:
            cfg->tls.insecure = 1;
            break;
        case OPT_HELP:
            fputs(run_usage, stdout);
            fputs(run_usage_more, stdout);
            *exit_now = 1;
            return BENCH_OK;
        case OPT_VERSION:
            printf("bench %s\n", BENCH_VERSION);
            *exit_now = 1;
            return BENCH_OK;
        case ':':
            return bench_fail(err, BENCH_EUSAGE, "%s needs a value", argv[optind - 1]);
        default:
            return bench_fail(err, BENCH_EUSAGE, "unknown option '%s' (see bench --help)",
                              argv[optind - 1]);
        }
        if (st)
            return st;
    }
    if (optind < argc)
        return bench_fail(err, BENCH_EUSAGE, "unexpected argument '%s' (see bench --help)",
                          argv[optind]);
    if (!cfg->model)
        return bench_fail(err, BENCH_EUSAGE,
                          "--model is required, e.g. bench --model mixtral-8x7b --concurrency 8");
    if (cfg->n_rates && conc_given)
        return bench_fail(err, BENCH_EUSAGE,
                          "--rate and --concurrency exclude each other: --rate sends at a fixed "
                          "rate whatever is in flight (open loop, capped by --max-concurrency), "
                          "--concurrency keeps N requests in flight (closed loop); give one");
    if (!cfg->n_rates && (arrival_given || cfg->max_concurrency))
        return bench_fail(err, BENCH_EUSAGE, "%s applies only with --rate (open loop)",
                          arrival_given ? "--arrival" : "--max-concurrency");
    if ((st = config_tls_check(&cfg->tls, "--", err)))
        return st;
    if (cfg->sim_faults && (st = sim_faults_check(cfg->sim_faults, err)))
        return bench_wrap(err, st, "--sim-faults");
    if (cfg->sim_faults && cfg->endpoint)
        return bench_fail(err, BENCH_EUSAGE,
                          "--sim-faults applies only to the embedded endpoint "
                          "(drop --endpoint)");
    /* The transport (and $BENCH_TRANSPORT) is checked here, before the
     * simulator starts or the results file exists; the embedded endpoint
     * is plain http. */
    int native;
    return worker_transport(cfg, cfg->endpoint ? cfg->endpoint : "http://127.0.0.1/", &native, NULL,
                            err);
}

/* The run summary as JSON, with the search's object added when sp is
 * set; malloc'd (the caller frees), NULL when out of memory. */
static char *summary_json_with(const run_summary *sum, const search_plan *sp)
{
    char *j = summary_json(sum);
    if (!j || !sp)
        return j;
    char *sj = search_plan_json(sp);
    cJSON *root = cJSON_Parse(j), *so = sj ? cJSON_Parse(sj) : NULL;
    free(j);
    free(sj);
    j = NULL;
    if (root && so) {
        cJSON_AddItemToObject(root, "search", so);
        so = NULL;
        j = cJSON_PrintUnformatted(root);
    }
    cJSON_Delete(root);
    cJSON_Delete(so);
    return j;
}

/* Run cfg (levels picked by sp's planner when sp is set), print what was
 * measured (even after a failure), write the report, and return the exit
 * status. */
static int run_and_report(const run_config *cfg, search_plan *sp)
{
    bench_err err = {{0}};
    int code = 0;
    const run_config *pcfg = cfg;
    run_summary *sum = calloc(1, sizeof *sum);
    if (!sum) {
        fprintf(stderr, "bench: out of memory\n");
        return 1;
    }
    bench_status st = run_execute_planned(pcfg, sp ? search_plan_planner(sp) : NULL, sum, &err);
    /* Whatever was measured is summarised, even after a failure. */
    if (sum->n_levels) {
        summary_print_table(pcfg->json ? stderr : stdout, sum);
        if (sp)
            search_plan_print(sp, pcfg->json ? stderr : stdout);
        if (pcfg->json) {
            char *j = summary_json_with(sum, sp);
            if (j) {
                puts(j);
                free(j);
            }
        }
    }
    /* The report of what was just measured, interrupted runs included (not
     * after a second signal: that one means stop now). */
    if (!pcfg->no_report && sum->n_levels &&
        (st == BENCH_OK || (st == BENCH_EINTR && sum->interrupted < 2))) {
        char dir[1100];
        size_t n = strlen(sum->results_path);
        if (n > 3 && strcmp(sum->results_path + n - 3, ".h5") == 0)
            n -= 3;
        snprintf(dir, sizeof dir, "%.*s-report", (int)n, sum->results_path);
        report_opts ro;
        report_opts_default(&ro);
        ro.outdir = dir;
        ro.catalog_path = pcfg->catalog_path;
        const char *in[] = {sum->results_path};
        bench_err rerr;
        bench_status rs = report_write(in, 1, &ro, NULL, &rerr);
        if (rs) {
            fprintf(stderr, "bench: the measurement is in %s, but its report failed: %s\n",
                    sum->results_path, rerr.msg);
            if (st == BENCH_OK)
                code = 1;
        }
    }
    if (st == BENCH_OK) {
        uint64_t measured = 0, ok = 0;
        for (size_t i = 0; i < sum->n_levels; i++) {
            measured += sum->levels[i].n_measured;
            ok += sum->levels[i].n_ok;
        }
        /* The first failure's reason, with a hint when the server's
         * certificate was refused (curl: "SSL certificate problem: ..."). */
        const char *hint = "";
        if (strstr(sum->first_error, "certificate") || strstr(sum->first_error, "SSL"))
            hint = pcfg->tls.cacert ? "; TLS certificate verification failed against --cacert"
                                    : "; TLS certificate verification failed: trust the server's "
                                      "CA with --cacert FILE";
        if (measured > 0 && ok == 0)
            st = bench_fail(&err, BENCH_EPROTO,
                            "every measured request failed; the first: %s%s (classes above; "
                            "messages in %s)",
                            sum->first_error[0] ? sum->first_error : "?", hint, sum->results_path);
    }
    if (st) {
        fprintf(stderr, "bench: %s\n", err.msg);
        code = st == BENCH_EINTR ? 130 : bench_exit_code(st);
        if (st == BENCH_EINTR && strstr(err.msg, "SIGTERM"))
            code = 143;
    }
    free(sum);
    return code;
}

static int cmd_run(int argc, char **argv)
{
    run_config cfg;
    bench_err err = {{0}};
    int exit_now = 0, code = 0;
    config_defaults(&cfg);
    bench_status st = parse_run(argc, argv, &cfg, &exit_now, &err);
    if (st || exit_now) {
        if (st)
            fprintf(stderr, "bench: %s\n", err.msg);
        code = st ? bench_exit_code(st) : 0;
    } else {
        code = run_and_report(&cfg, NULL);
    }
    config_free(&cfg);
    return code;
}

static int cmd_search(int argc, char **argv)
{
    run_config cfg;
    bench_err err = {{0}};
    search_plan *sp = NULL;
    int exit_now = 0, help = 0, code = 0;
    config_defaults(&cfg);
    bench_status st = search_plan_from_args(&argc, argv, &sp, &help, &err);
    if (!st && help) {
        fputs(search_usage, stdout);
        goto out;
    }
    /* The kind of run first, so the run's flags are checked against it
     * (--arrival and --max-concurrency need a rate run). */
    if (!st)
        st = search_plan_apply(sp, &cfg, &err);
    if (!st)
        st = parse_run(argc, argv, &cfg, &exit_now, &err);
    if (st) {
        fprintf(stderr, "bench search: %s\n", err.msg);
        code = bench_exit_code(st);
        goto out;
    }
    if (!exit_now)
        code = run_and_report(&cfg, sp);
out:
    search_plan_destroy(sp);
    config_free(&cfg);
    return code;
}

int cli_main(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;
    if (sub && strcmp(sub, "serve") == 0)
        return sim_main(argc - 1, argv + 1);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "bench: curl_global_init failed\n");
        return 1;
    }
    int code;
    if (sub && strcmp(sub, "run") == 0)
        code = cmd_run(argc - 1, argv + 1);
    else if (sub && strcmp(sub, "search") == 0)
        code = cmd_search(argc - 1, argv + 1);
    else if (sub && strcmp(sub, "report") == 0)
        code = report_main(argc - 1, argv + 1);
    else if (sub && strcmp(sub, "suite") == 0)
        code = suite_main(argc - 1, argv + 1);
    else if (sub && strcmp(sub, "datasets") == 0)
        code = datasets_main(argc - 1, argv + 1);
    else if (sub && strcmp(sub, "eval") == 0)
        code = eval_main(argc - 1, argv + 1);
    else if (sub && strcmp(sub, "compare") == 0)
        code = compare_main(argc - 1, argv + 1);
    else if (sub && strcmp(sub, "baseline") == 0)
        code = baseline_main(argc - 1, argv + 1);
    else if (sub && (strcmp(sub, "help") == 0))
        code = (fputs(run_usage, stdout), fputs(run_usage_more, stdout), 0);
    else if (sub && sub[0] != '-')
        code = (fprintf(stderr,
                        "bench: unknown command '%s' (commands: run, report, suite, "
                        "serve, datasets, eval, compare, baseline; see bench --help)\n",
                        sub),
                2);
    else
        code = cmd_run(argc, argv);
    curl_global_cleanup();
    return code;
}
