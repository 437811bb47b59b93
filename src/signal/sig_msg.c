/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Signaling messages: one JSON object per WebSocket text frame
 * (PROTOCOL.md) decoded into struct sig_msg. jansson is used here only;
 * ids travel on as their JSON text so they can be both compared and echoed
 * exactly as the client sent them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sig.h"

static const struct {
	const char	*name;
	enum sig_cmd	 cmd;
} sig_msg_cmds[] = {
	{ "join", SIG_CMD_JOIN },
	{ "leave", SIG_CMD_LEAVE },
	{ "offer", SIG_CMD_OFFER },
	{ "answer", SIG_CMD_ANSWER },
	{ "candidate", SIG_CMD_CANDIDATE },
	{ "keepalive", SIG_CMD_KEEPALIVE },
	{ "relay", SIG_CMD_RELAY },
	{ "ice-servers", SIG_CMD_ICE_SERVERS },
};

/* A roomId/uid/remoteUid: a non-empty string or a number. 0, -1 absent,
 * -2 of the wrong type or too long. */
static int
sig_msg_id(json_t *obj, const char *key, struct sig_id *id)
{
	json_t	*v = json_object_get(obj, key);
	char	*text;
	size_t	 n;

	if (v == NULL || json_is_null(v))
		return -1;
	if (!(json_is_string(v) && json_string_length(v) > 0) &&
	    !json_is_integer(v) && !json_is_real(v))
		return -2;
	if ((text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT)) == NULL)
		return -2;
	n = strlen(text);
	if (n >= sizeof(id->text)) {
		free(text);
		return -2;
	}
	memcpy(id->text, text, n + 1);
	id->len = (uint16_t)n;
	free(text);
	return 0;
}

/* Which ids each command needs: room, uid, remote (1 = required). */
static int
sig_msg_ids(json_t *obj, struct sig_msg *m, const char **message)
{
	bool	need_remote = m->cmd == SIG_CMD_OFFER ||
	    m->cmd == SIG_CMD_ANSWER || m->cmd == SIG_CMD_CANDIDATE;
	bool	need_ids = m->cmd != SIG_CMD_KEEPALIVE &&
	    m->cmd != SIG_CMD_ICE_SERVERS;
	int	r;

	if ((r = sig_msg_id(obj, "roomId", &m->room)) == -2 ||
	    (r == -1 && need_ids)) {
		*message = "roomId must be a string or a number";
		return -1;
	}
	m->has_room = r == 0;
	if ((r = sig_msg_id(obj, "uid", &m->uid)) == -2 ||
	    (r == -1 && need_ids)) {
		*message = "uid must be a string or a number";
		return -1;
	}
	m->has_uid = r == 0;
	if ((r = sig_msg_id(obj, "remoteUid", &m->remote)) == -2 ||
	    (r == -1 && need_remote)) {
		*message = "remoteUid must be a string or a number";
		return -1;
	}
	m->has_remote = r == 0;
	return 0;
}

/* The legacy two-tab form: {"type": 1|2|4, "data": ...}. */
static int
sig_msg_legacy(json_t *obj, struct sig_msg *m, const char **message)
{
	json_t	*type = json_object_get(obj, "type");
	json_t	*data = json_object_get(obj, "data");
	int	 t;

	if (!json_is_integer(type) || ((t = (int)json_integer_value(type)) !=
	    1 && t != 2 && t != 4)) {
		*message = "a message needs \"cmd\" (or a legacy \"type\" of "
		    "1, 2 or 4)";
		return -1;
	}
	m->cmd = SIG_CMD_LEGACY;
	m->legacy_type = t;
	m->legacy_data = json_dumps(data != NULL ? data : json_null(),
	    JSON_ENCODE_ANY | JSON_COMPACT);
	snprintf(m->ref, sizeof(m->ref), "type-%d", t);
	return m->legacy_data != NULL ? 0 : -1;
}

