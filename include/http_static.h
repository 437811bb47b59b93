/*
 * turnpike — static files for the web front (pure: names only, no I/O).
 */
#ifndef HTTP_STATIC_H
#define HTTP_STATIC_H

#include <sys/types.h>
#include <stddef.h>

/*
 * The file below the web root that a request path names, relative and
 * NUL-terminated in out: "/" is "index.html", "/call" and "/check" are
 * "call.html" and "check.html". Percent-escapes are decoded; "..", empty
 * segments after the first, hidden names (".x"), backslashes and control
 * bytes are refused. Returns the length, or -1 (answer 404).
 */
ssize_t		 http_static_path(const char *path, size_t len, char *out,
		    size_t cap);
/* Content-Type for a file name, by extension. */
const char	*http_static_mime(const char *name);

#endif
