// The npm registry reachable here lacks node-llama-cpp's prebuilt packages for other platforms
// (mac, win, riscv), so `npm install` leaves them out of package-lock.json and `npm ci` then
// refuses the lock as out of sync. This adds lock entries for them with their os/cpu fields, so
// npm ci skips them on Linux as it would with a complete registry. Run after any `npm install`.
const fs = require("fs");
const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
const version = lock.packages["node_modules/node-llama-cpp"].version;
const platforms = {
  "linux-riscv64": ["linux", "riscv64"], "mac-arm64-metal": ["darwin", "arm64"], "mac-x64": ["darwin", "x64"],
  "win-arm64": ["win32", "arm64"], "win-x64": ["win32", "x64"], "win-x64-cuda": ["win32", "x64"],
  "win-x64-cuda-ext": ["win32", "x64"], "win-x64-vulkan": ["win32", "x64"],
};
for (const [name, [os, cpu]] of Object.entries(platforms)) {
  const key = `node_modules/@node-llama-cpp/${name}`;
  if (!lock.packages[key]) lock.packages[key] = { version, cpu: [cpu], license: "MIT", optional: true, os: [os], engines: { node: ">=20.0.0" } };
}
const sorted = {};
for (const k of Object.keys(lock.packages).sort((a, b) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b)))) sorted[k] = lock.packages[k];
lock.packages = sorted;
fs.writeFileSync("package-lock.json", JSON.stringify(lock, null, 2) + "\n");