/* Set m's cmd (and ref) from its name; -1 if unknown. */
static int
sig_msg_cmd_n(const char *name, size_t len, struct sig_msg *m)
{
	size_t	i;

	snprintf(m->ref, sizeof(m->ref), "%.*s", (int)len, name);
	for (i = 0; i < sizeof(sig_msg_cmds) / sizeof(sig_msg_cmds[0]); i++)
		if (strlen(sig_msg_cmds[i].name) == len &&
		    memcmp(sig_msg_cmds[i].name, name, len) == 0) {
			m->cmd = sig_msg_cmds[i].cmd;
			return 0;
		}
	return -1;
}

static int
sig_msg_cmd(const char *name, struct sig_msg *m)
{
	return sig_msg_cmd_n(name, strlen(name), m);
}

/*
 * The jansson path, for what the scan below leaves to it: the legacy form,
 * more top-level members than it looks at, and ids, tokens or keys written
 * with escapes or as reals, whose canonical text is jansson's. The text is
 * one JSON object of nmembers top-level members (sig_json_scan): jansson
 * keeps one of each name, so fewer means a name came twice (perhaps
 * spelt with escapes).
 */
static int
sig_msg_parse_tree(const char *text, size_t len, size_t nmembers,
    struct sig_msg *m, const char **code, const char **message)
{
	json_t		*obj, *cmd, *token;
	json_error_t	 jerr;
	int		 rc = -1;

	memset(m, 0, sizeof(*m));	/* the fast path may have begun */
	obj = json_loadb(text, len, 0, &jerr);
	if (obj == NULL || !json_is_object(obj)) {
		*code = "bad-json";
		*message = "not a JSON object";
		goto out;
	}
	if (json_object_size(obj) != nmembers) {
		*code = "bad-json";
		*message = "duplicate keys";
		goto out;
	}
	cmd = json_object_get(obj, "cmd");
	if (cmd == NULL) {
		rc = sig_msg_legacy(obj, m, message);
		goto out;
	}
	if (!json_is_string(cmd)) {
		*message = "cmd must be a string";
		goto out;
	}
	if (sig_msg_cmd(json_string_value(cmd), m) == -1) {
		*code = "unknown-cmd";
		*message = "unknown cmd";
		goto out;
	}
	if (sig_msg_ids(obj, m, message) == -1)
		goto out;
	token = json_object_get(obj, "token");
	if (json_is_string(token))
		snprintf(m->token, sizeof(m->token), "%s",
		    json_string_value(token));
	rc = 0;
out:
	json_decref(obj);
	return rc;
}

/* Fast path ---------------------------------------------------------------- */

#define SIG_MSG_MEMBERS	16	/* more top-level members: the jansson path */

static const struct sig_json_member *
sig_msg_member(const struct sig_json_member *mm, size_t n, const char *key)
{
	size_t	klen = strlen(key), i;

	for (i = 0; i < n; i++)
		if (mm[i].key_len == klen && memcmp(mm[i].key, key, klen) == 0)
			return &mm[i];
	return NULL;
}

/*
 * An id read in place: 0, -1 absent, -2 of the wrong type or too long,
 * 1 for the jansson path (an escaped string or a real: jansson's text for
 * them is the canonical one ids are compared by). A string without
 * escapes, and an integer, are already written as jansson writes them.
 */
static int
sig_msg_id_text(const struct sig_json_member *v, struct sig_id *id)
{
	if (v == NULL || v->type == SIG_JSON_NULL)
		return -1;
	if (v->type == SIG_JSON_REAL || v->val_escaped)
		return 1;
	if (v->type == SIG_JSON_INT) {
		/* -0 and integers past int64 are jansson's to judge */
		if ((v->val_len >= 2 && v->val[0] == '-' && v->val[1] == '0') ||
		    v->val_len > 18)
			return 1;
	} else if (v->type != SIG_JSON_STRING || v->val_len <= 2)
		return -2;
	if (v->val_len >= sizeof(id->text))
		return -2;
	memcpy(id->text, v->val, v->val_len);
	id->text[v->val_len] = '\0';
	id->len = (uint16_t)v->val_len;
	return 0;
}

