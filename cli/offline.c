/*
 * offline: placeholder until the store, CA and user modules land.
 */
#include "cli.h"

int
cmd_init(struct cli *c, int argc, char **argv)
{
	return cli_fail(c, "init: not available yet");
}

int
cmd_backup(struct cli *c, int argc, char **argv)
{
	return cli_fail(c, "backup: not available yet");
}

int
cmd_restore(struct cli *c, int argc, char **argv)
{
	return cli_fail(c, "restore: not available yet");
}

int
cmd_audit_verify(struct cli *c, int argc, char **argv)
{
	return cli_fail(c, "audit verify: not available yet");
}
