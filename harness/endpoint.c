#include "endpoint.h"

#include <stdio.h>
#include <string.h>

bench_status endpoint_check_url(const char *url, const char *flag, char *out, size_t outsz,
                                bench_err *err)
{
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return bench_fail(err, BENCH_EUSAGE,
                          "%s: '%s' is not an http:// or https:// URL (e.g. "
                          "http://127.0.0.1:8000/v1)",
                          flag, url);
    const char *host = strstr(url, "://") + 3;
    if (!*host || *host == '/' || *host == ':')
        return bench_fail(err, BENCH_EUSAGE, "%s: '%s' has no host", flag, url);
    if (strchr(url, '@'))
        return bench_fail(err, BENCH_EUSAGE,
                          "%s: credentials in the URL are not accepted; put the key in "
                          "$OPENAI_API_KEY (or the variable named by --api-key-env)",
                          flag);
    if (strlen(url) >= outsz)
        return bench_fail(err, BENCH_EUSAGE, "%s: URL too long", flag);
    snprintf(out, outsz, "%s", url);
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
    return BENCH_OK;
}

bench_status endpoint_open(endpoint *ep, const char *url, const char *flag, const char *model,
                           const endpoint_sim *sim, bench_err *err)
{
    bench_status st;
    memset(ep, 0, sizeof *ep);
    if (url) {
        if ((st = endpoint_check_url(url, flag, ep->base, sizeof ep->base, err)))
            return st;
        snprintf(ep->kind, sizeof ep->kind, "remote");
        return BENCH_OK;
    }
    endpoint_sim dflt = {0};
    if (!sim)
        sim = &dflt;
    char seed[32], slow[32];
    const char *args[20];
    int na = 0;
    snprintf(seed, sizeof seed, "%llu", sim->seed);
    args[na++] = "--seed";
    args[na++] = seed;
    if (sim->slowdown > 0) {
        snprintf(slow, sizeof slow, "%g", sim->slowdown);
        args[na++] = "--slowdown";
        args[na++] = slow;
    }
    const struct {
        const char *flag, *value;
    } opt[] = {{"--catalog", sim->catalog},
               {"--data-dir", sim->data_dir},
               {"--sim-quality", sim->sim_quality},
               {"--faults", sim->faults},
               {"--log-sends", sim->log_sends}};
    for (size_t i = 0; i < sizeof opt / sizeof *opt; i++)
        if (opt[i].value) {
            args[na++] = opt[i].flag;
            args[na++] = opt[i].value;
        }
    args[na] = NULL;
    if ((st = simproc_start_env(model, args, sim->hide_env, &ep->sim, err)))
        return st;
    snprintf(ep->base, sizeof ep->base, "%s", simproc_url(ep->sim));
    snprintf(ep->kind, sizeof ep->kind, "simulated");
    return BENCH_OK;
}

void endpoint_close(endpoint *ep)
{
    if (ep->sim) {
        bench_err e;
        simproc_stop(ep->sim, &e);
        ep->sim = NULL;
    }
}
