/** A free TCP port on 127.0.0.1, for the processes the tests and benchmarks start on loopback. */
import { createServer } from "node:net";

/** Asks the kernel for a free port on 127.0.0.1 and gives it back. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolvePort(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}
