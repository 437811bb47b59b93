/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Static files of the web front: which file a request path names, and its
 * Content-Type. Pure; the glue (src/net/sig_static.c) opens the file and
 * checks once more that it really lies below the web root.
 */
#include <string.h>

#include "http_parse.h"
#include "http_static.h"

static const struct {
	const char	*path;
	const char	*file;
} http_static_aliases[] = {
	{ "/", "index.html" },
	{ "/call", "call.html" },
	{ "/check", "check.html" },
};

static const struct {
	const char	*ext;
	const char	*mime;
} http_static_mimes[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".webm", "video/webm" },
	{ ".wasm", "application/wasm" },
};

/* Is every segment of the decoded path a plain, visible name? */
static int
http_static_check(const char *p)
{
	const char	*seg = p;

	for (;; p++) {
		if (*p == '/' || *p == '\0') {
			if (p == seg || *seg == '.')
				return -1;	/* "//", ".", "..", ".hidden" */
			if (*p == '\0')
				return 0;
			seg = p + 1;
		} else if ((unsigned char)*p < 0x20 || *p == 0x7f ||
		    *p == '\\')
			return -1;
	}
}

ssize_t
http_static_path(const char *path, size_t len, char *out, size_t cap)
{
	ssize_t	n;
	size_t	i;

	for (i = 0; i < sizeof(http_static_aliases) /
	    sizeof(http_static_aliases[0]); i++) {
		if (len == strlen(http_static_aliases[i].path) &&
		    memcmp(path, http_static_aliases[i].path, len) == 0) {
			if (strlen(http_static_aliases[i].file) >= cap)
				return -1;
			strcpy(out, http_static_aliases[i].file);
			return (ssize_t)strlen(out);
		}
	}
	if (len < 2 || path[0] != '/')
		return -1;
	if ((n = http_decode_path(path + 1, len - 1, out, cap)) <= 0)
		return -1;
	return http_static_check(out) == 0 ? n : -1;
}

const char *
http_static_mime(const char *name)
{
	const char	*dot = strrchr(name, '.');
	size_t		 i;

	if (dot != NULL)
		for (i = 0; i < sizeof(http_static_mimes) /
		    sizeof(http_static_mimes[0]); i++)
			if (strcmp(dot, http_static_mimes[i].ext) == 0)
				return http_static_mimes[i].mime;
	return "application/octet-stream";
}
