/*
 * turnpike — logging.
 *
 * One event per line: "<ISO-8601 UTC time> <level> <message>", the message
 * written as key=value pairs with the connection id first where there is one
 * ("conn=3f2a peer=198.51.100.7:5000 stun binding"). Lines go to stdout
 * (unless no-stdout-log), to log-file, and to syslog, as configured.
 * Thread-safe: each line is written with one write(2) per sink.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,		/* default: start-up, shutdown, problems */
	LOG_LEVEL_VERBOSE,	/* -v: one line per session event */
	LOG_LEVEL_DEBUG,	/* -V: per-message detail */
};

struct log_options {
	enum log_level	 level;
	bool		 to_stdout;
	const char	*file;		/* NULL: none; "stdout"/"syslog" as coturn */
	bool		 to_syslog;
	const char	*syslog_facility; /* NULL: "daemon" */
	const char	*ident;		/* syslog ident, "turnpike" */
};

/* Before log_open() everything goes to stderr at INFO. */
int	log_open(const struct log_options *);
/* Reopen the log file (SIGHUP; logrotate). */
void	log_reopen(void);
void	log_close(void);
bool	log_enabled(enum log_level);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_verbose(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
