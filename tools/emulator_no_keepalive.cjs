// Preloaded into firebase-tools (NODE_OPTIONS=--require) by tools/stack.py.
//
// The Functions emulator proxies each call to the Python worker (gunicorn, keep-alive timeout
// 2 s) with Node's global agent, which since Node 19 keeps connections alive. When gunicorn
// closes an idle connection just as the emulator reuses it, the call fails with "socket hang up"
// / ECONNRESET, the emulator answers 500 and kills the worker (seen here on sign-ups a couple of
// seconds apart). A fresh connection per call removes the race.
"use strict";
const http = require("node:http");
http.globalAgent = new http.Agent({ keepAlive: false });
