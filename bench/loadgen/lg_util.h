/*
 * turnpike bench — helpers shared by the load generators in bench/loadgen/
 * (turn_load.c, sig_load.c, udp_floor.c, ws_floor.c): clocks, a latency
 * histogram, the fd limit, lists of loopback source addresses, address
 * parsing, stopping on a signal. Not part of turnpike.
 */
#ifndef LG_UTIL_H
#define LG_UTIL_H

#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t	lg_now_ns(void);

/*
 * Latency histogram: 1 µs resolution below 64 µs, then 64 buckets per
 * power of two (under 1.6 % error) up to about 68 s. Fixed size, no
 * allocation, so it can sit in a struct and be merged.
 */
#define LG_HIST_SUB	64
#define LG_HIST_POW	27
struct lg_hist {
	uint64_t	count;
	uint64_t	sum_ns;
	uint64_t	max_ns;
	uint32_t	bucket[LG_HIST_POW * LG_HIST_SUB];
};

void		lg_hist_add(struct lg_hist *, uint64_t ns);
void		lg_hist_merge(struct lg_hist *into, const struct lg_hist *);
/* The value under which fraction p (0..1) of the samples fall, in ns. */
uint64_t	lg_hist_pct(const struct lg_hist *, double p);

/* Raise RLIMIT_NOFILE's soft limit to the hard one; returns the new one. */
long		lg_raise_nofile(void);

/*
 * Parse "127.0.2.1-16" (the last octet ranges from 1 to 16) or a single
 * address into out; returns how many, or -1 on a bad spec.
 */
int		lg_parse_sources(const char *spec, struct in_addr *out,
		    int max);

/* "IPv4:PORT" into sin (port 0 allowed); 0, or -1 on a bad spec. */
int		lg_parse_addr4(const char *spec, struct sockaddr_in *sin);

/*
 * The floors' way to stop: SIGTERM and SIGINT set lg_stop and interrupt
 * a blocking call (no SA_RESTART); SIGPIPE is ignored.
 */
extern volatile sig_atomic_t lg_stop;
void		lg_catch_stop(void);

/* Print "prog: message" to stderr and exit 1. */
void		lg_die(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2), noreturn));

#endif
