// --json output shared by every command. Tables and units for people live in src/format.ts.

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
