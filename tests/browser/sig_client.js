#!/usr/bin/env node
// A scripted WebSocket client for tests/integration/test_signal.py, built on
// the npm `ws` package (an independent RFC 6455 implementation): the Python
// test decides what to send and checks what comes back; this process only
// holds the sockets.
//
//   node tests/browser/sig_client.js
//
// One JSON command per line on stdin:
//   {"op":"open","id":"A","url":"ws://127.0.0.1:PORT/ws","headers":{...}}
//   {"op":"send","id":"A","text":"...","count":1}
//                                              a text frame, the string as
//                                              is (count times, at once)
//   {"op":"binary","id":"A","hex":"0001"}      a binary frame
//   {"op":"close","id":"A","code":1000}        a closing handshake
//   {"op":"terminate","id":"A"}                the TCP connection just drops
//   {"op":"exit"}
// One JSON event per line on stdout:
//   {"ev":"open","id":"A"}
//   {"ev":"message","id":"A","text":"...","binary":false}
//   {"ev":"ping","id":"A"}                     (ws answers it by itself)
//   {"ev":"close","id":"A","code":4000,"reason":"..."}
//   {"ev":"error","id":"A","message":"Unexpected server response: 401"}
//   {"ev":"fail","message":"..."}              a command it could not run
// wss:// URLs are opened with rejectUnauthorized: false (the tests use a
// self-signed certificate). The process exits when stdin closes.

'use strict';

const readline = require('readline');
const WebSocket = require('ws');

const socks = new Map();

function emit(o) {
  process.stdout.write(JSON.stringify(o) + '\n');
}

function open(cmd) {
  const id = cmd.id;
  let ws;
  try {
    ws = new WebSocket(cmd.url, {
      rejectUnauthorized: false,
      headers: cmd.headers || {},
      handshakeTimeout: 5000,
      perMessageDeflate: false,
    });
  } catch (e) {
    emit({ ev: 'error', id, message: String(e.message || e) });
    emit({ ev: 'close', id, code: 0, reason: 'constructor failed' });
    return;
  }
  socks.set(id, ws);
  ws.on('open', () => emit({ ev: 'open', id }));
  ws.on('message', (data, isBinary) =>
    emit({ ev: 'message', id, text: data.toString('utf8'), binary: isBinary }));
  ws.on('ping', () => emit({ ev: 'ping', id }));
  ws.on('error', (e) => emit({ ev: 'error', id, message: String(e.message || e) }));
  ws.on('close', (code, reason) => {
    socks.delete(id);
    emit({ ev: 'close', id, code, reason: reason.toString('utf8') });
  });
}

function run(cmd) {
  const ws = socks.get(cmd.id);
  switch (cmd.op) {
    case 'open':
      open(cmd);
      return;
    case 'exit':
      for (const s of socks.values()) s.terminate();
      process.exit(0);
      return;
  }
  if (!ws) {
    emit({ ev: 'fail', id: cmd.id, message: 'no open socket ' + cmd.id });
    return;
  }
  try {
    switch (cmd.op) {
      case 'send':
        for (let i = 0; i < (cmd.count || 1); i++) ws.send(cmd.text);
        break;
      case 'binary':
        ws.send(Buffer.from(cmd.hex, 'hex'), { binary: true });
        break;
      case 'close':
        ws.close(cmd.code || 1000, cmd.reason || '');
        break;
      case 'terminate':
        ws.terminate();
        break;
      default:
        emit({ ev: 'fail', id: cmd.id, message: 'unknown op ' + cmd.op });
    }
  } catch (e) {
    emit({ ev: 'fail', id: cmd.id, message: String(e.message || e) });
  }
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    emit({ ev: 'fail', message: 'bad command: ' + line });
    return;
  }
  run(cmd);
});
rl.on('close', () => {
  for (const s of socks.values()) s.terminate();
  process.exit(0);
});
