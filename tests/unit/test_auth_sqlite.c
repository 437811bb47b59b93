/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Unit tests for the SQLite user database (src/auth/auth_sqlite.c) behind
 * auth_user_key(): database users (known answer), realms, REST secrets
 * from the database, candidate order with static users and secrets,
 * changes seen without a restart, missing file and tables, a replaced
 * file, bad rows, the admin side, and lookups from four threads while a
 * fifth writes.
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>

#include "auth.h"
#include "config.h"
#include "stun_msg.h"
#include "tap.h"

#define REALM	"example.org"
#define NOW	1700000000ULL

static char	dir[64];

/* A file name in the test's directory. */
static const char *
path(const char *name)
{
	static char	buf[4][128];
	static int	n;

	n = (n + 1) % 4;
	snprintf(buf[n], sizeof(buf[n]), "%s/%s", dir, name);
	return buf[n];
}

static struct auth *
auth_for(const char *db, const char *extra, struct config **cfgp)
{
	struct config	*cfg = config_new();
	char		 text[1024], err[256];

	snprintf(text, sizeof(text), "lt-cred-mech\nrealm=" REALM
	    "\nuserdb=%s\n%s", db, extra);
	if (config_parse_text(cfg, text, strlen(text), "test", err,
	    sizeof(err)) != CONFIG_OK ||
	    config_validate(cfg, err, sizeof(err)) != CONFIG_OK) {
		printf("# config: %s\n", err);
		abort();
	}
	*cfgp = cfg;
	return auth_new(cfg);
}

