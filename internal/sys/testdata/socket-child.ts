/**
 * Test helper: receives an fd over the socket inherited as fd 3, prints what
 * it reads from it, and sends back a pipe whose buffer holds a greeting.
 */
import { close, pipe2, read, writeAll } from "../fs.ts";
import { recvFds, sendFds } from "../socket.ts";

const sock = 3;
const { data, fds } = recvFds(sock, 4);
const buf = new Uint8Array(256);
const n = read(fds[0]!, buf);
const [r, w] = pipe2();
writeAll(w, new TextEncoder().encode("hello from the child"));
close(w);
sendFds(sock, [r], new TextEncoder().encode("pipe"));
writeAll(1, new TextEncoder().encode(JSON.stringify({ tag: new TextDecoder().decode(data), fds: fds.length, content: new TextDecoder().decode(buf.subarray(0, n)) })));
