/* main.c - the thin `bench` executable; everything lives in benchcore. */
#include <signal.h>

#include "cli.h"

int main(int argc, char **argv)
{
    /* A write beyond the file size limit (ulimit -f) then fails with EFBIG
     * and is reported like a full disk, instead of killing bench before it
     * can keep what it measured (docs/RELIABILITY.md). Children that exec
     * (the simulator, the sandbox) restore the default disposition. */
    signal(SIGXFSZ, SIG_IGN);
    return cli_main(argc, argv);
}
