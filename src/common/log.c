/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Logging: one line per event, "<ISO-8601 UTC> <LEVEL> <message>", to
 * stdout, a file and/or syslog. Each line is formatted into a stack buffer
 * and written with a single write(2) per sink, so worker threads can log
 * without a lock and lines never interleave.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"

#define LOG_LINE_MAX	2048

static struct {
	enum log_level	 level;
	int		 out_fd;	/* stdout/stderr, or -1 */
	int		 file_fd;	/* log-file, or -1 */
	char		*file;
	bool		 syslog;
} log_state = { LOG_LEVEL_INFO, STDERR_FILENO, -1, NULL, false };

static const char *const log_level_names[] = {
	"ERROR", "WARN", "INFO", "VERBOSE", "DEBUG"
};

static const int log_syslog_prio[] = {
	LOG_ERR, LOG_WARNING, LOG_INFO, LOG_INFO, LOG_DEBUG
};

static const struct {
	const char	*name;
	int		 facility;
} log_facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER }, { "auth", LOG_AUTH },
	{ "authpriv", LOG_AUTHPRIV }, { "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
	{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
};

static int
log_facility(const char *name)
{
	size_t	i;

	if (name == NULL)
		return LOG_DAEMON;
	if (strncasecmp(name, "LOG_", 4) == 0)
		name += 4;
	for (i = 0; i < sizeof(log_facilities) / sizeof(log_facilities[0]);
	    i++)
		if (strcasecmp(name, log_facilities[i].name) == 0)
			return log_facilities[i].facility;
	return -1;
}

static int
log_open_file(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

int
log_open(const struct log_options *o)
{
	bool	file_is_stdout = false, file_is_syslog = false;
	int	facility;

	log_state.level = o->level;
	if (o->file != NULL) {
		file_is_stdout = strcmp(o->file, "stdout") == 0 ||
		    strcmp(o->file, "-") == 0;
		file_is_syslog = strcmp(o->file, "syslog") == 0;
	}
	log_state.out_fd = o->to_stdout || file_is_stdout ? STDOUT_FILENO :
	    -1;
	if (o->to_syslog || file_is_syslog) {
		if ((facility = log_facility(o->syslog_facility)) == -1) {
			log_warnx("syslog-facility '%s' unknown, using daemon",
			    o->syslog_facility);
			facility = LOG_DAEMON;
		}
		openlog(o->ident ? o->ident : "turnpike", LOG_PID | LOG_NDELAY,
		    facility);
		log_state.syslog = true;
	}
	if (o->file != NULL && !file_is_stdout && !file_is_syslog) {
		if ((log_state.file_fd = log_open_file(o->file)) == -1) {
			log_warn("log-file %s", o->file);
			return -1;
		}
		free(log_state.file);
		log_state.file = xstrdup(o->file);
	}
	return 0;
}

void
log_reopen(void)
{
	int	fd;

	if (log_state.file == NULL)
		return;
	if ((fd = log_open_file(log_state.file)) == -1) {
		log_warn("reopen log-file %s", log_state.file);
		return;
	}
	/* dup2 swaps the file atomically for threads writing to it. */
	dup2(fd, log_state.file_fd);
	close(fd);
}

void
log_close(void)
{
	if (log_state.file_fd != -1)
		close(log_state.file_fd);
	log_state.file_fd = -1;
	free(log_state.file);
	log_state.file = NULL;
	if (log_state.syslog)
		closelog();
	log_state.syslog = false;
	log_state.out_fd = STDERR_FILENO;
}

bool
log_enabled(enum log_level level)
{
	return level <= log_state.level;
}

static void
log_write(int fd, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

static void
log_vline(enum log_level level, const char *fmt, va_list ap, int errnum)
{
	char		line[LOG_LINE_MAX];
	struct timespec	ts;
	struct tm	tm;
	size_t		hdr, n;
	int		saved = errno;

	if (!log_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	hdr = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	hdr += snprintf(line + hdr, sizeof(line) - hdr, ".%03ldZ %s ",
	    ts.tv_nsec / 1000000, log_level_names[level]);
	n = hdr + (size_t)vsnprintf(line + hdr, sizeof(line) - hdr, fmt, ap);
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	if (errnum != 0)
		n += (size_t)snprintf(line + n, sizeof(line) - n, ": %s",
		    strerror(errnum));
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	line[n] = '\0';
	if (log_state.out_fd != -1)
		log_write(log_state.out_fd, line, n);
	if (log_state.file_fd != -1)
		log_write(log_state.file_fd, line, n);
	if (log_state.syslog)
		syslog(log_syslog_prio[level], "%s", line + hdr);
	errno = saved;
}

#define LOG_FN(name, level, use_errno)					\
void									\
name(const char *fmt, ...)						\
{									\
	int	e = (use_errno) ? errno : 0;				\
	va_list	ap;							\
									\
	va_start(ap, fmt);						\
	log_vline((level), fmt, ap, e);					\
	va_end(ap);							\
}

LOG_FN(log_warn, LOG_LEVEL_WARN, 1)
LOG_FN(log_warnx, LOG_LEVEL_WARN, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_verbose, LOG_LEVEL_VERBOSE, 0)
LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)
LOG_FN(log_error, LOG_LEVEL_ERROR, 0)

void
fatal(const char *fmt, ...)
{
	int	e = errno;
	va_list	ap;

	va_start(ap, fmt);
	log_vline(LOG_LEVEL_ERROR, fmt, ap, e);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vline(LOG_LEVEL_ERROR, fmt, ap, 0);
	va_end(ap);
	exit(1);
}