static size_t
unhex(const char *s, uint8_t *out)
{
	size_t		n = 0;
	unsigned int	v;

	for (; s[0] != '\0' && s[1] != '\0'; s += 2) {
		if (sscanf(s, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* MD5 key of a REST name for secret, computed here with OpenSSL. */
static void
rest_key(const char *secret, const char *name, uint8_t key[16])
{
	uint8_t		mac[EVP_MAX_MD_SIZE];
	unsigned int	len = 0;
	char		pass[64];

	HMAC(EVP_sha1(), secret, (int)strlen(secret), (const uint8_t *)name,
	    strlen(name), mac, &len);
	EVP_EncodeBlock((uint8_t *)pass, mac, (int)len);
	stun_longterm_key(name, REALM, pass, key);
}

static int
add_user(const char *db, const char *realm, const char *name,
    const char *pass)
{
	uint8_t	key[16];
	char	err[256];

	stun_longterm_key(name, realm, pass, key);
	if (auth_sqlite_put_user(db, realm, name, key, err, sizeof(err)) ==
	    0)
		return 0;
	printf("# put_user: %s\n", err);
	return -1;
}

static int
sql(const char *db, const char *text)
{
	sqlite3	*h = NULL;
	int	 rc;

	rc = sqlite3_open(db, &h);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h, text, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		printf("# sql: %s\n", sqlite3_errmsg(h));
	sqlite3_close(h);
	return rc == SQLITE_OK ? 0 : -1;
}

static int
lookup(struct auth *a, const char *name, enum auth_alg alg, unsigned idx,
    uint8_t *key)
{
	size_t	keylen = 0;
	int	rc;

	rc = auth_user_key(a, name, strlen(name), alg, NOW, idx, key, &keylen);
	if (rc == 0 && keylen != (alg == AUTH_ALG_SHA256 ? 32u : 16u))
		return -2;
	return rc;
}

static void
test_users(void)
{
	const char	*db = path("users.db");
	struct config	*cfg;
	struct auth	*a;
	uint8_t		 key[AUTH_KEY_MAX], want[16];

	ok(add_user(db, REALM, "alice", "secret") == 0,
	    "admin side creates the file and adds alice");
	ok(add_user(db, "other.org", "dave", "pw") == 0, "dave, other realm");
	a = auth_for(db, "", &cfg);

	unhex("543e1aec5d3614f03141652d6ada51b2", want);
	ok(lookup(a, "alice", AUTH_ALG_MD5, 0, key) == 0 &&
	    memcmp(key, want, 16) == 0,
	    "db user: MD5(alice:example.org:secret)");
	is_int(lookup(a, "alice", AUTH_ALG_MD5, 1, key), -1,
	    "db user has one candidate");
	is_int(lookup(a, "alice", AUTH_ALG_SHA256, 0, key), -1,
	    "db user: no SHA-256 candidate");
	is_int(lookup(a, "mallory", AUTH_ALG_MD5, 0, key), -1,
	    "unknown user: none");
	is_int(lookup(a, "Alice", AUTH_ALG_MD5, 0, key), -1, "case matters");
	is_int(lookup(a, "dave", AUTH_ALG_MD5, 0, key), -1,
	    "user of another realm: none");

	/* Changes count at once, without a new struct auth. */
	ok(add_user(db, REALM, "erin", "pw2") == 0, "add erin while open");
	stun_longterm_key("erin", REALM, "pw2", want);
	ok(lookup(a, "erin", AUTH_ALG_MD5, 0, key) == 0 &&
	    memcmp(key, want, 16) == 0, "new user found without restart");
	ok(add_user(db, REALM, "alice", "changed") == 0, "change alice");
	stun_longterm_key("alice", REALM, "changed", want);
	ok(lookup(a, "alice", AUTH_ALG_MD5, 0, key) == 0 &&
	    memcmp(key, want, 16) == 0, "changed password counts at once");
	is_int(auth_sqlite_del_user(db, REALM, "alice", NULL, 0), 1,
	    "delete alice: one row");
	is_int(auth_sqlite_del_user(db, REALM, "alice", NULL, 0), 0,
	    "delete again: none");
	is_int(lookup(a, "alice", AUTH_ALG_MD5, 0, key), -1,
	    "deleted user refused at once");

	/* Bad rows are no candidates. */
	ok(sql(db, "INSERT INTO turnusers_lt VALUES ('" REALM "', 'sha', '"
	    "d1659fff7a501be15962adc35514ca6a5868905695f2dd1093741f931e000a1f"
	    "'), ('" REALM "', 'junk', 'zz3e1aec5d3614f03141652d6ada51b2'), "
	    "('" REALM "', 'null', NULL), ('" REALM "', 'upper', "
	    "'543E1AEC5D3614F03141652D6ADA51B2')") == 0, "odd rows inserted");
	is_int(lookup(a, "sha", AUTH_ALG_MD5, 0, key), -1,
	    "64-hex hmackey: none");
	is_int(lookup(a, "junk", AUTH_ALG_MD5, 0, key), -1,
	    "non-hex hmackey: none");
	is_int(lookup(a, "null", AUTH_ALG_MD5, 0, key), -1,
	    "NULL hmackey: none");
	unhex("543e1aec5d3614f03141652d6ada51b2", want);
	ok(lookup(a, "upper", AUTH_ALG_MD5, 0, key) == 0 &&
	    memcmp(key, want, 16) == 0, "upper-case hex is read");
	auth_free(a);
	config_free(cfg);
}

/* Static user first, then the database's; static secrets, then db's. */
static void
test_order_and_secrets(void)
{
	const char	*db = path("secrets.db");
	struct config	*cfg;
	struct auth	*a;
	uint8_t		 key[AUTH_KEY_MAX], want[16];
	char		 name[64], err[256];

	ok(add_user(db, REALM, "bob", "from-db") == 0, "bob in the db");
	ok(auth_sqlite_put_secret(db, REALM, "db-wind", err,
	    sizeof(err)) == 0, "db secret for the realm");
	ok(auth_sqlite_put_secret(db, REALM, "db-wind", err,
	    sizeof(err)) == 0, "adding it again is fine");
	ok(auth_sqlite_put_secret(db, "other.org", "elsewhere", err,
	    sizeof(err)) == 0, "db secret for another realm");
	ok(sql(db, "INSERT INTO turn_secret VALUES ('" REALM "', ''), "
	    "('" REALM "', NULL)") == 0, "empty and NULL secrets inserted");

	a = auth_for(db, "user=bob:static\nuse-auth-secret\n"
	    "static-auth-secret=north-wind\n", &cfg);
	stun_longterm_key("bob", REALM, "static", want);
	ok(lookup(a, "bob", AUTH_ALG_MD5, 0, key) == 0 &&
	    memcmp(key, want, 16) == 0, "candidate 0: the static user");
	stun_longterm_key("bob", REALM, "from-db", want);
	ok(lookup(a, "bob", AUTH_ALG_MD5, 1, key) == 0 &&
	    memcmp(key, want, 16) == 0, "candidate 1: the db user");
	is_int(lookup(a, "bob", AUTH_ALG_MD5, 2, key), -1,
	    "not a REST name: no more");
	ok(lookup(a, "bob", AUTH_ALG_SHA256, 0, key) == 0,
	    "SHA-256: the static user's");
	is_int(lookup(a, "bob", AUTH_ALG_SHA256, 1, key), -1,
	    "SHA-256: the db user has none");

	snprintf(name, sizeof(name), "%llu:bob", NOW + 3600);
	rest_key("north-wind", name, want);
	ok(lookup(a, name, AUTH_ALG_MD5, 0, key) == 0 &&
	    memcmp(key, want, 16) == 0, "REST 0: static-auth-secret");
	rest_key("db-wind", name, want);
	ok(lookup(a, name, AUTH_ALG_MD5, 1, key) == 0 &&
	    memcmp(key, want, 16) == 0, "REST 1: the realm's db secret");
	is_int(lookup(a, name, AUTH_ALG_MD5, 2, key), -1,
	    "no other realm's, no empty or NULL secret");
	ok(auth_sqlite_put_secret(db, REALM, "a-new-wind", err,
	    sizeof(err)) == 0, "add a secret while open");
	rest_key("a-new-wind", name, want);
	ok((lookup(a, name, AUTH_ALG_MD5, 1, key) == 0 &&
	    memcmp(key, want, 16) == 0) || (lookup(a, name, AUTH_ALG_MD5, 2,
	    key) == 0 && memcmp(key, want, 16) == 0),
	    "new db secret is a candidate at once");
	is_int(auth_sqlite_del_secret(db, REALM, NULL, err, sizeof(err)), 4,
	    "delete every secret of the realm (4 rows)");
	is_int(lookup(a, name, AUTH_ALG_MD5, 1, key), -1,
	    "deleted: only the static secret is left");
	snprintf(name, sizeof(name), "%llu:bob", NOW - 1);
	is_int(lookup(a, name, AUTH_ALG_MD5, 0, key), -1, "expired: none");
	auth_free(a);
	config_free(cfg);

	/* Without use-auth-secret the db's secrets are not used. */
	ok(auth_sqlite_put_secret(db, REALM, "db-wind", err,
	    sizeof(err)) == 0, "secret back");
	a = auth_for(db, "", &cfg);
	snprintf(name, sizeof(name), "%llu:bob", NOW + 3600);
	is_int(lookup(a, name, AUTH_ALG_MD5, 0, key), -1,
	    "no use-auth-secret: db secrets unused");
	auth_free(a);
	config_free(cfg);
}

static void
list_cb(const char *realm, const char *value, void *arg)
{
	char	*out = arg;
	size_t	 n = strlen(out);

	snprintf(out + n, 256 - n, "%s[%s];", value, realm);
}

static void
test_admin_list(void)
{
	const char	*db = path("list.db");
	char		 out[256] = "", err[256];
	FILE		*f;

	ok(add_user(db, "b.org", "zed", "x") == 0 &&
	    add_user(db, "a.org", "yan", "x") == 0 &&
	    add_user(db, "b.org", "amy", "x") == 0, "three users");
	is_int(auth_sqlite_list(db, false, NULL, list_cb, out, err,
	    sizeof(err)), 3, "list all: 3");
	is_str(out, "yan[a.org];amy[b.org];zed[b.org];",
	    "sorted by realm, then name");
	out[0] = '\0';
	is_int(auth_sqlite_list(db, false, "b.org", list_cb, out, err,
	    sizeof(err)), 2, "list one realm: 2");
	out[0] = '\0';
	is_int(auth_sqlite_list(db, true, NULL, list_cb, out, err,
	    sizeof(err)), 0, "no secrets");
	is_int(auth_sqlite_del_secret(db, "b.org", "nope", err, sizeof(err)),
	    0, "deleting a missing secret: 0");
	is_int(auth_sqlite_list(path("absent.db"), false, NULL, list_cb, out,
	    err, sizeof(err)), -1, "list a missing file: error");
	ok(strstr(err, "absent.db") != NULL, "message names the file");
	ok(access(path("absent.db"), F_OK) != 0, "and does not create it");
	is_int(auth_sqlite_del_user(path("absent.db"), "a", "b", err,
	    sizeof(err)), -1, "delete from a missing file: error");
	ok(access(path("absent.db"), F_OK) != 0, "not created either");
	ok(sql(path("garbage.db"), "") == 0, "an empty file");
	if ((f = fopen(path("garbage.db"), "w")) != NULL) {
		fputs("this is not a database, but long enough to look like "
		    "one to someone who does not check the header at all.\n",
		    f);
		fclose(f);
	}
	is_int(auth_sqlite_put_secret(path("garbage.db"), "r", "s", err,
	    sizeof(err)), -1, "a file that is no database: error");
}

/* Missing file, then missing tables, then both there: no restart. */
static void
test_missing(void)
{
	const char	*db = path("later.db");
	struct config	*cfg;
	struct auth	*a;
	uint8_t		 key[AUTH_KEY_MAX];
	char		 name[64];

	a = auth_for(db, "use-auth-secret\n", &cfg);
	snprintf(name, sizeof(name), "%llu:bob", NOW + 3600);
	is_int(lookup(a, "alice", AUTH_ALG_MD5, 0, key), -1,
	    "missing file: no user, no crash");
	is_int(lookup(a, name, AUTH_ALG_MD5, 0, key), -1,
	    "missing file: no secret");
	ok(sql(db, "CREATE TABLE unrelated (x)") == 0,
	    "file with other tables only");
	is_int(lookup(a, "alice", AUTH_ALG_MD5, 0, key), -1,
	    "missing table: no user");
	is_int(lookup(a, name, AUTH_ALG_MD5, 0, key), -1,
	    "missing table: no secret");
	is_int(lookup(a, "alice", AUTH_ALG_MD5, 0, key), -1,
	    "asked again: still none (warned once)");
	ok(add_user(db, REALM, "alice", "secret") == 0,
	    "admin creates the tables");
	ok(lookup(a, "alice", AUTH_ALG_MD5, 0, key) == 0,
	    "then the user is found");

	/* A file replaced by another (new inode) is reopened. */
	ok(add_user(path("new.db"), REALM, "frank", "pw") == 0,
	    "second file with frank");
	ok(rename(path("new.db"), db) == 0, "renamed over the first");
	is_int(lookup(a, "alice", AUTH_ALG_MD5, 0, key), -1,
	    "replaced file: alice is gone");
	ok(lookup(a, "frank", AUTH_ALG_MD5, 0, key) == 0,
	    "replaced file: frank is there");
	ok(unlink(db) == 0, "file removed");
	is_int(lookup(a, "frank", AUTH_ALG_MD5, 0, key), -1,
	    "removed file: none");
	auth_free(a);
	config_free(cfg);
}

/* ------------------------------------------------------------ threads */

#define READERS		4
#define WRITES		150

struct race {
	struct auth	*a;
	const char	*db;
	atomic_bool	 stop;
	atomic_int	 failures;
	atomic_long	 lookups;
	uint8_t		 want[16];
};

static void *
race_reader(void *arg)
{
	struct race	*r = arg;
	uint8_t		 key[AUTH_KEY_MAX];
	size_t		 keylen;

	while (!atomic_load(&r->stop)) {
		if (auth_user_key(r->a, "alice", 5, AUTH_ALG_MD5, NOW, 0, key,
		    &keylen) != 0 || keylen != 16 ||
		    memcmp(key, r->want, 16) != 0)
			atomic_fetch_add(&r->failures, 1);
		if (auth_user_key(r->a, "nobody", 6, AUTH_ALG_MD5, NOW, 0,
		    key, &keylen) != -1)
			atomic_fetch_add(&r->failures, 1);
		atomic_fetch_add(&r->lookups, 2);
	}
	return NULL;
}

static void *
race_writer(void *arg)
{
	struct race	*r = arg;
	char		 name[32], err[256];
	uint8_t		 key[16];
	int		 i;

	for (i = 0; i < WRITES; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		stun_longterm_key(name, REALM, "pw", key);
		if (auth_sqlite_put_user(r->db, REALM, name, key, err,
		    sizeof(err)) != 0) {
			printf("# writer: %s\n", err);
			atomic_fetch_add(&r->failures, 1000);
		}
		if (i % 3 == 2)
			auth_sqlite_del_user(r->db, REALM, name, err,
			    sizeof(err));
	}
	return NULL;
}

static double
now_us(void)
{
	struct timeval	tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec * 1e6 + tv.tv_usec;
}

static void
test_threads(void)
{
	struct race	r;
	struct config	*cfg;
	pthread_t	 rd[READERS], wr;
	uint8_t		 key[AUTH_KEY_MAX];
	double		 t0, us;
	int		 i, n = 2000;

	memset(&r, 0, sizeof(r));
	r.db = path("race.db");
	ok(add_user(r.db, REALM, "alice", "secret") == 0, "race: alice");
	r.a = auth_for(r.db, "", &cfg);
	stun_longterm_key("alice", REALM, "secret", r.want);

	/* One thread alone: the cost of a lookup. */
	t0 = now_us();
	for (i = 0; i < n; i++)
		lookup(r.a, "alice", AUTH_ALG_MD5, 0, key);
	us = (now_us() - t0) / n;
	printf("# one lookup: %.1f us (stat, pool, prepared SELECT)\n", us);
	ok(us < 1000, "a lookup takes well under a millisecond");

	for (i = 0; i < READERS; i++)
		pthread_create(&rd[i], NULL, race_reader, &r);
	pthread_create(&wr, NULL, race_writer, &r);
	pthread_join(wr, NULL);
	atomic_store(&r.stop, true);
	for (i = 0; i < READERS; i++)
		pthread_join(rd[i], NULL);
	printf("# %ld lookups by %d threads during %d writes\n",
	    atomic_load(&r.lookups), READERS, WRITES);
	is_int(atomic_load(&r.failures), 0,
	    "no failed lookup while the admin side writes");
	ok(atomic_load(&r.lookups) > 0, "the readers ran");
	ok(lookup(r.a, "user148", AUTH_ALG_MD5, 0, key) == 0 &&
	    lookup(r.a, "user149", AUTH_ALG_MD5, 0, key) == -1,
	    "the writer's last changes are seen");
	auth_free(r.a);
	config_free(cfg);
}

int
main(void)
{
	char	cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/turnpike-sqlite-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_users();
	test_order_and_secrets();
	test_admin_list();
	test_missing();
	test_threads();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