/* The ids each command needs, read in place; 1 for the jansson path. */
static int
sig_msg_ids_scanned(const struct sig_json_member *mm, size_t n,
    struct sig_msg *m, const char **message)
{
	static const struct {
		const char	*key, *message;
	} ids[] = {
		{ "roomId", "roomId must be a string or a number" },
		{ "uid", "uid must be a string or a number" },
		{ "remoteUid", "remoteUid must be a string or a number" },
	};
	struct sig_id	*dst[] = { &m->room, &m->uid, &m->remote };
	bool		*has[] = { &m->has_room, &m->has_uid, &m->has_remote };
	bool		 need_remote = m->cmd == SIG_CMD_OFFER ||
	    m->cmd == SIG_CMD_ANSWER || m->cmd == SIG_CMD_CANDIDATE;
	bool		 need_ids = m->cmd != SIG_CMD_KEEPALIVE &&
	    m->cmd != SIG_CMD_ICE_SERVERS;
	size_t		 i;
	int		 r;

	for (i = 0; i < 3; i++) {
		r = sig_msg_id_text(sig_msg_member(mm, n, ids[i].key), dst[i]);
		if (r == 1)
			return 1;
		if (r == -2 || (r == -1 && (i < 2 ? need_ids : need_remote))) {
			*message = ids[i].message;
			return -1;
		}
		*has[i] = r == 0;
	}
	return 0;
}

/* Two top-level members with one name: jansson refused those too. */
static bool
sig_msg_duplicates(const struct sig_json_member *mm, size_t n)
{
	size_t	i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (mm[i].key_len == mm[j].key_len &&
			    memcmp(mm[i].key, mm[j].key, mm[i].key_len) == 0)
				return true;
	return false;
}

int
sig_msg_parse(const char *text, size_t len, struct sig_msg *m,
    const char **code, const char **message)
{
	struct sig_json_member		 mm[SIG_MSG_MEMBERS];
	const struct sig_json_member	*cmd, *token;
	size_t				 n, i;
	int				 r;

	memset(m, 0, sizeof(*m));
	*code = "bad-request";
	r = sig_json_scan(text, len, mm, SIG_MSG_MEMBERS, &n);
	if (r == -1) {
		*code = "bad-json";
		*message = "not a JSON object";
		return -1;
	}
	if (r == 1)		/* more than mm holds */
		return sig_msg_parse_tree(text, len, n, m, code, message);
	for (i = 0; i < n; i++)
		if (mm[i].key_escaped)	/* "c\u006dd" is "cmd" */
			return sig_msg_parse_tree(text, len, n, m, code,
			    message);
	if (sig_msg_duplicates(mm, n)) {
		*code = "bad-json";
		*message = "duplicate keys";
		return -1;
	}
	cmd = sig_msg_member(mm, n, "cmd");
	if (cmd == NULL || cmd->val_escaped)
		return sig_msg_parse_tree(text, len, n, m, code, message);
	if (cmd->type != SIG_JSON_STRING) {
		*message = "cmd must be a string";
		return -1;
	}
	if (sig_msg_cmd_n(cmd->val + 1, cmd->val_len - 2, m) == -1) {
		*code = "unknown-cmd";
		*message = "unknown cmd";
		return -1;
	}
	if ((r = sig_msg_ids_scanned(mm, n, m, message)) == 1)
		return sig_msg_parse_tree(text, len, n, m, code, message);
	if (r == -1)
		return -1;
	token = sig_msg_member(mm, n, "token");
	if (token != NULL && token->type == SIG_JSON_STRING) {
		if (token->val_escaped)
			return sig_msg_parse_tree(text, len, n, m, code,
			    message);
		snprintf(m->token, sizeof(m->token), "%.*s",
		    (int)(token->val_len - 2), token->val + 1);
	}
	return 0;
}

void
sig_msg_clear(struct sig_msg *m)
{
	free(m->legacy_data);
	m->legacy_data = NULL;
}

int
sig_json_string(const char *s, char *out, size_t cap)
{
	json_t	*str = json_string(s);
	size_t	 n;

	if (str == NULL)
		return -1;
	n = json_dumpb(str, out, cap, JSON_ENCODE_ANY);
	json_decref(str);
	if (n == 0 || n >= cap)
		return -1;
	out[n] = '\0';
	return (int)n;
}
