// Preloaded with `--import` into a process under test: makes `process.versions.node` say
// PRETEND_NODE_VERSION, so the version guard can be tried on the Node the tests run on.
const version = process.env.PRETEND_NODE_VERSION;
if (version) Object.defineProperty(process.versions, "node", { value: version });
