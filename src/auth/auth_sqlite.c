/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * The SQLite user database (userdb), in coturn's layout so that a database
 * made by coturn's turnadmin works unchanged: table turnusers_lt (realm,
 * name, hmackey) holds long-term users as the hex of MD5(name:realm:
 * password), table turn_secret (realm, value) TURN REST secrets.
 *
 * Reading (the server): every lookup queries the file, so a change made
 * while the server runs counts at the next authentication; nothing is
 * cached but the open connections. Those are read-only and pooled: a
 * worker pops one, runs a prepared statement, pushes it back, so no two
 * threads ever use one connection (each is opened SQLITE_OPEN_NOMUTEX) and
 * the pool's lock covers only the pop and the push. A busy timeout rides
 * out a writer's commit. A file replaced by another (new inode) is
 * noticed and reopened. Missing file or tables read as empty and are
 * logged once, when the state changes.
 *
 * Writing (turnpike-admin): one connection and one transaction per call;
 * the tables are created when missing.
 */
#include <sys/stat.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "auth.h"
#include "auth_internal.h"
#include "log.h"
#include "xmalloc.h"

/* How long a lookup waits for a writer's lock before giving up. */
#define AUTH_SQLITE_BUSY_MS		500
/* How long turnpike-admin waits for readers and other writers. */
#define AUTH_SQLITE_ADMIN_BUSY_MS	5000

/* coturn's schema.sql, the two tables turnpike reads. */
static const char auth_sqlite_schema[] =
    "CREATE TABLE IF NOT EXISTS turnusers_lt ("
    "realm varchar(127) default '', name varchar(512), "
    "hmackey char(128), PRIMARY KEY (realm, name));"
    "CREATE TABLE IF NOT EXISTS turn_secret ("
    "realm varchar(127) default '', value varchar(256), "
    "PRIMARY KEY (realm, value));";

static const char auth_sqlite_sql_user[] =
    "SELECT hmackey FROM turnusers_lt WHERE realm = ?1 AND name = ?2";
/* Empty or NULL secrets never count: anyone could sign with them. */
static const char auth_sqlite_sql_secret[] =
    "SELECT value FROM turn_secret WHERE realm = ?1 AND value <> '' "
    "ORDER BY value LIMIT 1 OFFSET ?2";

/* Conditions logged once when they appear and once when they clear. */
enum auth_sqlite_state {
	AUTH_SQLITE_NOFILE,	/* cannot stat or open the file */
	AUTH_SQLITE_NOUSERS,	/* no table turnusers_lt */
	AUTH_SQLITE_NOSECRETS,	/* no table turn_secret */
	AUTH_SQLITE_QUERY,	/* a query failed (busy, corrupt, ...) */
	AUTH_SQLITE_BADKEY,	/* an hmackey that is not 32 hex digits */
	AUTH_SQLITE_NSTATES
};

static const char *const auth_sqlite_state_names[AUTH_SQLITE_NSTATES] = {
	"file", "table turnusers_lt", "table turn_secret", "query", "hmackey"
};

struct auth_sqlite_conn {
	sqlite3			*db;
	sqlite3_stmt		*user;		/* NULL until prepared */
	sqlite3_stmt		*secret;
	dev_t			 dev;		/* the file it has open */
	ino_t			 ino;
	struct auth_sqlite_conn	*next;		/* in the idle list */
};

struct auth_sqlite {
	char			*path;		/* absolute: daemons chdir */
	char			*realm;
	pthread_mutex_t		 lock;		/* guards idle */
	struct auth_sqlite_conn	*idle;
	atomic_bool		 bad[AUTH_SQLITE_NSTATES];
};

/* Log a condition the first time it is seen after being clear. */
static void
auth_sqlite_bad(struct auth_sqlite *s, enum auth_sqlite_state st,
    const char *detail)
{
	if (atomic_exchange(&s->bad[st], true))
		return;
	if (st == AUTH_SQLITE_NOUSERS || st == AUTH_SQLITE_NOSECRETS)
		log_warnx("auth userdb=%s %s is missing: read as empty until "
		    "turnpike-admin creates it", s->path,
		    auth_sqlite_state_names[st]);
	else
		log_warnx("auth userdb=%s %s: %s", s->path,
		    auth_sqlite_state_names[st], detail);
}

