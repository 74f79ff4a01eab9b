import module from "node:module";
import { exitUnlessSupportedNode } from "../node-version.js";

// The operator CLI's entry point (`npm run idp`, `node dist/cli/main.js`): the Node.js version is
// checked before any module with a native addon loads; src/cli/cli-main.ts runs the command.
exitUnlessSupportedNode();
// V8's compiled code of every module loaded from here on is kept between runs (Node 22.1+; under
// the OS temp dir): each command is a new process that loads the same modules again.
module.enableCompileCache();
await import("./cli-main.js");
