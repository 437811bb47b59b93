/*
 * turnpike — the signaling service (PROTOCOL.md): messages, rooms, peers.
 *
 * Pure logic: no sockets and no libevent. The glue (src/net/sig_*.c) owns
 * the WebSocket connections and hands each text message to sig_peer_text();
 * what the logic wants done goes back through struct sig_ops: send a text
 * frame, close a connection that a reconnect replaced, revoke the TURN
 * credentials minted for a peer that left. JSON (jansson) stays inside
 * sig_msg.c; rooms and peers see plain structs.
 *
 * Every room and peer lives on one thread (the signaling thread), so
 * nothing here takes a lock.
 */
#ifndef SIG_H
#define SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct auth;
struct config;

/* roomId and uid as JSON text ("\"alice\"" or "42"): key and echo alike. */
#define SIG_ID_MAX	256

struct sig_id {
	uint16_t	len;
	char		text[SIG_ID_MAX];
};

enum sig_cmd {
	SIG_CMD_JOIN,
	SIG_CMD_LEAVE,
	SIG_CMD_OFFER,
	SIG_CMD_ANSWER,
	SIG_CMD_CANDIDATE,
	SIG_CMD_KEEPALIVE,
	SIG_CMD_RELAY,
	SIG_CMD_ICE_SERVERS,
	SIG_CMD_LEGACY,		/* no cmd, numeric type 1, 2 or 4 */
};

/* One decoded client message. */
struct sig_msg {
	enum sig_cmd	 cmd;
	char		 ref[32];	/* the cmd as sent, for error "ref" */
	struct sig_id	 room, uid, remote;
	bool		 has_room, has_uid, has_remote;
	char		 token[256];	/* join's token (signal-auth=secret) */
	int		 legacy_type;	/* SIG_CMD_LEGACY: 1, 2 or 4 */
	char		*legacy_data;	/* its "data" as JSON text (malloc) */
};

/* One top-level member of a scanned JSON object (sig_json.c). */
enum sig_json_type {
	SIG_JSON_STRING, SIG_JSON_INT, SIG_JSON_REAL, SIG_JSON_BOOL,
	SIG_JSON_NULL, SIG_JSON_OBJECT, SIG_JSON_ARRAY,
};

struct sig_json_member {
	const char	*key;		/* inside the quotes */
	size_t		 key_len;
	const char	*val;		/* the value's text, quotes included */
	size_t		 val_len;
	int		 type;		/* enum sig_json_type */
	bool		 key_escaped, val_escaped;	/* a backslash inside */
};

/*
 * Validate text as one JSON object (UTF-8, RFC 8259) without building
 * anything, and list its top-level members in out. *n is how many there
 * are. Returns 0; 1 if there were more than max (only max are in out);
 * -1 if text is not a JSON object.
 */
int	sig_json_scan(const char *text, size_t len,
	    struct sig_json_member *out, size_t max, size_t *n);

/*
 * Decode one text message. Returns 0, or -1 with code set to the
 * PROTOCOL.md error ("bad-json", "bad-request", "unknown-cmd") and
 * message to a short explanation; ref is filled whenever cmd was a string.
 */
int	sig_msg_parse(const char *text, size_t len, struct sig_msg *,
	    const char **code, const char **message);
void	sig_msg_clear(struct sig_msg *);
/* Write s as a JSON string (quotes included) into out; -1 if too long. */
int	sig_json_string(const char *s, char *out, size_t cap);

/* What the logic asks of the glue. conn is the glue's connection. */
struct sig_ops {
	void	(*send)(void *conn, const char *text, size_t len);
	void	(*close)(void *conn, uint16_t code, const char *reason);
	void	(*revoke)(void *arg, const char *turn_username);
};

/* ICE servers for a client: URLs and freshly minted TURN credentials. */
struct sig_ice {
	char		**urls;		/* stun:/turn:/turns: URLs */
	size_t		  nurls;
	char		 *secret;	/* REST secret the TURN side accepts */
	int		  ttl;
	char		  separator;	/* rest-api-separator */
};

/* Build the URL list and keep the secret (sig_ice.c). */
void	sig_ice_init(struct sig_ice *, const struct config *, bool tls,
	    const char *secret);
void	sig_ice_clear(struct sig_ice *);

struct sig_hub;
struct sig_peer;

struct sig_hub	*sig_hub_new(const struct config *, const struct sig_ice *,
		    const struct sig_ops *, void *ops_arg);
void		 sig_hub_free(struct sig_hub *);
/* A new WebSocket connection; uid_hint is the authenticated user or NULL. */
struct sig_peer	*sig_peer_new(struct sig_hub *, void *conn, const char *token,
		    const char *host);
/* The connection is gone (closed, errored, timed out): leave its room. */
void		 sig_peer_free(struct sig_hub *, struct sig_peer *);
/* One text message from the peer at unix time now (ms). */
void		 sig_peer_text(struct sig_hub *, struct sig_peer *,
		    const char *text, size_t len, uint64_t now_ms);
/*
 * The iceServers JSON array for uid (a JSON text id or NULL), with a
 * credential valid until now + ttl; host names the server when the
 * configuration does not. Returns the length written, or -1.
 */
int		 sig_ice_json(const struct sig_ice *, const char *uid_text,
		    const char *host, uint64_t now, char *out, size_t cap,
		    char *username, size_t ucap);
/*
 * signal-auth=secret: is token ("EXPIRY:MAC") valid for uid (the plain
 * string, as the backend signed it) at unix time now?
 */
bool		 sig_token_valid(const struct config *, const char *token,
		    const char *uid, uint64_t now);
/* Counters for /healthz and tests. */
size_t		 sig_hub_rooms(const struct sig_hub *);
size_t		 sig_hub_peers(const struct sig_hub *);

#endif
