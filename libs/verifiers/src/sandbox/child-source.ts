// Source of the sandbox child process (plain JavaScript, run with `node --permission -e`): strips
// the main realm of module loading, bindings and network globals, then runs model-written code in a
// fresh vm context (null-prototype global, no require / process, no string or wasm code generation)
// and reports one JSON line per test case, prefixed with a per-run nonce.

/** Defined inside the vm context before the model's code: calls the entry point on JSON arguments. */
const HARNESS = String.raw`(() => {
  const S = JSON.stringify, P = JSON.parse, Str = String, define = Object.defineProperty;
  const run = (fn, argsJson) => {
    if (typeof fn !== 'function') return S({ ok: false, error: 'entry point is not a function' });
    try {
      const args = P(argsJson);
      const value = fn(...args);
      return S({ ok: true, value: value === undefined ? null : value });
    } catch (e) {
      let m = 'threw';
      try { m = 'threw: ' + Str(e !== null && typeof e === 'object' && 'message' in e ? e.message : e).slice(0, 200); } catch (_) {}
      return S({ ok: false, error: m });
    }
  };
  define(globalThis, '__tuneloopRun', { value: run, writable: false, configurable: false, enumerable: false });
  const noop = () => {};
  globalThis.console = { log: noop, info: noop, warn: noop, error: noop, debug: noop };
})();`;

export const CHILD_SOURCE = String.raw`'use strict';
const vm = require('node:vm');
const Module = require('node:module');
const stdin = process.stdin;
const write = process.stdout.write.bind(process.stdout);
const exitNow = process.exit.bind(process);

// Defence in depth for the main realm (the model's code never sees it): no module loading, no
// native bindings, no network or worker globals, no environment.
const blocked = () => { throw new Error('blocked in the sandbox'); };
Module._load = blocked;
Module.prototype.require = blocked;
for (const k of ['binding', '_linkedBinding', 'dlopen']) { try { process[k] = blocked; } catch (_) {} }
for (const k of ['fetch', 'WebSocket', 'EventSource', 'Request', 'Response', 'Headers', 'FormData',
  'XMLHttpRequest', 'navigator']) {
  try { delete globalThis[k]; } catch (_) {}
  try { Object.defineProperty(globalThis, k, { value: undefined, writable: false, configurable: false }); } catch (_) {}
}
// node -e puts these on globalThis for the script's synchronous run (and restores them after it).
for (const k of ['require', 'module', 'exports', '__filename', '__dirname']) { try { delete globalThis[k]; } catch (_) {} }
for (const k of Object.keys(process.env)) delete process.env[k];

// vm's timeout error is created in the context's realm: recognise it by its own data property 'code'.
const isTimeout = (e) => {
  if (e === null || typeof e !== 'object') return false;
  const d = Reflect.getOwnPropertyDescriptor(e, 'code');
  return d !== undefined && 'value' in d && d.value === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
};

let input = '';
stdin.setEncoding('utf8');
stdin.on('data', (d) => { input += d; });
stdin.on('end', () => {
  const p = JSON.parse(input);
  input = '';
  const send = (o) => write(p.nonce + JSON.stringify(o) + '\n');
  const ctx = vm.createContext(Object.create(null), {
    name: 'sandbox',
    codeGeneration: { strings: false, wasm: false },
    microtaskMode: 'afterEvaluate',
  });
  vm.runInContext(${JSON.stringify(HARNESS)}, ctx, { timeout: 1000 });
  try {
    vm.runInContext(p.code, ctx, { timeout: p.testTimeoutMs, filename: 'solution.js' });
  } catch (e) {
    send({ kind: 'load_error', error: isTimeout(e) ? 'timeout while loading the code' : 'the code threw or did not compile' });
    send({ kind: 'done' });
    return;
  }
  for (let i = 0; i < p.inputs.length; i++) {
    let r;
    try {
      r = vm.runInContext('__tuneloopRun(typeof ' + p.functionName + " === 'function' ? " + p.functionName + ' : undefined, ' +
        JSON.stringify(JSON.stringify(p.inputs[i])) + ')', ctx, { timeout: p.testTimeoutMs });
    } catch (e) {
      r = JSON.stringify({ ok: false, error: isTimeout(e) ? 'timeout' : 'harness error' });
    }
    if (typeof r !== 'string') r = JSON.stringify({ ok: false, error: 'harness error' });
    if (r.length > p.maxResultChars) r = JSON.stringify({ ok: false, error: 'result too large' });
    send({ kind: 'test', index: i, result: r });
  }
  send({ kind: 'done' });
  exitNow(0);
});
`;
