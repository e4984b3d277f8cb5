#include "cli.h"
#include "sim.h"

#include <string.h>

int cli_main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "serve") == 0)
        return sim_main(argc - 1, argv + 1);
    return 2;
}
