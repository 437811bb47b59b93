/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Start-up and shutdown: read the configuration, open the log, become a
 * daemon if asked, open every listener, drop privileges, start the workers,
 * then wait for a signal. SIGTERM/SIGINT stop cleanly (exit 0); SIGHUP
 * reopens the log file.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "config.h"
#include "log.h"
#include "net.h"
#include "xmalloc.h"

#ifndef TURNPIKE_VERSION
#define TURNPIKE_VERSION "0.1.0"
#endif

#define EXIT_CONFIG	2	/* bad configuration or command line */

struct main_state {
	struct config		*cfg;
	struct event_base	*base;
	struct net		*net;
	char			*pidfile;	/* absolute path, or NULL */
	int			 ready_fd;	/* daemon: pipe to the parent */
};

static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct main_state	*m = arg;

	if (sig == SIGHUP) {
		log_info("signal=HUP reopening log");
		log_reopen();
		return;
	}
	log_info("signal=%s shutting down", sig == SIGTERM ? "TERM" : "INT");
	event_base_loopbreak(m->base);
}

/* The soft fd limit goes up to the hard one: every client costs fds. */
static void
main_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit NOFILE");
}

static void
main_open_log(const struct config *cfg)
{
	struct log_options	o;

	memset(&o, 0, sizeof(o));
	o.level = cfg->verbosity >= 2 ? LOG_LEVEL_DEBUG :
	    cfg->verbosity == 1 ? LOG_LEVEL_VERBOSE : LOG_LEVEL_INFO;
	o.to_stdout = !cfg->no_stdout_log;
	o.file = cfg->log_file;
	o.to_syslog = cfg->syslog;
	o.syslog_facility = cfg->syslog_facility;
	o.ident = "turnpike";
	if (log_open(&o) == -1)
		exit(EXIT_CONFIG);
}

/*
 * Fork into the background. The parent waits until the child reports that
 * every listener is open (one byte on a pipe) and exits 0, or 1 if the
 * child died first, so `turnpike -o` fails visibly on a bad start.
 */
static void
main_daemonize(struct main_state *m)
{
	int	p[2], devnull;
	pid_t	pid;
	ssize_t	n;
	char	ok = 0;

	if (pipe(p) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		while ((n = read(p[0], &ok, 1)) == -1 && errno == EINTR)
			;
		_exit(n == 1 && ok == 'y' ? 0 : 1);
	}
	close(p[0]);
	m->ready_fd = p[1];
	if (setsid() == -1)
		fatal("setsid");
	if ((devnull = open("/dev/null", O_RDWR)) != -1) {
		dup2(devnull, STDIN_FILENO);
		if (devnull > STDERR_FILENO)
			close(devnull);
	}
}

/* Called once everything is up: release the parent, detach stdio. */
static void
main_daemon_ready(struct main_state *m)
{
	int	devnull;

	if (m->ready_fd == -1)
		return;
	if (write(m->ready_fd, "y", 1) != 1)
		log_warn("daemon ready pipe");
	close(m->ready_fd);
	m->ready_fd = -1;
	if ((devnull = open("/dev/null", O_RDWR)) != -1) {
		dup2(devnull, STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
		if (devnull > STDERR_FILENO)
			close(devnull);
	}
	if (chdir("/") == -1)
		log_warn("chdir /");
}

static char *
main_abs_path(const char *path)
{
	char	cwd[PATH_MAX];
	char	*abs;

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(path);
	xasprintf(&abs, "%s/%s", cwd, path);
	return abs;
}

static int
main_write_pidfile(struct main_state *m)
{
	FILE	*f;

	if (m->cfg->pidfile == NULL)
		return 0;
	m->pidfile = main_abs_path(m->cfg->pidfile);
	if ((f = fopen(m->pidfile, "w")) == NULL) {
		log_warn("pidfile %s", m->pidfile);
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) == EOF) {
		log_warn("pidfile %s", m->pidfile);
		return -1;
	}
	return 0;
}

/* proc-group then proc-user, after the listeners are bound. */
static int
main_drop_privileges(const struct config *cfg)
{
	struct passwd	*pw;
	struct group	*gr;

	if (cfg->proc_group != NULL) {
		if ((gr = getgrnam(cfg->proc_group)) == NULL) {
			log_warnx("proc-group %s: no such group",
			    cfg->proc_group);
			return -1;
		}
		if (setgroups(1, &gr->gr_gid) == -1 ||
		    setgid(gr->gr_gid) == -1) {
			log_warn("proc-group %s", cfg->proc_group);
			return -1;
		}
	}
	if (cfg->proc_user != NULL) {
		if ((pw = getpwnam(cfg->proc_user)) == NULL) {
			log_warnx("proc-user %s: no such user", cfg->proc_user);
			return -1;
		}
		if (cfg->proc_group == NULL && (initgroups(pw->pw_name,
		    pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1)) {
			log_warn("proc-user %s groups", cfg->proc_user);
			return -1;
		}
		if (setuid(pw->pw_uid) == -1) {
			log_warn("proc-user %s", cfg->proc_user);
			return -1;
		}
	}
	return 0;
}

static void
main_load_config(struct main_state *m, int argc, char **argv)
{
	char	err[1024];
	size_t	i;
	int	rc;

	m->cfg = config_new();
	rc = config_load(m->cfg, argc, argv, err, sizeof(err));
	if (rc == CONFIG_HELP) {
		config_usage(stdout);
		exit(0);
	}
	if (rc == CONFIG_VERSION) {
		printf("turnpike %s\n", TURNPIKE_VERSION);
		exit(0);
	}
	if (rc != CONFIG_OK) {
		fprintf(stderr, "turnpike: %s\n", err);
		exit(EXIT_CONFIG);
	}
	main_open_log(m->cfg);
	log_info("turnpike %s starting config=%s", TURNPIKE_VERSION,
	    m->cfg->config_file ? m->cfg->config_file : "none");
	for (i = 0; i < m->cfg->warnings.n; i++)
		log_warnx("%s", m->cfg->warnings.v[i]);
}

int
main(int argc, char **argv)
{
	struct main_state	 m = { .ready_fd = -1 };
	struct event		*sigev[3];
	const int		 sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	int			 i;

	signal(SIGPIPE, SIG_IGN);
	main_load_config(&m, argc, argv);
	main_raise_nofile();
	if (m.cfg->daemon)
		main_daemonize(&m);
	if (evthread_use_pthreads() == -1)
		fatalx("libevent has no pthread support");
	if ((m.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if ((m.net = net_new(m.cfg)) == NULL)
		fatalx("cannot open listeners");
	if (main_drop_privileges(m.cfg) == -1 || main_write_pidfile(&m) == -1)
		exit(1);
	for (i = 0; i < 3; i++) {
		sigev[i] = evsignal_new(m.base, sigs[i], main_signal_cb, &m);
		if (sigev[i] == NULL || event_add(sigev[i], NULL) == -1)
			fatalx("cannot install signal handlers");
	}
	if (net_start(m.net) == -1)
		fatalx("cannot start workers");
	log_info("turnpike ready pid=%ld", (long)getpid());
	main_daemon_ready(&m);

	event_base_dispatch(m.base);

	net_free(m.net);
	for (i = 0; i < 3; i++)
		event_free(sigev[i]);
	event_base_free(m.base);
	if (m.pidfile != NULL && unlink(m.pidfile) == -1)
		log_warn("unlink pidfile %s", m.pidfile);
	free(m.pidfile);
	log_info("turnpike stopped");
	config_free(m.cfg);
	log_close();
	libevent_global_shutdown();
	return 0;
}