static void
auth_sqlite_good(struct auth_sqlite *s, enum auth_sqlite_state st)
{
	if (atomic_load_explicit(&s->bad[st], memory_order_relaxed) &&
	    atomic_exchange(&s->bad[st], false))
		log_info("auth userdb=%s %s ok again", s->path,
		    auth_sqlite_state_names[st]);
}

/* Whether db's last error was a missing table (read as empty). */
static bool
auth_sqlite_no_table(sqlite3 *db)
{
	return strncmp(sqlite3_errmsg(db), "no such table", 13) == 0;
}

static void
auth_sqlite_conn_free(struct auth_sqlite_conn *c)
{
	if (c == NULL)
		return;
	sqlite3_finalize(c->user);
	sqlite3_finalize(c->secret);
	sqlite3_close(c->db);
	free(c);
}

static struct auth_sqlite_conn *
auth_sqlite_conn_open(struct auth_sqlite *s, const struct stat *st)
{
	struct auth_sqlite_conn	*c;
	int			 rc;

	c = xcalloc(1, sizeof(*c));
	rc = sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		auth_sqlite_bad(s, AUTH_SQLITE_NOFILE, c->db != NULL ?
		    sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		auth_sqlite_conn_free(c);
		return NULL;
	}
	sqlite3_busy_timeout(c->db, AUTH_SQLITE_BUSY_MS);
	c->dev = st->st_dev;
	c->ino = st->st_ino;
	return c;
}

/* An idle connection to the file as it is now, or a new one; NULL: none. */
static struct auth_sqlite_conn *
auth_sqlite_get(struct auth_sqlite *s)
{
	struct auth_sqlite_conn	*c;
	struct stat		 st;

	if (stat(s->path, &st) == -1) {
		auth_sqlite_bad(s, AUTH_SQLITE_NOFILE, strerror(errno));
		return NULL;
	}
	pthread_mutex_lock(&s->lock);
	if ((c = s->idle) != NULL)
		s->idle = c->next;
	pthread_mutex_unlock(&s->lock);
	if (c != NULL && (c->dev != st.st_dev || c->ino != st.st_ino)) {
		/* The file was replaced: c still reads the old one. */
		auth_sqlite_conn_free(c);
		c = NULL;
	}
	if (c == NULL && (c = auth_sqlite_conn_open(s, &st)) == NULL)
		return NULL;
	auth_sqlite_good(s, AUTH_SQLITE_NOFILE);
	return c;
}

/* Back to the pool; after an error, closed instead (the next reopens). */
static void
auth_sqlite_put(struct auth_sqlite *s, struct auth_sqlite_conn *c,
    bool failed)
{
	if (failed) {
		auth_sqlite_conn_free(c);
		return;
	}
	pthread_mutex_lock(&s->lock);
	c->next = s->idle;
	s->idle = c;
	pthread_mutex_unlock(&s->lock);
}

/*
 * Prepare *stmt once per connection. 0: ready; 1: the table is missing
 * (read as empty; tried again next time); -1: another error.
 */
static int
auth_sqlite_prepare(struct auth_sqlite *s, struct auth_sqlite_conn *c,
    sqlite3_stmt **stmt, const char *sql, enum auth_sqlite_state missing)
{
	const char	*msg;

	if (*stmt != NULL)
		return 0;
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    stmt, NULL) == SQLITE_OK) {
		auth_sqlite_good(s, missing);
		return 0;
	}
	msg = sqlite3_errmsg(c->db);
	auth_sqlite_bad(s, auth_sqlite_no_table(c->db) ? missing :
	    AUTH_SQLITE_QUERY, msg);
	return auth_sqlite_no_table(c->db) ? 1 : -1;
}

