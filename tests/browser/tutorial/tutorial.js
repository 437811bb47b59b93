// A two-tab WebRTC call the way tutorials write it: a room server over a
// plain WebSocket, the core room protocol, hard-coded ICE servers.  Knows
// nothing about turnpike (no turnpike.js, no `joined`, no /ice-servers).
// See index.html for the URL parameters.

'use strict';

const params = new URLSearchParams(location.search);

// "Hard-coded" configuration: a real tutorial writes these literally.
const SIGNAL_URL = params.get('ws') ||
  ((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
const ICE_SERVERS = params.get('turn') ? [{
  urls: params.get('turn'),
  username: params.get('user') || '',
  credential: params.get('pass') || '',
}] : [];
const PC_CONFIG = {
  iceServers: ICE_SERVERS,
  iceTransportPolicy: params.get('relay') === '1' ? 'relay' : 'all',
};
const WITH_MEDIA = params.get('media') !== '0';
const WITH_CHAT = params.get('chat') === '1';

const localVideo = document.getElementById('localVideo');
const remoteVideo = document.getElementById('remoteVideo');
const roomInput = document.getElementById('roomInput');
const joinBtn = document.getElementById('joinBtn');
const leaveBtn = document.getElementById('leaveBtn');
const statusEl = document.getElementById('status');
const chatInput = document.getElementById('chatInput');
const sendBtn = document.getElementById('sendBtn');
const chatEl = document.getElementById('chat');
const logEl = document.getElementById('log');

let ws = null;
let pc = null;
let chatChannel = null;
let localStream = null;
let roomId = null;
let remoteUid = null;
const uid = 'u' + Math.random().toString(36).slice(2, 10);
// Incoming messages are handled one at a time, in order.
let queue = Promise.resolve();

roomInput.value = params.get('room') || '';

function log(text) {
  logEl.textContent += new Date().toISOString().slice(11, 23) + ' ' + text + '\n';
  console.log(text);
}

function setStatus(text) {
  statusEl.textContent = text;
  log('status: ' + text);
}

function send(obj) {
  ws.send(JSON.stringify(obj));
}

function createPeerConnection() {
  pc = new RTCPeerConnection(PC_CONFIG);
  pc.onicecandidate = (event) => {
    if (event.candidate) {
      send({ cmd: 'candidate', roomId, uid, remoteUid,
        msg: JSON.stringify(event.candidate) });
    }
  };
  pc.ontrack = (event) => {
    if (remoteVideo.srcObject !== event.streams[0]) {
      remoteVideo.srcObject = event.streams[0];
    }
  };
  pc.ondatachannel = (event) => setupChat(event.channel);
  pc.oniceconnectionstatechange = () => log('ice: ' + pc.iceConnectionState);
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === 'connected') setStatus('connected');
    else if (pc.connectionState === 'failed') setStatus('failed');
  };
  if (localStream) {
    localStream.getTracks().forEach((track) => pc.addTrack(track, localStream));
  }
}

function setupChat(channel) {
  chatChannel = channel;
  channel.onopen = () => {
    chatInput.disabled = false;
    sendBtn.disabled = false;
    log('chat open');
  };
  channel.onclose = () => {
    chatInput.disabled = true;
    sendBtn.disabled = true;
  };
  channel.onmessage = (event) => {
    const line = document.createElement('div');
    line.textContent = 'peer: ' + event.data;
    chatEl.appendChild(line);
    // keep the page light when a lot is said
    while (chatEl.childNodes.length > 20) chatEl.removeChild(chatEl.firstChild);
  };
}

async function call() {
  createPeerConnection();
  if (WITH_CHAT) setupChat(pc.createDataChannel('chat'));
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  send({ cmd: 'offer', roomId, uid, remoteUid, msg: JSON.stringify(offer) });
}

async function handleMessage(data) {
  const m = JSON.parse(data);
  switch (m.cmd) {
    case 'resp-join':
      // someone is already here; they will call us
      remoteUid = m.remoteUid;
      setStatus('waiting for offer');
      break;
    case 'new-peer':
      remoteUid = m.remoteUid;
      setStatus('calling');
      await call();
      break;
    case 'offer': {
      remoteUid = m.uid;   // forwarded as sent: uid is the caller
      if (!pc) createPeerConnection();
      await pc.setRemoteDescription(JSON.parse(m.msg));
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      send({ cmd: 'answer', roomId, uid, remoteUid, msg: JSON.stringify(answer) });
      setStatus('answering');
      break;
    }
    case 'answer':
      await pc.setRemoteDescription(JSON.parse(m.msg));
      break;
    case 'candidate':
      if (pc) await pc.addIceCandidate(JSON.parse(m.msg));
      break;
    case 'peer-leave':
      hangUp();
      setStatus('peer left');
      break;
    default:
      // anything else (server extensions, errors) is not ours
      break;
  }
}

function hangUp() {
  if (chatChannel) chatChannel.close();
  chatChannel = null;
  if (pc) pc.close();
  pc = null;
  remoteVideo.srcObject = null;
}

joinBtn.onclick = async () => {
  roomId = roomInput.value;
  if (!roomId) { alert('enter a room'); return; }
  joinBtn.disabled = true;
  if (WITH_MEDIA) {
    localStream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    localVideo.srcObject = localStream;
  }
  ws = new WebSocket(SIGNAL_URL);
  ws.onopen = () => {
    send({ cmd: 'join', roomId, uid });
    setStatus('joined ' + roomId);
    leaveBtn.disabled = false;
  };
  ws.onmessage = (event) => {
    queue = queue.then(() => handleMessage(event.data)).catch((e) => log('error: ' + e));
  };
  ws.onclose = () => log('signaling closed');
  ws.onerror = () => log('signaling error');
};

leaveBtn.onclick = () => {
  send({ cmd: 'leave', roomId, uid });
  hangUp();
  ws.close();
  leaveBtn.disabled = true;
  joinBtn.disabled = false;
  setStatus('left');
};

sendBtn.onclick = () => {
  if (chatChannel && chatInput.value) {
    chatChannel.send(chatInput.value);
    chatInput.value = '';
  }
};
