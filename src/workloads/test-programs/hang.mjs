// Hangs after starting two grandchildren: one in its process group and one in a session of its own
// (detached), which only a walk of the process tree can find. Prints all pids so a test can check
// that none survives the timeout.
import { spawn } from "node:child_process";
const keepAlive = "setInterval(() => {}, 1000)";
const inGroup = spawn(process.execPath, ["-e", keepAlive], { stdio: "ignore" });
const ownSession = spawn(process.execPath, ["-e", keepAlive], { stdio: "ignore", detached: true });
console.log(`pids: ${process.pid} ${inGroup.pid} ${ownSession.pid}`);
process.on("SIGTERM", () => {}); // ignores the polite request, so SIGKILL has to follow
setInterval(() => {}, 1000);
