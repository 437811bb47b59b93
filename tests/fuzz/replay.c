/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Plain driver for the libFuzzer harnesses: feeds every regular file of
 * the directories (and the files) named on the command line to
 * LLVMFuzzerTestOneInput(), one TAP line each, so `make check` replays the
 * corpora without clang and old crashes stay fixed. A crash is the test
 * failing; each input is copied to a buffer of its exact size so the
 * sanitizers see any overread.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	replay_n;

static int
replay_file(const char *path)
{
	FILE	*f;
	uint8_t	*buf;
	long	 size;

	if ((f = fopen(path, "rb")) == NULL)
		goto fail;
	if (fseek(f, 0, SEEK_END) == -1 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) == -1) {
		fclose(f);
		goto fail;
	}
	if ((buf = malloc(size > 0 ? (size_t)size : 1)) == NULL ||
	    fread(buf, 1, (size_t)size, f) != (size_t)size) {
		free(buf);
		fclose(f);
		goto fail;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)size);
	free(buf);
	printf("ok %d - replay %s\n", ++replay_n, path);
	fflush(stdout);
	return 0;
fail:
	printf("not ok %d - replay %s: %s\n", ++replay_n, path,
	    strerror(errno));
	return -1;
}

static int
replay_dir(const char *dir)
{
	struct dirent	**ents;
	struct stat	  st;
	char		  path[4096];
	int		  i, n, rc = 0;

	if ((n = scandir(dir, &ents, NULL, alphasort)) == -1) {
		printf("not ok %d - replay %s: %s\n", ++replay_n, dir,
		    strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    replay_file(path) == -1)
			rc = -1;
		free(ents[i]);
	}
	free(ents);
	return rc;
}

int
main(int argc, char **argv)
{
	struct stat	st;
	int		i, rc = 0;

	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i]) == -1)
				rc = 1;
		} else if (replay_file(argv[i]) == -1)
			rc = 1;
	}
	printf("1..%d\n", replay_n);
	return rc;
}
