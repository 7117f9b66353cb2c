/**
 * A minimal JSON server for the transport benchmark, run in its own process so that its work does
 * not share the event loop with the client being measured. It answers every request with a small
 * exec-like JSON body and reports its port to the parent over IPC.
 */
import { createServer } from "node:http";

const reply = JSON.stringify({ exitCode: 0, stdout: "hello from the sandbox\n", stderr: "", durationMs: 3, timedOut: false });
const length = Buffer.byteLength(reply);

const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": length });
    res.end(reply);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  process.send?.({ port: address.port });
});
process.on("disconnect", () => {
  server.closeAllConnections();
  server.close();
});
