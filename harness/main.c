/* main.c - the thin `bench` executable; everything lives in benchcore. */
#include "cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
