/* cli.h - command-line entry: subcommand dispatch (run, serve, ...). */
#ifndef BENCH_CLI_H
#define BENCH_CLI_H

/* Parse argv and run the chosen subcommand. Returns the process exit status. */
int cli_main(int argc, char **argv);

#endif
