import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TrialRecord } from "../types.js";
import { UserInputError } from "../errors.js";
import { Journal, readJournal } from "./journal.js";

function record(id: number): TrialRecord {
  return {
    id,
    config: { workers: 1, threads: 2 },
    fidelity: 1,
    measurement: { status: "ok", metrics: { decodeTps: 10 + id }, primary: "decodeTps", samples: [10 + id], warmup: 0, rme: 0.01, durationMs: 5, fidelity: { level: 1 } },
    value: 10 + id,
    startedAt: new Date(0).toISOString(),
    elapsedMs: id,
  };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "paratune-journal-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("Journal", () => {
  it("appends one line per trial and reads them back", () => {
    const path = join(dir, "out", "trials.jsonl");
    const j = new Journal(path);
    j.append(record(0));
    j.append(record(1));
    j.close();
    expect(readFileSync(path, "utf8").split("\n")).toHaveLength(3);
    expect(readJournal(path)).toEqual({ records: [record(0), record(1)], tornLines: 0 });
  });

  it("forgives a torn last line, and cuts it off before appending more", () => {
    const path = join(dir, "trials.jsonl");
    writeFileSync(path, `${JSON.stringify(record(0))}\n${JSON.stringify(record(1)).slice(0, 40)}`);
    expect(readJournal(path)).toEqual({ records: [record(0)], tornLines: 1 });
    const j = new Journal(path);
    j.append(record(1));
    j.close();
    expect(readJournal(path)).toEqual({ records: [record(0), record(1)], tornLines: 0 });
  });

  it("keeps a complete last record that only lacks its newline", () => {
    const path = join(dir, "trials.jsonl");
    writeFileSync(path, JSON.stringify(record(0)));
    const j = new Journal(path);
    j.append(record(1));
    j.close();
    expect(readJournal(path).records.map((r) => r.id)).toEqual([0, 1]);
  });

  it("refuses a broken line in the middle", () => {
    const path = join(dir, "trials.jsonl");
    writeFileSync(path, `${JSON.stringify(record(0))}\nnot json\n`);
    appendFileSync(path, `${JSON.stringify(record(1))}\n`);
    expect(() => readJournal(path)).toThrow(UserInputError);
  });

  it("reads a missing journal as empty", () => {
    expect(readJournal(join(dir, "nope.jsonl"))).toEqual({ records: [], tornLines: 0 });
  });
});
