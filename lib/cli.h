/* SPDX-License-Identifier: MIT */
/*
 * cli.h - the end of option parsing that the small commands (mkfs.daxfs,
 * fsck.daxfs, daxfs-mapcheck, daxfs-debug) share: -h/--help, -V/--version,
 * unknown options and the one operand each of them takes. Header only, so a
 * command that links nothing of libpmd can use it.
 */
#ifndef PMD_CLI_H
#define PMD_CLI_H

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#ifndef PMD_VERSION
#define PMD_VERSION "unknown"
#endif

/* the -V/--version entry of a command's getopt_long() option table */
#define CLI_VERSION_OPTION {"version", no_argument, NULL, 'V'}

/* prints the command's usage text to @f */
typedef void (*cli_usage_fn)(FILE *f);

/*
 * cli_help - for a getopt_long() result @c that no option case took: 'h'
 * prints the usage to stdout and returns 0 (the exit status of --help);
 * anything else prints it to stderr and returns @bad, the command's
 * usage-error exit status.
 */
static inline int cli_help(cli_usage_fn usage, int c, int bad)
{
	if (c == 'h') {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return bad;
}

/*
 * cli_version - print "@prog VERSION" to stdout, as -V/--version does, and
 * return 0, the exit status of --version.
 */
static inline int cli_version(const char *prog)
{
	printf("%s %s\n", prog, PMD_VERSION);
	return 0;
}

/*
 * cli_report - print "@prog: @what: @msg" to @f for a failed operation on
 * @what (a path, usually), or "@prog: @msg" when @msg names @what already
 * (the library's messages mostly do), so the path is named once.
 */
static inline void cli_report(FILE *f, const char *prog, const char *what, const char *msg)
{
	if (strstr(msg, what))
		fprintf(f, "%s: %s\n", prog, msg);
	else
		fprintf(f, "%s: %s: %s\n", prog, what, msg);
}

/*
 * cli_operand - the one operand left after the options, argv[optind]; NULL,
 * after printing the usage to stderr, when there is not exactly one.
 */
static inline const char *cli_operand(int argc, char **argv, cli_usage_fn usage)
{
	if (optind != argc - 1) {
		usage(stderr);
		return NULL;
	}
	return argv[optind];
}

#endif
