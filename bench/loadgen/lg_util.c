/*
 * turnpike bench — helpers shared by the load generators (lg_util.h).
 */
#include <sys/resource.h>
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lg_util.h"

uint64_t
lg_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Bucket index of a value in µs: exact below LG_HIST_SUB, then log-linear. */
static size_t
hist_index(uint64_t us)
{
	unsigned	pow;

	if (us < LG_HIST_SUB)
		return (size_t)us;
	pow = 63 - (unsigned)__builtin_clzll(us);	/* >= 6 */
	if (pow - 5 >= LG_HIST_POW)
		return LG_HIST_POW * LG_HIST_SUB - 1;
	/* top 6 significant bits after the leading one */
	return (size_t)(pow - 5) * LG_HIST_SUB +
	    (size_t)((us >> (pow - 6)) & (LG_HIST_SUB - 1));
}

/* The upper edge of bucket i, in µs. */
static uint64_t
hist_value(size_t i)
{
	size_t	pow, sub;

	if (i < LG_HIST_SUB)
		return i;
	pow = i / LG_HIST_SUB + 5;
	sub = i % LG_HIST_SUB;
	return ((uint64_t)(LG_HIST_SUB + sub + 1) << (pow - 6)) - 1;
}

void
lg_hist_add(struct lg_hist *h, uint64_t ns)
{
	h->bucket[hist_index(ns / 1000)]++;
	h->count++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

void
lg_hist_merge(struct lg_hist *into, const struct lg_hist *h)
{
	size_t	i;

	for (i = 0; i < LG_HIST_POW * LG_HIST_SUB; i++)
		into->bucket[i] += h->bucket[i];
	into->count += h->count;
	into->sum_ns += h->sum_ns;
	if (h->max_ns > into->max_ns)
		into->max_ns = h->max_ns;
}

uint64_t
lg_hist_pct(const struct lg_hist *h, double p)
{
	uint64_t	want, seen = 0;
	size_t		i;

	if (h->count == 0)
		return 0;
	want = (uint64_t)(p * (double)h->count + 0.5);
	if (want == 0)
		want = 1;
	for (i = 0; i < LG_HIST_POW * LG_HIST_SUB; i++) {
		seen += h->bucket[i];
		if (seen >= want) {
			uint64_t ns = hist_value(i) * 1000 + 999;
			return ns < h->max_ns ? ns : h->max_ns;
		}
	}
	return h->max_ns;
}

long
lg_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			return -1;
	}
	return (long)rl.rlim_cur;
}

int
lg_parse_sources(const char *spec, struct in_addr *out, int max)
{
	char		 buf[64], *dash, *end;
	struct in_addr	 first;
	unsigned long	 last;
	uint32_t	 base;
	int		 n;

	if (strlen(spec) >= sizeof(buf))
		return -1;
	strcpy(buf, spec);
	dash = strchr(buf, '-');
	if (dash != NULL)
		*dash = '\0';
	if (inet_pton(AF_INET, buf, &first) != 1)
		return -1;
	if (dash == NULL) {
		if (max < 1)
			return -1;
		out[0] = first;
		return 1;
	}
	base = ntohl(first.s_addr);
	errno = 0;
	last = strtoul(dash + 1, &end, 10);
	if (errno != 0 || *end != '\0' || last > 255 || last < (base & 0xff))
		return -1;
	n = (int)(last - (base & 0xff)) + 1;
	if (n > max)
		return -1;
	for (int i = 0; i < n; i++)
		out[i].s_addr = htonl(base + (uint32_t)i);
	return n;
}

void
lg_die(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

int
lg_parse_addr4(const char *spec, struct sockaddr_in *sin)
{
	char		 host[64], *colon, *end;
	unsigned long	 port;

	if (strlen(spec) >= sizeof(host))
		return -1;
	strcpy(host, spec);
	if ((colon = strrchr(host, ':')) == NULL)
		return -1;
	*colon = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || port > 65535)
		return -1;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

volatile sig_atomic_t lg_stop;

static void
lg_stop_cb(int sig)
{
	(void)sig;
	lg_stop = 1;
}

void
lg_catch_stop(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = lg_stop_cb;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}
