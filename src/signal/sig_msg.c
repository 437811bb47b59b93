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

static int
sig_msg_cmd(json_t *cmd, struct sig_msg *m)
{
	size_t	i;

	snprintf(m->ref, sizeof(m->ref), "%s", json_string_value(cmd));
	for (i = 0; i < sizeof(sig_msg_cmds) / sizeof(sig_msg_cmds[0]); i++)
		if (strcmp(json_string_value(cmd), sig_msg_cmds[i].name) == 0) {
			m->cmd = sig_msg_cmds[i].cmd;
			return 0;
		}
	return -1;
}

int
sig_msg_parse(const char *text, size_t len, struct sig_msg *m,
    const char **code, const char **message)
{
	json_t		*obj, *cmd, *token;
	json_error_t	 jerr;
	int		 rc = -1;

	memset(m, 0, sizeof(*m));
	*code = "bad-request";
	obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL || !json_is_object(obj)) {
		*code = "bad-json";
		*message = "not a JSON object";
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
	if (sig_msg_cmd(cmd, m) == -1) {
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
