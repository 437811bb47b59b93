// call.html: a one-to-one call with Turnpike.Call.
// Page parameters: ?room=NAME  ?relay=1 (iceTransportPolicy "relay")
//                  ?auto=1 (join on load)  ?uid=ID  ?media=0 (no camera/microphone)
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var params = new URLSearchParams(location.search);
  var els = {
    room: $('room'), join: $('join'), leave: $('leave'), relay: $('relay'),
    state: $('state'), pair: $('pair'), pairDetail: $('pair-detail'),
    local: $('local'), remote: $('remote'), log: $('log'), share: $('share'),
  };
  var localStream = null;
  var signaling = null;
  var call = null;
  var messages = 0;

  els.room.value = params.get('room') || Turnpike.randomId(6);
  els.relay.checked = params.get('relay') === '1' || params.get('relay') === 'true';

  // The log keeps its last 300 lines; appending is cheap (a text node) and the
  // scroll waits for the next frame, so a busy data channel cannot stall the page.
  var scrollPending = false;
  function log(text) {
    var t = new Date().toISOString().slice(11, 23);
    els.log.appendChild(document.createTextNode(t + '  ' + text + '\n'));
    while (els.log.childNodes.length > 300) els.log.removeChild(els.log.firstChild);
    if (!scrollPending) {
      scrollPending = true;
      requestAnimationFrame(function () {
        scrollPending = false;
        els.log.scrollTop = els.log.scrollHeight;
      });
    }
  }

  function setState(state) {
    els.state.textContent = state;
    els.state.dataset.state = state;
  }

  function setPair(pair) {
    if (!pair) {
      els.pair.textContent = '\u2013';
      els.pairDetail.textContent = '';
      delete els.pair.dataset.local;
      delete els.pair.dataset.remote;
      return;
    }
    els.pair.textContent = pair.label;
    els.pair.dataset.local = pair.local ? pair.local.candidateType : '';
    els.pair.dataset.remote = pair.remote ? pair.remote.candidateType : '';
    var side = function (c) {
      if (!c) return '?';
      return c.candidateType + ' ' + (c.address || '?') + ':' + c.port + '/' + c.protocol +
        (c.relayProtocol ? ' via ' + c.relayProtocol : '');
    };
    els.pairDetail.textContent = side(pair.local) + '  \u2194  ' + side(pair.remote);
  }

  function updateShare() {
    var u = new URL(location.href);
    u.search = '';
    u.searchParams.set('room', els.room.value.trim());
    if (els.relay.checked) u.searchParams.set('relay', '1');
    els.share.href = u.toString();
    els.share.textContent = u.toString();
  }

  function playRemote() {
    var p = els.remote.play();
    if (p && p.catch) {
      p.catch(function () {
        // autoplay with sound refused (no user gesture): play muted, unmute on a click
        els.remote.muted = true;
        els.remote.play().catch(function () {});
        log('remote audio muted by the browser\'s autoplay policy: click the video to unmute');
      });
    }
  }
  els.remote.addEventListener('click', function () { els.remote.muted = false; });

  function getMedia() {
    if (localStream || params.get('media') === '0') return Promise.resolve(localStream);
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      log('no getUserMedia here (the page needs https or localhost): joining without camera');
      return Promise.resolve(null);
    }
    var md = navigator.mediaDevices;
    return md.getUserMedia({ audio: true, video: true }).catch(function (e) {
      log('camera + microphone: ' + e.name + ': trying the camera alone');
      return md.getUserMedia({ video: true }).catch(function () {
        return md.getUserMedia({ audio: true });
      });
    }).then(function (s) {
      localStream = s;
      els.local.srcObject = s;
      log('local media: ' + s.getTracks().map(function (t) { return t.kind; }).join(' + '));
      return s;
    }, function (e) {
      log('no camera or microphone (' + e.name + '): joining to receive only');
      return null;
    });
  }

  function join() {
    var room = els.room.value.trim();
    if (!room) { els.room.focus(); return; }
    messages = 0;
    els.join.disabled = true;
    els.room.disabled = true;
    els.relay.disabled = true;
    updateShare();
    history.replaceState(null, '', els.share.href);
    getMedia().then(function (stream) {
      signaling = Turnpike.Signaling();
      signaling.on('error', function (m) { log('server: ' + m.code + ' ' + (m.message || '')); });
      signaling.on('close', function (ev) { log('signaling closed (' + ev.code + ')'); });
      var policy = els.relay.checked ? 'relay' : 'all';
      call = Turnpike.Call({
        signaling: signaling,
        roomId: room,
        uid: params.get('uid') || undefined,
        localStream: stream,
        iceTransportPolicy: policy,
        onState: function (state, detail) {
          setState(state);
          log('state ' + state + (detail ? ' (' + detail + ')' : ''));
          if (state === 'peer-left' || state === 'closed') {
            els.remote.srcObject = null;
            setPair(null);
          }
        },
        onPair: function (pair) {
          setPair(pair);
          log('path: ' + pair.label + '  ' + els.pairDetail.textContent);
        },
        onRemoteStream: function (s) {
          els.remote.srcObject = s;
          playRemote();
          log('remote media arrived');
        },
        onLog: log,
        onMessage: function (data) {
          // the first few in full, then a count
          messages += 1;
          if (messages <= 3) log('message: ' + String(data).slice(0, 200));
          else if (messages % 100 === 0) log(messages + ' messages received');
        },
      });
      window.turnpikeCall = call;
      els.leave.disabled = false;
      log('joining room ' + room + ' as ' + call.uid + ' (' + signaling.url + ', ICE policy ' + policy + ')');
      call.join().then(function (joined) {
        var urls = [];
        (call.iceServers || []).forEach(function (s) { urls = urls.concat(s.urls); });
        log('joined; peers: ' + JSON.stringify(joined.peers || []) + '; ICE servers: ' + urls.join(' '));
      }, function (e) {
        log('join failed: ' + e.message);
        leave();
      });
    });
  }

  function leave() {
    if (call) call.close();
    if (signaling) signaling.close();
    call = null;
    signaling = null;
    if (localStream) localStream.getTracks().forEach(function (t) { t.stop(); });
    localStream = null;
    els.local.srcObject = null;
    els.remote.srcObject = null;
    setPair(null);
    setState('left');
    els.join.disabled = false;
    els.room.disabled = false;
    els.relay.disabled = false;
    els.leave.disabled = true;
  }

  els.join.addEventListener('click', join);
  els.leave.addEventListener('click', function () { log('left'); leave(); });
  els.room.addEventListener('keydown', function (e) { if (e.key === 'Enter') join(); });
  els.room.addEventListener('input', updateShare);
  els.relay.addEventListener('change', updateShare);
  window.addEventListener('pagehide', function () { if (call) call.close(); });
  updateShare();
  if (params.get('auto') === '1') join();
})();
