#include "sim.h"

int sim_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 2;
}
