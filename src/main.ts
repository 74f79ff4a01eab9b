// The server's entry point (`npm start`, `node dist/main.js`, and each cluster worker): the Node.js
// version is checked before any module with a native addon loads; src/server-main.ts starts the server.
import { exitUnlessSupportedNode } from "./node-version.js";

exitUnlessSupportedNode();
await import("./server-main.js");
