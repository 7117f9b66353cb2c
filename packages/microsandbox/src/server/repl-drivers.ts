/**
 * The two REPL drivers: small programs run as `python3 -u -c <driver> <marker> <fifo>` and
 * `node -e <driver> <marker> <fifo>` inside the sandbox (protocol §5.4, "One interpreter per
 * sandbox").
 *
 * Wire format. A driver makes a named pipe at `<fifo>` (resolved to an absolute path), then
 * writes frames to its real standard output, one per line: `<marker>\t<kind>\t<json>\n`, where
 * `kind` is `ready` (json: the pipe's absolute path), `stdout` / `stderr` (json: a piece of the
 * user's output) or `end` (json: the request id). It reads one request per writer from the pipe:
 * `{"id": n, "code": "..."}`, evaluates it in a namespace that persists across requests, and
 * always ends with an `end` frame. User output is JSON-encoded inside frames, so it cannot contain
 * a line break or forge a frame; output that bypasses the driver (subprocesses, raw `os.write(1)`)
 * reaches the server as unframed text and is reported as stdout. The marker is random per
 * interpreter.
 *
 * A bare final expression echoes its value (`repr` / `util.inspect`), as upstream's interactive
 * interpreters do. Python exceptions print a traceback on stderr without the driver's own frames;
 * Node errors print `Uncaught <name>: <message>` and the frames of the user's code on stderr, as
 * Node's REPL shows them (upstream's Node REPL wrote them to stdout).
 */

/** The Python driver (3.8+). */
export const PYTHON_DRIVER = String.raw`
import ast, io, json, os, sys, traceback
M = sys.argv[1]
FIFO = os.path.abspath(sys.argv[2])
del sys.argv[1:]
_out = sys.__stdout__
def _frame(kind, payload):
    _out.write(M + "\t" + kind + "\t" + json.dumps(payload) + "\n")
    _out.flush()
class _W(io.TextIOBase):
    def __init__(self, stream):
        self._stream = stream
    def writable(self):
        return True
    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str")
        if text:
            _frame(self._stream, text)
        return len(text)
    def flush(self):
        pass
try:
    os.unlink(FIFO)
except FileNotFoundError:
    pass
os.mkfifo(FIFO, 0o600)
import atexit
def _cleanup():
    try:
        os.unlink(FIFO)
    except OSError:
        pass
atexit.register(_cleanup)
_g = {"__name__": "__main__", "__builtins__": __builtins__}
_real = (sys.stdout, sys.stderr)
_frame("ready", FIFO)
while True:
    with open(FIFO, "rb") as _f:
        _data = _f.read()
    if not _data:
        continue
    _req = json.loads(_data.decode("utf-8"))
    sys.stdout, sys.stderr = _W("stdout"), _W("stderr")
    try:
        _tree = ast.parse(_req["code"], "<stdin>", "exec")
        _last = None
        if _tree.body and isinstance(_tree.body[-1], ast.Expr):
            _last = ast.Expression(_tree.body.pop().value)
        exec(compile(_tree, "<stdin>", "exec"), _g)
        if _last is not None:
            _v = eval(compile(_last, "<stdin>", "eval"), _g)
            if _v is not None:
                print(repr(_v))
    except SyntaxError:
        _t, _e, _tb = sys.exc_info()
        traceback.print_exception(_t, _e, None)
    except BaseException:
        _t, _e, _tb = sys.exc_info()
        traceback.print_exception(_t, _e, _tb.tb_next)
    finally:
        try:
            sys.stdout.flush()
        except Exception:
            pass
        sys.stdout, sys.stderr = _real
        _frame("end", _req["id"])
`;

/**
 * The Node.js driver: user code runs in the global scope, shared across requests, with `require`
 * and `module` defined, as in a REPL with `useGlobal`. The driver's own names stay in a closure.
 */
export const NODE_DRIVER = String.raw`
(() => {
globalThis.require = require;
globalThis.module = module;
const fs = require("node:fs");
const path = require("node:path");
const util = require("node:util");
const vm = require("node:vm");
const { execFileSync } = require("node:child_process");
const M = process.argv[1];
const FIFO = path.resolve(process.argv[2]);
process.argv.splice(1, 2);
const frame = (kind, payload) => {
  const line = Buffer.from(M + "\t" + kind + "\t" + JSON.stringify(payload) + "\n", "utf8");
  let off = 0;
  while (off < line.length) {
    try { off += fs.writeSync(1, line, off); } catch (e) { if (e.code !== "EAGAIN") throw e; }
  }
};
const writer = (stream) => function (chunk, encoding, callback) {
  const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
  if (text.length > 0) frame(stream, text);
  const cb = typeof encoding === "function" ? encoding : callback;
  if (typeof cb === "function") process.nextTick(cb);
  return true;
};
process.stdout.write = writer("stdout");
process.stderr.write = writer("stderr");
try { fs.unlinkSync(FIFO); } catch {}
execFileSync("mkfifo", ["-m", "600", FIFO]);
process.on("exit", () => { try { fs.unlinkSync(FIFO); } catch {} });
const uncaught = (e) => {
  let text = util.inspect(e);
  if (e instanceof Error && typeof e.stack === "string") {
    let head;
    try { head = String(e); } catch { head = util.inspect(e); }
    const frames = e.stack.split("\n").filter((f) => /^\s+at /.test(f));
    const mine = frames.filter((f) => /[( ]REPL:\d+:\d+\)?$/.test(f) && !/^\s+at REPL:\d+:\d+$/.test(f));
    text = [head, ...mine].join("\n");
  }
  process.stderr.write("Uncaught " + text + "\n");
};
process.on("uncaughtException", uncaught);
process.on("unhandledRejection", uncaught);
(async () => {
  frame("ready", FIFO);
  for (;;) {
    const data = await fs.promises.readFile(FIFO, "utf8");
    if (data.length === 0) continue;
    const req = JSON.parse(data);
    try {
      let value = vm.runInThisContext(req.code, { filename: "REPL" });
      if (value !== null && typeof value === "object" && typeof value.then === "function") value = await value;
      if (value !== undefined) process.stdout.write(util.inspect(value) + "\n");
    } catch (e) {
      uncaught(e);
    }
    frame("end", req.id);
  }
})();
})();
`;
