#!/usr/bin/env node
// The reference signaling server for bench/sig_bench.py: the room protocol of
// /work/shared/PROTOCOL.md ("Core") as the WebRTC tutorials write it, on the
// Node `ws` package. Written for the benchmark; it is not part of turnpike.
//
//   node bench/tutorial_server.js --port PORT [--host 127.0.0.1]
//                                 [--room-max 2]
//
// What a tutorial server does, and no more:
//   - a Map of rooms, each a Map uid -> socket;
//   - join: refuse when the room is full; otherwise send resp-join to the
//     joiner once for each member already there and new-peer to each of them;
//   - offer / answer / candidate: look up remoteUid in the room and send it
//     the text exactly as received (JSON.parse only to route it);
//   - leave, or the socket closing: remove the uid and send peer-leave to the
//     members left; an empty room is deleted.
// No rate limit, no TURN credentials, no pings: tutorials have none.
// Prints "listening PORT" on stdout once the port is bound.

'use strict';

const path = require('path');
let WebSocket;
try {
  WebSocket = require('ws');
} catch (e) {
  WebSocket = require(path.join(__dirname, '..', 'tests', 'browser',
                                'node_modules', 'ws'));
}

function arg(name, dflt) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

const port = parseInt(arg('port', '8080'), 10);
const host = arg('host', '127.0.0.1');
const roomMax = parseInt(arg('room-max', '2'), 10);

const rooms = new Map();            // roomId -> Map(uid -> ws)

function send(ws, obj) {
  if (ws.readyState === WebSocket.OPEN)
    ws.send(JSON.stringify(obj));
}

function leave(ws) {
  if (ws.roomId === undefined)
    return;
  const roomId = ws.roomId, uid = ws.uid;
  ws.roomId = ws.uid = undefined;
  const room = rooms.get(roomId);
  if (!room || room.get(uid) !== ws)
    return;
  room.delete(uid);
  if (room.size === 0) {
    rooms.delete(roomId);
    return;
  }
  for (const other of room.values())
    send(other, { cmd: 'peer-leave', roomId: roomId, remoteUid: uid });
}

function join(ws, msg) {
  const roomId = msg.roomId, uid = msg.uid;
  let room = rooms.get(roomId);
  if (!room) {
    room = new Map();
    rooms.set(roomId, room);
  }
  if (roomMax > 0 && room.size >= roomMax && !room.has(uid)) {
    send(ws, { cmd: 'error', code: 'room-full', ref: 'join' });
    return;
  }
  leave(ws);
  for (const [otherUid, other] of room) {
    if (otherUid === uid)
      continue;
    send(ws, { cmd: 'resp-join', roomId: roomId, remoteUid: otherUid });
    send(other, { cmd: 'new-peer', roomId: roomId, remoteUid: uid });
  }
  room.set(uid, ws);
  ws.roomId = roomId;
  ws.uid = uid;
}

function forward(ws, msg, text) {
  const room = rooms.get(msg.roomId);
  const remote = room && room.get(msg.remoteUid);
  if (remote && remote.readyState === WebSocket.OPEN)
    remote.send(text);
}

const wss = new WebSocket.Server({ host: host, port: port });

wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    const text = data.toString();
    let msg;
    try {
      msg = JSON.parse(text);
    } catch (e) {
      return;
    }
    switch (msg.cmd) {
      case 'join':
        join(ws, msg);
        break;
      case 'leave':
        leave(ws);
        break;
      case 'offer':
      case 'answer':
      case 'candidate':
        forward(ws, msg, text);
        break;
      default:
        break;
    }
  });
  ws.on('close', () => leave(ws));
  ws.on('error', () => {});
});

wss.on('listening', () => {
  process.stdout.write('listening ' + wss.address().port + '\n');
});
wss.on('error', (e) => {
  process.stderr.write('tutorial_server: ' + e.message + '\n');
  process.exit(1);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
