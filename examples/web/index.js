// index.html: fill in this host's names and the live /ice-servers answer.
(function () {
  'use strict';
  var fill = function (sel, text) {
    document.querySelectorAll(sel).forEach(function (el) { el.textContent = text; });
  };
  fill('.js-origin', location.origin);
  fill('.js-ws', Turnpike.defaultSignalingUrl());
  document.getElementById('ws-url').textContent = Turnpike.defaultSignalingUrl();
  var pre = document.getElementById('ice-json');
  Turnpike.iceServers().then(function (servers) {
    pre.textContent = JSON.stringify(servers, null, 2);
  }, function (e) {
    pre.textContent = 'could not load /ice-servers: ' + e.message;
  });
})();
