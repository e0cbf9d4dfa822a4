// Starts a grandchild in its process group, prints the pids, then crashes with SIGABRT.
import { spawn } from "node:child_process";
const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
console.log(`pids: ${process.pid} ${child.pid}`);
setTimeout(() => process.abort(), 200);
