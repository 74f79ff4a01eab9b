// Preloaded with `--import` into a process under test: appends the URL of every module it loads
// (ESM and CommonJS alike) to the file RECORD_MODULES_TO names, so that a test can say what a code
// path loads without timing it.
import { appendFileSync } from "node:fs";
import { registerHooks } from "node:module";

const file = process.env.RECORD_MODULES_TO;
if (file) {
  registerHooks({
    load(url, context, nextLoad) {
      appendFileSync(file, `${url}\n`);
      return nextLoad(url, context);
    },
  });
}
