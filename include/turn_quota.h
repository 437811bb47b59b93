/*
 * turnpike — allocation quotas: `total-quota` over the whole server and
 * `user-quota` per username, shared by every worker (a mutex; taken once
 * per allocation, never per packet).
 */
#ifndef TURN_QUOTA_H
#define TURN_QUOTA_H

#include <stdbool.h>

struct turn_quota;

/* 0 means unlimited for either. */
struct turn_quota *turn_quota_new(int total, int per_user);
void	turn_quota_free(struct turn_quota *);
/*
 * Count one more allocation for user; false (486) when over a quota. The
 * empty name (no-auth) counts toward total-quota only.
 */
bool	turn_quota_take(struct turn_quota *, const char *user);
void	turn_quota_give(struct turn_quota *, const char *user);
int	turn_quota_total(struct turn_quota *);

#endif
