#include "cutest.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>

int cutest_run(const char *suite_name, CU_TestInfo *tests)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_SuiteInfo suites[] = {{suite_name, NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        fprintf(stderr, "cannot register suite %s: %s\n", suite_name, CU_get_error_msg());
        CU_cleanup_registry();
        return 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    return (failed == 0 && run > 0) ? 0 : 1;
}

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return (v && *v) ? v : dflt;
}

const char *cutest_root(void)
{
    return env_or("BENCH_ROOT", ".");
}

const char *cutest_samples_dir(void)
{
    return env_or("BENCH_SAMPLES_DIR", "../shared/samples");
}

const char *cutest_bench_exe(void)
{
    return env_or("BENCH_EXE", "build/harness/bench");
}
