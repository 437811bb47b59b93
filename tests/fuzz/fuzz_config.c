/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2025 turnpike authors
 *
 * libFuzzer harness for the configuration parser. Input is a configuration
 * file's text: parsed into a fresh config, validated, freed (leaks show up
 * under ASan). Input that starts with a NUL byte is a command line instead:
 * the remaining bytes split at NULs into arguments after a forced -n, so
 * config_load never reads a file.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* Most arguments one input becomes. */
#define FUZZ_CONFIG_MAX_ARGS	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_config_argv(const uint8_t *data, size_t size)
{
	struct config	*cfg = config_new();
	char		*buf, *argv[FUZZ_CONFIG_MAX_ARGS + 2], err[256];
	size_t		 i;
	int		 argc = 0;

	buf = malloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = (char *)"turnpike";
	argv[argc++] = (char *)"-n";
	for (i = 0; i < size && argc < FUZZ_CONFIG_MAX_ARGS + 2;
	    i += strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	config_load(cfg, argc, argv, err, sizeof err);
	config_free(cfg);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	*cfg;
	char		 err[256];

	if (size > 0 && data[0] == '\0') {
		fuzz_config_argv(data + 1, size - 1);
		return (0);
	}
	cfg = config_new();
	if (config_parse_text(cfg, (const char *)data, size, "fuzz", err,
	    sizeof err) == CONFIG_OK)
		config_validate(cfg, err, sizeof err);
	config_free(cfg);
	return (0);
}
