// check.html: a Trickle-ICE self-check.
//
// One RTCPeerConnection per URL (so that each URL's outcome is known on its own),
// every candidate and icecandidateerror listed, then a verdict in plain words.
// Page parameters: ?auto=1 (gather on load)  ?timeout=SECONDS (per URL, default 12)
//
// For tests: #verdict gets data-ok="true|false" when done, and
// window.checkResult = {done, ok, relay: {udp, tcp, tls}, srflx, srflxAddresses,
//                       errors: [...], candidates: [...], urls: [...], verdict: [...]}.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var params = new URLSearchParams(location.search);
  var els = {
    servers: $('servers'), gather: $('gather'), reload: $('reload'), timeout: $('timeout'),
    verdict: $('verdict'), urls: $('urls').tBodies[0],
    candidates: $('candidates').tBodies[0], errors: $('errors').tBodies[0],
  };
  if (params.get('timeout')) els.timeout.value = params.get('timeout');
  window.checkResult = { done: false };

  // ------------------------------------------------------------ addresses

  function ipv4(a) {
    var m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a || '');
    if (!m) return null;
    var n = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
    if (n.some(function (x) { return x > 255; })) return null;
    return ((n[0] << 24) >>> 0) + (n[1] << 16) + (n[2] << 8) + n[3];
  }
  function in4(v, base, bits) {
    var mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return ((v & mask) >>> 0) === ((ipv4(base) & mask) >>> 0);
  }
  // 'public', 'private', 'cgnat', 'loopback', 'link-local', 'unspecified', 'mdns', 'name'
  function addrClass(a) {
    a = String(a || '').replace(/^\[|\]$/g, '').toLowerCase();
    var v = ipv4(a);
    if (v !== null) {
      if (in4(v, '10.0.0.0', 8) || in4(v, '172.16.0.0', 12) || in4(v, '192.168.0.0', 16)) return 'private';
      if (in4(v, '100.64.0.0', 10)) return 'cgnat';
      if (in4(v, '127.0.0.0', 8)) return 'loopback';
      if (in4(v, '169.254.0.0', 16)) return 'link-local';
      if (in4(v, '0.0.0.0', 8)) return 'unspecified';
      return 'public';
    }
    if (a.indexOf(':') >= 0) {
      if (a === '::1') return 'loopback';
      if (a === '::') return 'unspecified';
      if (/^f[cd]/.test(a)) return 'private';
      if (/^fe[89ab]/.test(a)) return 'link-local';
      var mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
      if (mapped) return addrClass(mapped[1]);
      return 'public';
    }
    if (/\.local$/.test(a)) return 'mdns';
    return 'name';
  }
  function notPublic(a) {
    var c = addrClass(a);
    return c === 'private' || c === 'cgnat' || c === 'loopback' || c === 'link-local' || c === 'unspecified';
  }
  // Was this page loaded from a host that the internet can reach?
  function pageIsPublic() {
    var h = location.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    var c = addrClass(h);
    if (c === 'public') return true;
    if (c !== 'name') return false;
    return !(h === 'localhost' || /\.(localhost|local|lan|internal|home\.arpa)$/.test(h) ||
      h.indexOf('.') < 0);
  }

  // ------------------------------------------------------------ the list

  function defaultServers() {
    return [{ urls: ['stun:stun.example.org:3478'] },
      { urls: ['turn:turn.example.org:3478?transport=udp'], username: 'user', credential: 'password' }];
  }

  function loadOwn() {
    return Turnpike.iceServers().then(function (servers) {
      els.servers.value = JSON.stringify(servers, null, 2);
      return servers;
    }, function (e) {
      if (!els.servers.value) els.servers.value = JSON.stringify(defaultServers(), null, 2);
      setVerdict(null, ['could not load this server\'s /ice-servers (' + e.message + '): paste an iceServers list']);
      throw e;
    });
  }

  // [{url, username, credential}] from the JSON in the box; throws with a readable message.
  function readServers() {
    var text = els.servers.value.trim();
    var v;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new Error('the list is not valid JSON: ' + e.message);
    }
    if (v && !Array.isArray(v) && Array.isArray(v.iceServers)) v = v.iceServers;
    if (v && !Array.isArray(v)) v = [v];
    if (!Array.isArray(v) || !v.length) throw new Error('the list holds no iceServers entry');
    var out = [];
    v.forEach(function (s, i) {
      var urls = s && (s.urls !== undefined ? s.urls : s.url);
      if (typeof urls !== 'string' && !Array.isArray(urls))
        throw new Error('entry ' + (i + 1) + ' has no "urls"');
      [].concat(urls).forEach(function (u) {
        out.push({ url: String(u).trim(), username: s.username, credential: s.credential });
      });
    });
    return out;
  }

  // ------------------------------------------------------------ gathering

  function cell(tr, text, cls) {
    var td = document.createElement('td');
    td.textContent = text === undefined || text === null ? '' : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function gatherOne(entry, timeoutMs) {
    var r = {
      url: entry.url, info: Turnpike.urlInfo(entry.url), candidates: [], errors: [],
      complete: false, timedOut: false, ms: 0, exception: null,
    };
    var t0 = performance.now();
    var ms = function () { return Math.round(performance.now() - t0); };
    if (!r.info) {
      r.exception = 'not a stun:, turn: or turns: URL';
      return Promise.resolve(r);
    }
    var server = { urls: entry.url };
    if (entry.username !== undefined) server.username = entry.username;
    if (entry.credential !== undefined) server.credential = entry.credential;
    var pc;
    try {
      pc = new RTCPeerConnection({ iceServers: [server], iceTransportPolicy: 'all' });
    } catch (e) {
      r.exception = e.name + ': ' + e.message;
      return Promise.resolve(r);
    }
    return new Promise(function (resolve) {
      var finished = false;
      var finish = function () {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        r.ms = ms();
        try { pc.close(); } catch (e) { /* closed */ }
        resolve(r);
      };
      var timer = setTimeout(function () { r.timedOut = true; finish(); }, timeoutMs);
      var goal = r.info.turn ? 'relay' : 'srflx';
      pc.onicegatheringstatechange = function () {
        if (pc.iceGatheringState === 'complete') { r.complete = true; finish(); }
      };
      pc.onicecandidate = function (e) {
        if (finished) return;
        if (!e.candidate) { r.complete = true; finish(); return; }
        var c = e.candidate;
        var p = Turnpike.parseCandidate(c.candidate) || {};
        var type = c.type || p.type;
        var cand = {
          url: entry.url, type: type, protocol: c.protocol || p.protocol,
          address: c.address || p.address, port: c.port || p.port,
          relayProtocol: c.relayProtocol || (type === 'relay' ? r.info.relayProtocol : null),
          relatedAddress: c.relatedAddress || p.relatedAddress || null,
          relatedPort: c.relatedPort || p.relatedPort || null,
          candidate: c.candidate, ms: ms(),
        };
        r.candidates.push(cand);
        addCandidateRow(cand);
        // the URL has answered what it is for: no need to wait for the rest
        if (type === goal) setTimeout(finish, 200);
      };
      pc.onicecandidateerror = function (e) {
        if (finished) return;
        var err = {
          url: e.url || entry.url, errorCode: e.errorCode, errorText: e.errorText,
          address: e.address || e.hostCandidate || null, port: e.port || null, ms: ms(),
        };
        r.errors.push(err);
        addErrorRow(err);
      };
      pc.createDataChannel('turnpike-check');
      pc.createOffer().then(function (o) { return pc.setLocalDescription(o); }).catch(function (e) {
        r.exception = e.name + ': ' + e.message;
        finish();
      });
    });
  }

  function addCandidateRow(c) {
    var tr = document.createElement('tr');
    tr.className = 'cand-' + c.type;
    cell(tr, c.url, 'url');
    cell(tr, c.type, c.type === 'relay' || c.type === 'srflx' ? 'ok' : '');
    cell(tr, c.protocol);
    cell(tr, c.address, 'mono');
    cell(tr, c.port, 'mono');
    cell(tr, c.relayProtocol || '');
    cell(tr, c.relatedAddress ? c.relatedAddress + ':' + c.relatedPort : '', 'mono');
    cell(tr, c.ms);
    els.candidates.appendChild(tr);
  }

  function addErrorRow(e) {
    var tr = document.createElement('tr');
    cell(tr, e.url, 'url');
    cell(tr, e.errorCode, 'bad');
    cell(tr, e.errorText);
    cell(tr, e.address ? e.address + (e.port ? ':' + e.port : '') : '', 'mono');
    cell(tr, e.ms);
    els.errors.appendChild(tr);
  }

  // ------------------------------------------------------------ verdict

  function hostPort(info) {
    var h = info.host.indexOf(':') >= 0 ? '[' + info.host + ']' : info.host;
    return h + ':' + info.port;
  }
  function transportName(info) {
    return info.secure ? 'tls' : info.transport;
  }

  // {ok, text, warn?} for one URL's result.
  function judge(r, ctx) {
    var info = r.info;
    if (r.exception) return { ok: false, text: r.url + ': ' + r.exception };
    var hp = hostPort(info);
    var port = info.port;
    var codes = r.errors.map(function (e) { return e.errorCode; });
    var has = function (code) { return codes.indexOf(code) >= 0; };
    var unreachable = 'no answer from ' + hp + ' over ' + transportName(info) +
      (r.timedOut ? ' within ' + Math.round(ctx.timeoutMs / 1000) + ' s' : '') +
      ': port ' + port + ' unreachable (firewall?)';
    var warn = null;
    if (ctx.pagePublic && notPublic(info.host))
      warn = r.url + ' names the ' + addrClass(info.host) + ' address ' + info.host +
        ', which browsers outside your network cannot reach: set external-ip=PUBLIC ' +
        '(or signal-ice-url=) so that the server hands out a public address';

    var dnsFailed = r.errors.some(function (e) { return /lookup/i.test(e.errorText || ''); });
    var dnsText = ': the name ' + info.host + ' does not resolve (DNS lookup failed): ' +
      'fix its DNS record, or hand out URLs with an address (external-ip= / signal-ice-url=)';

    if (!info.turn) {
      var srflx = r.candidates.filter(function (c) { return c.type === 'srflx'; });
      if (srflx.length)
        return { ok: true, warn: warn, text: 'STUN ok: srflx ' + srflx[0].address, stun: true };
      if (dnsFailed) return { ok: false, warn: warn, text: 'STUN failed' + dnsText };
      if (has(701) || r.timedOut) return { ok: false, warn: warn, text: 'STUN failed: ' + unreachable };
      if (codes.length)
        return { ok: false, warn: warn, text: 'STUN ' + hp + ' answered with an error (' + codes.join(', ') + ')' };
      return {
        ok: true, warn: warn, stun: true,
        text: 'STUN ok: ' + hp + ' answered; no srflx because this browser is not behind a NAT ' +
          'on the way to the server (its address as seen by the server is its own)',
      };
    }

    var t = transportName(info);
    // a failure: `group` is the verdict line ({over} becomes " over udp, tcp" for every
    // transport that failed the same way), `text` the line for this URL alone
    var fail = function (group, detail) {
      return {
        ok: false, warn: warn, transport: t, group: group,
        text: group.replace('{over}', ' over ' + t) + (detail || ''),
      };
    };
    var relays = r.candidates.filter(function (c) { return c.type === 'relay'; });
    if (relays.length) {
      var addr = relays[0].address;
      if (ctx.pagePublic && notPublic(addr))
        return fail('TURN{over}: the relay address ' + addr + ' is ' +
          (addrClass(addr) === 'loopback' ? 'a loopback address' : 'private') +
          ': set external-ip=' + (ctx.publicIp || 'PUBLIC_IP') + '/' + addr);
      return { ok: true, warn: warn, relay: t, text: 'TURN ok over ' + t + ': relay ' + addr + ':' + relays[0].port };
    }
    if (has(401))
      return fail('TURN refused the credentials (401){over}: check user=/static-auth-secret',
        ' (a credential from /ice-servers is signed with static-auth-secret and expires: ' +
        'every node needs the same secret and a correct clock)');
    if (dnsFailed) return fail('TURN{over}' + dnsText);
    if (has(701) && info.secure)
      return fail('TURN over tls: the TLS connection to ' + hp + ' failed (701), a certificate ' +
        'problem (self-signed, expired, incomplete chain or not issued for ' + info.host +
        '): set cert= and pkey= to a certificate for ' + info.host + ' with its full chain ' +
        '(e.g. Let\'s Encrypt), or port ' + port + ' is filtered');
    var noAnswer = 'TURN: no answer from ' + hp + '{over}: port ' + port + ' unreachable (firewall?)';
    if (has(701) || r.timedOut)
      return fail(noAnswer, r.timedOut ? ' (nothing within ' + Math.round(ctx.timeoutMs / 1000) + ' s)' : '');
    var other = r.errors.filter(function (e) { return e.errorCode !== 701; });
    if (other.length) {
      var e = other[0];
      var why = {
        403: 'the server forbids this allocation (403): check denied-peer-ip/allowed-peer-ip and the user\'s rights',
        420: 'the server does not understand the request (420)',
        437: 'allocation mismatch (437): a stale allocation from this address; retry',
        441: 'wrong credentials (441): check user=/static-auth-secret',
        442: 'the server does not relay over this transport (442)',
        486: 'the allocation quota is reached (486): raise user-quota= / total-quota=',
        508: 'the server is out of relay ports (508): widen min-port= / max-port=',
      }[e.errorCode] || 'the server answered ' + e.errorCode + ' ' + (e.errorText || '');
      return fail('TURN{over}: ' + why);
    }
    if (t === 'udp')
      return fail('TURN: no relay from ' + hp + '{over} and no error from the browser: port ' +
        port + ' unreachable (firewall?) or the credentials were refused');
    return fail(noAnswer);
  }

  function setVerdict(ok, lines) {
    els.verdict.textContent = lines.join('\n');
    if (ok === null) els.verdict.removeAttribute('data-ok');
    else els.verdict.setAttribute('data-ok', ok ? 'true' : 'false');
  }

  function summarize(results, ctx) {
    var relay = { udp: false, tcp: false, tls: false };
    var srflxAddrs = [];
    var errors = [];
    var candidates = [];
    var lines = [];
    var problems = [];
    var warnings = [];
    var stunLine = null;
    var ok = results.length > 0;
    var urls = results.map(function (r) {
      var j = judge(r, ctx);
      r.candidates.forEach(function (c) {
        candidates.push(c);
        if (c.type === 'srflx' && srflxAddrs.indexOf(c.address) < 0) srflxAddrs.push(c.address);
      });
      r.errors.forEach(function (e) { errors.push(e); });
      if (j.relay) relay[j.relay] = true;
      if (j.stun && !stunLine) stunLine = j.text;
      if (!j.ok) {
        ok = false;
        var key = j.group || j.text;
        var g = problems.filter(function (p) { return p.key === key; })[0];
        if (!g) problems.push(g = { key: key, transports: [] });
        if (j.transport && g.transports.indexOf(j.transport) < 0) g.transports.push(j.transport);
      }
      if (j.warn && warnings.indexOf(j.warn) < 0) warnings.push(j.warn);
      return {
        url: r.url, ok: j.ok, outcome: j.text, ms: r.ms, complete: r.complete, timedOut: r.timedOut,
        candidates: r.candidates.length,
        errors: r.errors.map(function (e) { return e.errorCode; }),
      };
    });
    var anyTurn = results.some(function (r) { return r.info && r.info.turn; });
    var anyStun = results.some(function (r) { return r.info && !r.info.turn; });
    if (stunLine) {
      if (srflxAddrs.length && stunLine.indexOf('srflx') < 0) stunLine = 'STUN ok: srflx ' + srflxAddrs.join(', ');
      lines.push(stunLine);
    } else if (srflxAddrs.length && !anyStun) {
      lines.push('STUN ok (through the TURN URL): srflx ' + srflxAddrs.join(', '));
    }
    var relayOver = ['udp', 'tcp', 'tls'].filter(function (t) { return relay[t]; });
    if (relayOver.length) lines.push('TURN ok: relay over ' + relayOver.join(', '));
    if (!results.length) lines.push('no URL to test');
    else if (!anyTurn) warnings.push('no TURN URL: browsers behind a symmetric NAT or a strict firewall will not connect');
    problems.forEach(function (p) {
      lines.push(p.key.replace('{over}', p.transports.length ? ' over ' + p.transports.join(', ') : ''));
    });
    warnings.forEach(function (w) { lines.push('note: ' + w); });
    if (ok) lines.unshift('All good: every URL answered.');
    return {
      done: true, ok: ok, relay: relay, srflx: srflxAddrs.length > 0, srflxAddresses: srflxAddrs,
      errors: errors, candidates: candidates, urls: urls, verdict: lines, pagePublic: ctx.pagePublic,
    };
  }

  function showUrls(list) {
    els.urls.textContent = '';
    list.forEach(function (u) {
      var tr = document.createElement('tr');
      cell(tr, u.url, 'url');
      cell(tr, u.outcome, u.ok ? 'ok' : 'bad');
      cell(tr, u.ms + ' ms');
      els.urls.appendChild(tr);
    });
  }

  var running = false;

  function gather() {
    if (running) return Promise.resolve(window.checkResult);
    var entries;
    try {
      entries = readServers();
    } catch (e) {
      window.checkResult = { done: true, ok: false, relay: { udp: false, tcp: false, tls: false },
        srflx: false, errors: [], urls: [], verdict: [e.message] };
      setVerdict(false, [e.message]);
      return Promise.resolve(window.checkResult);
    }
    var secs = Number(els.timeout.value);
    var timeoutMs = (secs > 0 && secs <= 120 ? secs : 12) * 1000;
    running = true;
    els.gather.disabled = true;
    els.candidates.textContent = '';
    els.errors.textContent = '';
    els.urls.textContent = '';
    window.checkResult = { done: false };
    setVerdict(null, ['gathering from ' + entries.length + ' URL' + (entries.length === 1 ? '' : 's') + '\u2026']);
    return Promise.all(entries.map(function (e) { return gatherOne(e, timeoutMs); })).then(function (results) {
      var ctx = { pagePublic: pageIsPublic(), timeoutMs: timeoutMs, publicIp: null };
      // the public address to name in an external-ip= hint
      var h = location.hostname;
      if (addrClass(h) === 'public' && ipv4(h) !== null) ctx.publicIp = h;
      results.forEach(function (r) {
        r.candidates.forEach(function (c) {
          if (!ctx.publicIp && c.type === 'srflx' && addrClass(c.address) === 'public') ctx.publicIp = c.address;
          if (!ctx.publicIp && c.type === 'relay' && addrClass(c.relatedAddress) === 'public') ctx.publicIp = c.relatedAddress;
        });
      });
      var res = summarize(results, ctx);
      showUrls(res.urls);
      window.checkResult = res;
      setVerdict(res.ok, res.verdict);
      return res;
    }).catch(function (e) {
      var res = { done: true, ok: false, relay: { udp: false, tcp: false, tls: false }, srflx: false,
        errors: [], urls: [], verdict: ['the check itself failed: ' + e.message] };
      window.checkResult = res;
      setVerdict(false, res.verdict);
      return res;
    }).then(function (res) {
      running = false;
      els.gather.disabled = false;
      return res;
    });
  }

  els.gather.addEventListener('click', function () { gather(); });
  els.reload.addEventListener('click', function () { loadOwn().catch(function () {}); });
  window.turnpikeCheck = { gather: gather, reload: loadOwn, addrClass: addrClass };

  var loaded = loadOwn();
  if (params.get('auto') === '1') loaded.then(gather, gather);
})();