/* 0 and the key for 32 hex digits (either case), else -1. */
static int
auth_sqlite_unhex(const unsigned char *hex, int len, uint8_t key[16])
{
	int	i, hi, lo;

	if (hex == NULL || len != 32)
		return -1;
	for (i = 0; i < 16; i++) {
		hi = OPENSSL_hexchar2int(hex[2 * i]);
		lo = OPENSSL_hexchar2int(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* One row from stmt, bound already: SQLITE_ROW, SQLITE_DONE or an error. */
static int
auth_sqlite_step(struct auth_sqlite *s, struct auth_sqlite_conn *c,
    sqlite3_stmt *stmt)
{
	int	rc = sqlite3_step(stmt);

	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		auth_sqlite_bad(s, AUTH_SQLITE_QUERY, sqlite3_errmsg(c->db));
	else
		auth_sqlite_good(s, AUTH_SQLITE_QUERY);
	return rc;
}

int
auth_sqlite_user_key(struct auth_sqlite *s, const char *name,
    uint8_t key[16])
{
	struct auth_sqlite_conn	*c;
	sqlite3_stmt		*q;
	int			 rc, found = 0;

	if ((c = auth_sqlite_get(s)) == NULL)
		return -1;
	if ((rc = auth_sqlite_prepare(s, c, &c->user, auth_sqlite_sql_user,
	    AUTH_SQLITE_NOUSERS)) != 0) {
		auth_sqlite_put(s, c, rc < 0);
		return rc < 0 ? -1 : 0;
	}
	q = c->user;
	sqlite3_bind_text(q, 1, s->realm, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	if ((rc = auth_sqlite_step(s, c, q)) == SQLITE_ROW) {
		if (auth_sqlite_unhex(sqlite3_column_text(q, 0),
		    sqlite3_column_bytes(q, 0), key) == 0)
			found = 1;
		else
			auth_sqlite_bad(s, AUTH_SQLITE_BADKEY, "a user's "
			    "hmackey is not 32 hex digits (an MD5 key); "
			    "that user cannot log in");
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	auth_sqlite_put(s, c, rc != SQLITE_ROW && rc != SQLITE_DONE);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	return found;
}

int
auth_sqlite_secret(struct auth_sqlite *s, unsigned int idx, char **secret)
{
	struct auth_sqlite_conn	*c;
	sqlite3_stmt		*q;
	int			 rc, found = 0;

	*secret = NULL;
	if ((c = auth_sqlite_get(s)) == NULL)
		return -1;
	if ((rc = auth_sqlite_prepare(s, c, &c->secret,
	    auth_sqlite_sql_secret, AUTH_SQLITE_NOSECRETS)) != 0) {
		auth_sqlite_put(s, c, rc < 0);
		return rc < 0 ? -1 : 0;
	}
	q = c->secret;
	sqlite3_bind_text(q, 1, s->realm, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)idx);
	if ((rc = auth_sqlite_step(s, c, q)) == SQLITE_ROW &&
	    sqlite3_column_text(q, 0) != NULL) {
		*secret = xstrdup((const char *)sqlite3_column_text(q, 0));
		found = 1;
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	auth_sqlite_put(s, c, rc != SQLITE_ROW && rc != SQLITE_DONE);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	return found;
}

/* The count sql yields for the realm, or -1 (logged as missing or bad). */
static long long
auth_sqlite_count(struct auth_sqlite *s, struct auth_sqlite_conn *c,
    const char *sql, enum auth_sqlite_state missing)
{
	sqlite3_stmt	*q = NULL;
	long long	 n = -1;

	if (sqlite3_prepare_v2(c->db, sql, -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, s->realm, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW)
			n = sqlite3_column_int64(q, 0);
	}
	if (n < 0)
		auth_sqlite_bad(s, auth_sqlite_no_table(c->db) ? missing :
		    AUTH_SQLITE_QUERY, sqlite3_errmsg(c->db));
	sqlite3_finalize(q);
	return n;
}

/* Say at start what the database holds for the realm. */
static void
auth_sqlite_probe(struct auth_sqlite *s, bool secrets)
{
	struct auth_sqlite_conn	*c;
	long long		 users, nsecrets = -1;

	if ((c = auth_sqlite_get(s)) == NULL)
		return;
	users = auth_sqlite_count(s, c, "SELECT count(*) FROM turnusers_lt "
	    "WHERE realm = ?1", AUTH_SQLITE_NOUSERS);
	if (secrets)
		nsecrets = auth_sqlite_count(s, c, "SELECT count(*) FROM "
		    "turn_secret WHERE realm = ?1 AND value <> ''",
		    AUTH_SQLITE_NOSECRETS);
	if (secrets)
		log_info("auth userdb=%s realm=%s users=%lld secrets=%lld",
		    s->path, s->realm, users < 0 ? 0 : users,
		    nsecrets < 0 ? 0 : nsecrets);
	else
		log_info("auth userdb=%s realm=%s users=%lld", s->path,
		    s->realm, users < 0 ? 0 : users);
	auth_sqlite_put(s, c, false);
}

struct auth_sqlite *
auth_sqlite_new(const char *path, const char *realm, bool secrets)
{
	struct auth_sqlite	*s;
	char			 cwd[PATH_MAX];

	s = xcalloc(1, sizeof(*s));
	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL)
		xasprintf(&s->path, "%s/%s", cwd, path);
	else
		s->path = xstrdup(path);
	s->realm = xstrdup(realm);
	pthread_mutex_init(&s->lock, NULL);
	auth_sqlite_probe(s, secrets);
	return s;
}

void
auth_sqlite_free(struct auth_sqlite *s)
{
	struct auth_sqlite_conn	*c;

	if (s == NULL)
		return;
	while ((c = s->idle) != NULL) {
		s->idle = c->next;
		auth_sqlite_conn_free(c);
	}
	pthread_mutex_destroy(&s->lock);
	free(s->path);
	free(s->realm);
	free(s);
}

/* ---------------------------------------------------- turnpike-admin side */

static void auth_sqlite_err(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
auth_sqlite_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Open path for writing (create: the file too) with the tables in place,
 * inside BEGIN IMMEDIATE: the write lock is ours until auth_sqlite_end().
 */
static sqlite3 *
auth_sqlite_begin(const char *path, bool create, char *err, size_t errlen)
{
	sqlite3	*db = NULL;
	int	 flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(db, AUTH_SQLITE_ADMIN_BUSY_MS);
	/*
	 * Write-ahead logging: a running server's lookups then never wait
	 * for the admin tool's commit (persistent; coturn reads it as well).
	 * Best effort: a file that cannot switch stays in its mode.
	 */
	(void)sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		goto fail;
	if (sqlite3_exec(db, auth_sqlite_schema, NULL, NULL, NULL) !=
	    SQLITE_OK)
		goto fail;
	return db;
fail:
	auth_sqlite_err(err, errlen, "%s: %s", path, db != NULL ?
	    sqlite3_errmsg(db) : "out of memory");
	sqlite3_close(db);
	return NULL;
}

/* Commit (ok) or roll back, and close. Returns ok ? 0 : -1. */
static int
auth_sqlite_end(sqlite3 *db, const char *path, bool ok, char *err,
    size_t errlen)
{
	if (ok && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		auth_sqlite_err(err, errlen, "%s: %s", path,
		    sqlite3_errmsg(db));
		ok = false;
	}
	if (!ok)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	return ok ? 0 : -1;
}

/*
 * Run one statement with up to three text parameters (NULL: not bound) in
 * its own transaction. Returns the rows changed, or -1.
 */
static int
auth_sqlite_write(const char *path, bool create, const char *sql,
    const char *p1, const char *p2, const char *p3, char *err, size_t errlen)
{
	const char	*p[3] = { p1, p2, p3 };
	sqlite3		*db;
	sqlite3_stmt	*q = NULL;
	int		 i, n = -1;

	if ((db = auth_sqlite_begin(path, create, err, errlen)) == NULL)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
		goto out;
	for (i = 0; i < 3; i++)
		if (p[i] != NULL)
			sqlite3_bind_text(q, i + 1, p[i], -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_DONE)
		n = sqlite3_changes(db);
out:
	if (n < 0)
		auth_sqlite_err(err, errlen, "%s: %s", path,
		    sqlite3_errmsg(db));
	sqlite3_finalize(q);
	if (auth_sqlite_end(db, path, n >= 0, err, errlen) == -1)
		return -1;
	return n;
}

int
auth_sqlite_put_user(const char *path, const char *realm, const char *name,
    const uint8_t key[16], char *err, size_t errlen)
{
	char	hex[33];
	int	i, rc;

	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	rc = auth_sqlite_write(path, true, "INSERT OR REPLACE INTO "
	    "turnusers_lt (realm, name, hmackey) VALUES (?1, ?2, ?3)",
	    realm, name, hex, err, errlen);
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc < 0 ? -1 : 0;
}

int
auth_sqlite_del_user(const char *path, const char *realm, const char *name,
    char *err, size_t errlen)
{
	return auth_sqlite_write(path, false, "DELETE FROM turnusers_lt "
	    "WHERE realm = ?1 AND name = ?2", realm, name, NULL, err, errlen);
}

int
auth_sqlite_put_secret(const char *path, const char *realm,
    const char *secret, char *err, size_t errlen)
{
	return auth_sqlite_write(path, true, "INSERT OR IGNORE INTO "
	    "turn_secret (realm, value) VALUES (?1, ?2)", realm, secret,
	    NULL, err, errlen) < 0 ? -1 : 0;
}

int
auth_sqlite_del_secret(const char *path, const char *realm,
    const char *secret, char *err, size_t errlen)
{
	if (secret == NULL)
		return auth_sqlite_write(path, false, "DELETE FROM "
		    "turn_secret WHERE realm = ?1", realm, NULL, NULL, err,
		    errlen);
	return auth_sqlite_write(path, false, "DELETE FROM turn_secret "
	    "WHERE realm = ?1 AND value = ?2", realm, secret, NULL, err,
	    errlen);
}

int
auth_sqlite_list(const char *path, bool secrets, const char *realm,
    auth_sqlite_list_cb cb, void *arg, char *err, size_t errlen)
{
	static const char *const sql[2][2] = {
		{ "SELECT realm, name FROM turnusers_lt ORDER BY realm, name",
		  "SELECT realm, name FROM turnusers_lt WHERE realm = ?1 "
		  "ORDER BY name" },
		{ "SELECT realm, value FROM turn_secret ORDER BY realm, value",
		  "SELECT realm, value FROM turn_secret WHERE realm = ?1 "
		  "ORDER BY value" },
	};
	sqlite3		*db = NULL;
	sqlite3_stmt	*q = NULL;
	const char	*r, *v;
	int		 rc, n = 0;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(db, AUTH_SQLITE_ADMIN_BUSY_MS);
	if (sqlite3_prepare_v2(db, sql[secrets][realm != NULL], -1, &q,
	    NULL) != SQLITE_OK) {
		if (auth_sqlite_no_table(db))
			goto out;	/* nothing stored yet */
		goto fail;
	}
	if (realm != NULL)
		sqlite3_bind_text(q, 1, realm, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		r = (const char *)sqlite3_column_text(q, 0);
		v = (const char *)sqlite3_column_text(q, 1);
		cb(r != NULL ? r : "", v != NULL ? v : "", arg);
		n++;
	}
	if (rc != SQLITE_DONE)
		goto fail;
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
fail:
	auth_sqlite_err(err, errlen, "%s: %s", path, db != NULL ?
	    sqlite3_errmsg(db) : "out of memory");
	sqlite3_finalize(q);
	sqlite3_close(db);
	return -1;
}
