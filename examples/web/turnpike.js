/*
 * turnpike.js - a small browser client for a turnpike server.
 *
 * A plain script (no build step, no dependencies) that defines window.Turnpike:
 *
 *   Turnpike.iceServers([base])      Promise of the server's iceServers array
 *                                    (GET /ice-servers, fresh TURN credential)
 *   Turnpike.Signaling([url])        WebSocket client of the room protocol
 *                                    (default: ws(s)://<this host>/ws)
 *   Turnpike.Call(options)           a one-to-one call over a Signaling
 *   Turnpike.describePair(pair)      "relay (udp)", "direct (host)", ...
 *   Turnpike.parseCandidate(line)    fields of an a=candidate line
 *   Turnpike.urlInfo(url)            {scheme, host, port, transport} of a stun:/turn:/turns: URL
 *
 * The signaling protocol is doc/PROTOCOL.md (join, new-peer, resp-join, offer,
 * answer, candidate, leave, peer-leave; extensions joined, relay, error).
 * Both constructors work with or without `new`.
 */
(function (root) {
  'use strict';

  // ------------------------------------------------------------ utilities

  function defaultSignalingUrl() {
    var loc = root.location;
    var scheme = loc && loc.protocol === 'https:' ? 'wss:' : 'ws:';
    return scheme + '//' + (loc ? loc.host : '127.0.0.1') + '/ws';
  }

  function randomId(len) {
    var alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
    var out = '';
    var bytes = new Uint8Array(len || 8);
    root.crypto.getRandomValues(bytes);
    for (var i = 0; i < bytes.length; i++) out += alphabet[bytes[i] % alphabet.length];
    return out;
  }

  function sameId(a, b) {
    return a !== undefined && a !== null && b !== undefined && b !== null &&
      String(a) === String(b);
  }

  // A minimal event emitter mixed into Signaling and Call.
  function Emitter() {}
  Emitter.prototype.on = function (name, fn) {
    if (!this._handlers) this._handlers = {};
    (this._handlers[name] = this._handlers[name] || []).push(fn);
    return this;
  };
  Emitter.prototype.off = function (name, fn) {
    var list = this._handlers && this._handlers[name];
    if (!list) return this;
    var i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
    return this;
  };
  Emitter.prototype.emit = function (name) {
    var list = this._handlers && this._handlers[name];
    if (!list) return;
    var args = Array.prototype.slice.call(arguments, 1);
    list.slice().forEach(function (fn) {
      try {
        fn.apply(null, args);
      } catch (e) {
        if (root.console) root.console.error('turnpike: "' + name + '" handler threw', e);
      }
    });
  };
  function mixin(ctor) {
    ['on', 'off', 'emit'].forEach(function (k) { ctor.prototype[k] = Emitter.prototype[k]; });
  }

  // stun:host:port, turn:host:port?transport=tcp, turns:[::1]:5349 ...
  function urlInfo(url) {
    var m = /^(stuns?|turns?):(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?(.*))?$/i.exec(String(url).trim());
    if (!m) return null;
    var scheme = m[1].toLowerCase();
    var transport = 'udp';
    var q = /(?:^|&)transport=([a-z]+)/i.exec(m[4] || '');
    if (q) transport = q[1].toLowerCase();
    var secure = scheme === 'turns' || scheme === 'stuns';
    if (secure) transport = 'tcp';
    var port = m[3] ? Number(m[3]) : (secure ? 5349 : 3478);
    return {
      url: String(url), scheme: scheme, host: m[2].replace(/^\[|\]$/g, ''), port: port,
      transport: transport, secure: secure, turn: scheme.indexOf('turn') === 0,
      // the transport between browser and server, as RTCIceCandidate.relayProtocol names it
      relayProtocol: secure ? 'tls' : transport,
    };
  }

  // "candidate:1 1 udp 2122260223 192.0.2.2 50000 typ host generation 0 ..."
  function parseCandidate(line) {
    var s = String(line || '').replace(/^a=/, '');
    var f = s.split(/\s+/);
    if (f.length < 8 || f[0].indexOf('candidate:') !== 0) return null;
    var out = {
      foundation: f[0].slice(10), component: Number(f[1]), protocol: f[2].toLowerCase(),
      priority: Number(f[3]), address: f[4], port: Number(f[5]), type: f[7],
      relatedAddress: null, relatedPort: null, tcpType: null,
    };
    for (var i = 8; i + 1 < f.length; i += 2) {
      if (f[i] === 'raddr') out.relatedAddress = f[i + 1];
      else if (f[i] === 'rport') out.relatedPort = Number(f[i + 1]);
      else if (f[i] === 'tcptype') out.tcpType = f[i + 1];
    }
    return out;
  }

  function iceServers(base) {
    var url = (base ? String(base).replace(/\/+$/, '') : '') + '/ice-servers';
    return root.fetch(url, { cache: 'no-store' }).then(function (r) {
      if (!r.ok) throw new Error('GET ' + url + ': HTTP ' + r.status);
      return r.json();
    });
  }

  // ------------------------------------------------------------ Signaling

  /*
   * var sig = Turnpike.Signaling();            // ws(s)://this-host/ws
   * sig.on('new-peer', function (m) { ... });  // any cmd, plus 'open', 'close', 'message'
   * sig.join('room', 'alice').then(function (joined) { joined.iceServers ... });
   * sig.send('offer', 'bob', JSON.stringify(desc));
   * sig.send('relay', null, {any: 'json'});    // null remoteUid: every other member
   * sig.leave(); sig.close();
   */
  function Signaling(url) {
    if (!(this instanceof Signaling)) return new Signaling(url);
    var self = this;
    this.url = url || defaultSignalingUrl();
    this.roomId = null;
    this.uid = null;
    this.joined = null;         // the last `joined` message
    this.closed = false;
    this._queue = [];           // frames written before the socket opened
    this._joinWaiters = [];
    this.ws = new root.WebSocket(this.url);
    this.opened = new Promise(function (resolve, reject) {
      self.ws.addEventListener('open', function () {
        var q = self._queue;
        self._queue = [];
        q.forEach(function (text) { self.ws.send(text); });
        self.emit('open');
        resolve(self);
      });
      self.ws.addEventListener('close', function (ev) {
        reject(new Error('signaling connection to ' + self.url + ' closed (' + ev.code + ')'));
      });
    });
    this.opened.catch(function () {});     // reported through 'close' and join()
    this.ws.addEventListener('message', function (ev) { self._onMessage(ev.data); });
    this.ws.addEventListener('close', function (ev) {
      self.closed = true;
      var err = new Error('signaling connection closed (code ' + ev.code +
        (ev.reason ? ', ' + ev.reason : '') + ')');
      self._rejectJoins(err);
      self.emit('close', { code: ev.code, reason: ev.reason, wasClean: ev.wasClean });
    });
  }
  mixin(Signaling);

  Signaling.prototype._onMessage = function (text) {
    var m;
    try {
      m = JSON.parse(text);
    } catch (e) {
      this.emit('error', { cmd: 'error', code: 'bad-json', message: 'server sent a frame that is not JSON' });
      return;
    }
    if (!m || typeof m !== 'object') return;
    if (m.cmd === 'joined') {
      this.joined = m;
      var w = this._joinWaiters;
      this._joinWaiters = [];
      w.forEach(function (x) { x.resolve(m); });
    } else if (m.cmd === 'error' && m.ref === 'join') {
      var err = new Error('join refused: ' + m.code + (m.message ? ' (' + m.message + ')' : ''));
      err.code = m.code;
      err.reply = m;
      this._rejectJoins(err);
    }
    this.emit('message', m);
    if (typeof m.cmd === 'string') this.emit(m.cmd, m);
  };

  Signaling.prototype._rejectJoins = function (err) {
    var w = this._joinWaiters;
    this._joinWaiters = [];
    w.forEach(function (x) { x.reject(err); });
  };

  Signaling.prototype._write = function (obj) {
    var text = JSON.stringify(obj);
    if (this.closed) throw new Error('signaling connection is closed');
    if (this.ws.readyState === 1) this.ws.send(text);
    else this._queue.push(text);
  };

  // Promise of the server's `joined` message (peers, iceServers).
  Signaling.prototype.join = function (roomId, uid, timeoutMs) {
    var self = this;
    if (uid === undefined || uid === null) uid = randomId(8);
    this.roomId = roomId;
    this.uid = uid;
    this.joined = null;
    return new Promise(function (resolve, reject) {
      var timer = root.setTimeout(function () {
        reject(new Error('no answer to join within ' + (timeoutMs || 10000) + ' ms'));
      }, timeoutMs || 10000);
      self._joinWaiters.push({
        resolve: function (m) { root.clearTimeout(timer); resolve(m); },
        reject: function (e) { root.clearTimeout(timer); reject(e); },
      });
      try {
        self._write({ cmd: 'join', roomId: roomId, uid: uid });
      } catch (e) {
        self._rejectJoins(e);
      }
    });
  };

  // cmd: offer, answer, candidate or relay; remoteUid null/undefined = every other member (relay).
  Signaling.prototype.send = function (cmd, remoteUid, msg) {
    var o = { cmd: cmd, roomId: this.roomId, uid: this.uid };
    if (remoteUid !== undefined && remoteUid !== null) o.remoteUid = remoteUid;
    if (msg !== undefined) o.msg = msg;
    this._write(o);
  };

  Signaling.prototype.leave = function () {
    if (this.roomId === null || this.closed) return;
    try {
      this._write({ cmd: 'leave', roomId: this.roomId, uid: this.uid });
    } catch (e) { /* closed meanwhile */ }
    this.joined = null;
  };

  Signaling.prototype.close = function () {
    this._queue = [];
    if (!this.closed) this.ws.close(1000, 'bye');
  };

  // ------------------------------------------------------------ stats

  function candidateStats(s) {
    if (!s) return null;
    var relayProtocol = s.relayProtocol || null;
    if (!relayProtocol && s.candidateType === 'relay' && s.url) {
      var u = urlInfo(s.url);
      if (u) relayProtocol = u.relayProtocol;
    }
    return {
      id: s.id, candidateType: s.candidateType, protocol: s.protocol,
      relayProtocol: relayProtocol,
      address: s.address !== undefined ? s.address : s.ip, port: s.port,
      url: s.url || null,
    };
  }

  // "relay (udp)", "relay (tls)", "relay (remote side)", "direct (host)", "direct (srflx)", ...
  function describePair(p) {
    if (!p || !p.local || !p.remote) return 'none';
    var l = p.local;
    var r = p.remote;
    if (l.candidateType === 'relay') return 'relay (' + (l.relayProtocol || 'udp') + ')';
    if (r.candidateType === 'relay') return 'relay (remote side)';
    var types = l.candidateType === r.candidateType ? l.candidateType
      : l.candidateType + ' / ' + r.candidateType;
    return 'direct (' + types + (l.protocol && l.protocol !== 'udp' ? ', ' + l.protocol : '') + ')';
  }

  // The candidate pair that carries the connection, from pc.getStats().
  function selectedPair(pc) {
    return pc.getStats().then(function (stats) {
      var pair = null;
      stats.forEach(function (s) {
        if (!pair && s.type === 'transport' && s.selectedCandidatePairId)
          pair = stats.get(s.selectedCandidatePairId) || null;
      });
      if (!pair) {                              // Firefox, older Chromium
        stats.forEach(function (s) {
          if (!pair && s.type === 'candidate-pair' &&
              (s.selected || (s.nominated && s.state === 'succeeded')))
            pair = s;
        });
      }
      if (!pair) return null;
      var out = {
        id: pair.id, state: pair.state,
        local: candidateStats(stats.get(pair.localCandidateId)),
        remote: candidateStats(stats.get(pair.remoteCandidateId)),
        currentRoundTripTime: pair.currentRoundTripTime,
        bytesSent: pair.bytesSent, bytesReceived: pair.bytesReceived,
      };
      out.label = describePair(out);
      return out;
    });
  }

  // ------------------------------------------------------------ Call

  /*
   * var call = Turnpike.Call({
   *   signaling: sig, roomId: 'room', uid: 'alice',   // joins the room at once (autoJoin: false to wait for call.join())
   *   localStream: stream,                           // optional: without it the call only receives
   *   iceServers: [...],                             // optional: default the ones `joined` carries
   *   iceTransportPolicy: 'relay',                   // optional: 'all' (default) or 'relay'
   *   dataChannel: true,                             // default true: the offerer opens call.dataChannel
   *   onRemoteStream: function (stream) {},
   *   onState: function (state, detail) {},          // joining, waiting, calling, answering, new,
   *                                                  // connecting, connected, disconnected, failed,
   *                                                  // peer-left, closed, error
   *   onPair: function (pair) {},                    // pair.label, pair.local/remote.candidateType ...
   *   onMessage: function (data, event) {},          // DataChannel messages
   * });
   * call.on('message' | 'state' | 'pair' | 'remotestream' | 'datachannel' | 'log', fn)
   * call.send(data); call.close();
   */
  function Call(opts) {
    if (!(this instanceof Call)) return new Call(opts);
    var self = this;
    opts = opts || {};
    this.options = opts;
    this.signaling = opts.signaling || new Signaling(opts.url);
    this._ownSignaling = !opts.signaling;
    this.roomId = opts.roomId !== undefined ? opts.roomId : randomId(6);
    this.uid = opts.uid !== undefined && opts.uid !== null ? opts.uid : randomId(8);
    this.localStream = opts.localStream || null;
    this.iceServers = opts.iceServers || null;
    this.iceTransportPolicy = opts.iceTransportPolicy || 'all';
    this.statsIntervalMs = opts.statsIntervalMs || 1000;
    this.pc = null;
    this.dataChannel = null;
    this.remoteUid = null;
    this.remoteStream = null;
    this.pair = null;
    this.state = 'idle';
    this.role = null;           // 'offerer' or 'answerer'
    this.closed = false;
    this._active = false;       // this.pc belongs to a live call
    this._pending = [];         // remote candidates waiting for the remote description
    this._statsTimer = null;
    this._joinPromise = null;

    if (opts.onRemoteStream) this.on('remotestream', opts.onRemoteStream);
    if (opts.onState) this.on('state', opts.onState);
    if (opts.onPair) this.on('pair', opts.onPair);
    if (opts.onMessage) this.on('message', opts.onMessage);
    if (opts.onLog) this.on('log', opts.onLog);

    var sig = this.signaling;
    this._subs = [];
    var sub = function (cmd, fn) {
      var h = function (m) {
        if (self.closed) return;
        if (m.roomId !== undefined && self.roomId !== undefined && !sameId(m.roomId, self.roomId)) return;
        fn.call(self, m);
      };
      sig.on(cmd, h);
      self._subs.push([cmd, h]);
    };
    sub('joined', this._onJoined);
    sub('new-peer', this._onNewPeer);
    sub('resp-join', this._onRespJoin);
    sub('offer', this._onOffer);
    sub('answer', this._onAnswer);
    sub('candidate', this._onCandidate);
    sub('peer-leave', this._onPeerLeave);
    var onErr = function (m) { if (!self.closed) self._log('server error: ' + m.code + ' ' + (m.message || '')); };
    var onClose = function (ev) {
      if (self.closed) return;
      self._log('signaling closed (' + ev.code + ')');
      if (!self._active) self._setState('closed', 'signaling closed');
    };
    sig.on('error', onErr);
    sig.on('close', onClose);
    this._subs.push(['error', onErr], ['close', onClose]);

    if (opts.autoJoin !== false) this.join().catch(function () {});
  }
  mixin(Call);

  Call.prototype._log = function (text) {
    this.emit('log', text);
  };

  Call.prototype._setState = function (state, detail) {
    this.state = state;
    this.emit('state', state, detail);
  };

  Call.prototype._fail = function (where, err) {
    this._log(where + ': ' + (err && err.message || err));
    this._setState('error', where + ': ' + (err && err.message || err));
  };

  // Promise of the `joined` message; started by the constructor unless autoJoin: false.
  Call.prototype.join = function () {
    var self = this;
    if (this._joinPromise) return this._joinPromise;
    var sig = this.signaling;
    if (sig.joined && sameId(sig.joined.roomId, this.roomId) && sameId(sig.joined.uid, this.uid)) {
      this._onJoined(sig.joined);
      this._joinPromise = Promise.resolve(sig.joined);
      return this._joinPromise;
    }
    this._setState('joining', String(this.roomId));
    this._joinPromise = sig.join(this.roomId, this.uid).catch(function (e) {
      self._fail('join', e);
      throw e;
    });
    return this._joinPromise;
  };
  Call.prototype.ready = function () { return this.join(); };

  Call.prototype._onJoined = function (m) {
    if (!sameId(m.uid, this.uid)) return;
    if (!this.options.iceServers) this.iceServers = m.iceServers || [];
    var peers = m.peers || [];
    if (this._active) return;
    if (peers.length) {
      this.remoteUid = peers[0];
      this._setState('waiting', 'waiting for the offer from ' + peers[0]);
    } else {
      this._setState('waiting', 'alone in room ' + this.roomId);
    }
  };

  Call.prototype._rtcConfig = function () {
    var servers = this.iceServers || (this.signaling.joined && this.signaling.joined.iceServers) || [];
    return { iceServers: servers, iceTransportPolicy: this.iceTransportPolicy };
  };

  Call.prototype._newPc = function (remoteUid, role) {
    var self = this;
    // candidates that came before this call's offer, from this peer, stay queued
    var early = this._pending.filter(function (x) { return sameId(x.from, remoteUid); });
    this._teardownPc();
    this.remoteUid = remoteUid;
    this.role = role;
    this._pending = early;
    this.pair = null;
    this.remoteStream = null;
    var pc = new root.RTCPeerConnection(this._rtcConfig());
    this.pc = pc;
    this._active = true;
    pc.onicecandidate = function (e) {
      if (!e.candidate || self.pc !== pc) return;
      var c = e.candidate.toJSON ? e.candidate.toJSON() : e.candidate;
      try {
        self.signaling.send('candidate', remoteUid, JSON.stringify(c));
      } catch (err) { self._log('cannot send candidate: ' + err.message); }
    };
    pc.ontrack = function (e) {
      if (self.pc !== pc) return;
      var stream = e.streams && e.streams[0];
      if (!stream) {
        if (!self.remoteStream) self.remoteStream = new root.MediaStream();
        self.remoteStream.addTrack(e.track);
        stream = self.remoteStream;
      }
      var isNew = self.remoteStream !== stream || !self._announcedStream;
      self.remoteStream = stream;
      if (isNew) {
        self._announcedStream = true;
        self.emit('remotestream', stream);
      }
    };
    pc.ondatachannel = function (e) {
      if (self.pc === pc) self._bindChannel(e.channel);
    };
    var onConn = function () {
      if (self.pc !== pc || !self._active) return;
      var st = pc.connectionState || pc.iceConnectionState;
      if (st === 'completed') st = 'connected';
      self._setState(st, 'peer ' + remoteUid);
      if (st === 'connected') self._pollStats();
    };
    if ('connectionState' in pc) pc.onconnectionstatechange = onConn;
    else pc.oniceconnectionstatechange = onConn;
    this._announcedStream = false;
    this._statsTimer = root.setInterval(function () { self._pollStats(); }, this.statsIntervalMs);
    return pc;
  };

  Call.prototype._bindChannel = function (dc) {
    var self = this;
    this.dataChannel = dc;
    dc.addEventListener('open', function () { self._log('data channel open'); self.emit('datachannel', dc); });
    dc.addEventListener('message', function (e) { self.emit('message', e.data, e); });
  };

  Call.prototype._addLocalMedia = function (pc, offerer) {
    var s = this.localStream;
    if (s) {
      s.getTracks().forEach(function (t) { pc.addTrack(t, s); });
    } else if (offerer && this.options.receiveMedia !== false) {
      // no camera: still ask the other side for its audio and video
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
    }
  };

  Call.prototype._flushCandidates = function () {
    var pc = this.pc;
    var self = this;
    var q = this._pending;
    this._pending = [];
    return Promise.all(q.map(function (x) {
      return pc.addIceCandidate(x.c).catch(function (e) { self._log('addIceCandidate: ' + e.message); });
    }));
  };

  // new-peer: the member that receives it sends the offer.
  Call.prototype._onNewPeer = function (m) {
    var self = this;
    var peer = m.remoteUid;
    if (this._active && this.remoteUid !== null && !sameId(peer, this.remoteUid)) {
      this._log('ignoring ' + peer + ': this call is with ' + this.remoteUid);
      return;
    }
    this._log('peer ' + peer + ' joined: sending the offer');
    var pc = this._newPc(peer, 'offerer');
    this._setState('calling', 'offer to ' + peer);
    if (this.options.dataChannel !== false)
      this._bindChannel(pc.createDataChannel(this.options.dataChannelLabel || 'turnpike'));
    this._addLocalMedia(pc, true);
    pc.createOffer().then(function (offer) {
      return pc.setLocalDescription(offer);
    }).then(function () {
      if (self.pc !== pc) return;
      self.signaling.send('offer', peer, JSON.stringify(pc.localDescription));
    }).catch(function (e) { self._fail('offer', e); });
  };

  Call.prototype._onRespJoin = function (m) {
    if (this._active) return;
    this.remoteUid = m.remoteUid;
    this._log('in the room with ' + m.remoteUid + ': waiting for the offer');
  };

  function parseMsg(msg) {
    if (typeof msg === 'string') return JSON.parse(msg);
    return msg;            // tolerate a client that sent the object itself
  }

  Call.prototype._onOffer = function (m) {
    var self = this;
    var peer = m.uid;
    var desc;
    try { desc = parseMsg(m.msg); } catch (e) { this._log('bad offer from ' + peer); return; }
    if (this._active && this.remoteUid !== null && !sameId(peer, this.remoteUid)) {
      this._log('ignoring the offer of ' + peer + ': this call is with ' + this.remoteUid);
      return;
    }
    var pc = this.pc;
    var fresh = !this._active || !pc || pc.signalingState === 'closed';
    if (fresh) pc = this._newPc(peer, 'answerer');
    this._setState('answering', 'answer to ' + peer);
    pc.setRemoteDescription(desc).then(function () {
      if (fresh) self._addLocalMedia(pc, false);
      return self._flushCandidates();
    }).then(function () {
      return pc.createAnswer();
    }).then(function (answer) {
      return pc.setLocalDescription(answer);
    }).then(function () {
      if (self.pc !== pc) return;
      self.signaling.send('answer', peer, JSON.stringify(pc.localDescription));
    }).catch(function (e) { self._fail('answer', e); });
  };

  Call.prototype._onAnswer = function (m) {
    var self = this;
    var pc = this.pc;
    if (!this._active || !pc || !sameId(m.uid, this.remoteUid)) return;
    var desc;
    try { desc = parseMsg(m.msg); } catch (e) { this._log('bad answer from ' + m.uid); return; }
    pc.setRemoteDescription(desc).then(function () {
      return self._flushCandidates();
    }).catch(function (e) { self._fail('answer from ' + m.uid, e); });
  };

  Call.prototype._onCandidate = function (m) {
    var self = this;
    var c;
    try { c = parseMsg(m.msg); } catch (e) { this._log('bad candidate from ' + m.uid); return; }
    if (!c || !c.candidate) return;            // end-of-candidates marker
    var pc = this.pc;
    if (this._active && !sameId(m.uid, this.remoteUid)) return;
    if (!this._active || !pc || !pc.remoteDescription) {
      this._pending.push({ from: m.uid, c: c });   // before the offer/answer: keep it
      return;
    }
    pc.addIceCandidate(c).catch(function (e) { self._log('addIceCandidate: ' + e.message); });
  };

  Call.prototype._onPeerLeave = function (m) {
    if (!sameId(m.remoteUid, this.remoteUid)) return;
    this._log('peer ' + m.remoteUid + ' left');
    this._teardownPc();
    this.remoteUid = null;
    this._setState('peer-left', 'peer ' + m.remoteUid + ' left');
  };

  Call.prototype._pollStats = function () {
    var self = this;
    var pc = this.pc;
    if (!pc || !this._active || this._polling) return;
    this._polling = true;
    selectedPair(pc).then(function (p) {
      self._polling = false;
      if (!p || self.pc !== pc || !self._active) return;
      var before = self.pair;
      self.pair = p;
      if (!before || before.id !== p.id || before.label !== p.label ||
          (before.local && p.local && before.local.relayProtocol !== p.local.relayProtocol))
        self.emit('pair', p);
    }, function () { self._polling = false; });
  };

  Call.prototype._teardownPc = function () {
    if (this._statsTimer) root.clearInterval(this._statsTimer);
    this._statsTimer = null;
    this._active = false;
    this._pending = [];
    if (this.dataChannel) {
      try { this.dataChannel.close(); } catch (e) { /* already closed */ }
    }
    if (this.pc) {
      try { this.pc.close(); } catch (e) { /* already closed */ }
    }
    // this.pc stays (closed) so that callers can still read its last state
  };

  // Hang up and leave the room (the signaling socket stays open unless Call made it).
  Call.prototype.close = function () {
    if (this.closed) return;
    this._teardownPc();
    this.closed = true;
    var sig = this.signaling;
    if (sig.joined || this._joinPromise) sig.leave();
    this._subs.forEach(function (s) { sig.off(s[0], s[1]); });
    this._subs = [];
    if (this._ownSignaling) sig.close();
    this.state = 'closed';
    this.emit('state', 'closed', 'left room ' + this.roomId);
  };
  Call.prototype.hangup = Call.prototype.close;

  // Send on the DataChannel (string, Blob, ArrayBuffer).
  Call.prototype.send = function (data) {
    if (!this.dataChannel || this.dataChannel.readyState !== 'open')
      throw new Error('the data channel is not open');
    this.dataChannel.send(data);
  };

  // Promise of the current selected pair (also delivered to onPair when it changes).
  Call.prototype.getPair = function () {
    if (!this.pc) return Promise.resolve(null);
    return selectedPair(this.pc);
  };

  root.Turnpike = {
    version: '1',
    Signaling: Signaling,
    Call: Call,
    iceServers: iceServers,
    selectedPair: selectedPair,
    describePair: describePair,
    parseCandidate: parseCandidate,
    urlInfo: urlInfo,
    defaultSignalingUrl: defaultSignalingUrl,
    randomId: randomId,
  };
})(typeof window !== 'undefined' ? window : this);
