// The study's journal: one TrialRecord per line in trials.jsonl, appended when a trial ends.
// It is the only state a tuning run needs to resume, so every line is fsync'd before the study
// moves on: a crash or a kill -9 loses at most the trial that was running.

import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, truncateSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { TrialRecord } from "../types.js";
import { UserInputError } from "../errors.js";

export const JOURNAL_FILE = "trials.jsonl";

export interface JournalContents {
  records: TrialRecord[];
  /** Lines that could not be parsed: only a torn last line is forgiven, see readJournal. */
  tornLines: number;
}

/**
 * Reads a journal. A last line cut short by a crash mid-write is dropped (that trial is simply
 * run again); a broken line in the middle means someone edited the file, and we say so rather
 * than guess which trials it held.
 */
export function readJournal(path: string): JournalContents {
  if (!existsSync(path)) return { records: [], tornLines: 0 };
  const lines = readFileSync(path, "utf8").split("\n");
  const records: TrialRecord[] = [];
  let tornLines = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = undefined;
    }
    if (!isTrialRecord(parsed)) {
      const isLast = lines.slice(i + 1).every((l) => l.trim() === "");
      if (!isLast) {
        throw new UserInputError(
          `${path} line ${i + 1} is not a trial record`,
          "the journal was edited or mixed with another file; move it away to start a fresh study",
        );
      }
      tornLines++;
      continue;
    }
    records.push(parsed);
  }
  return { records, tornLines };
}

function isTrialRecord(v: unknown): v is TrialRecord {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Partial<TrialRecord>;
  return (
    typeof r.id === "number" &&
    typeof r.config === "object" &&
    r.config !== null &&
    typeof r.fidelity === "number" &&
    typeof r.measurement === "object" &&
    r.measurement !== null &&
    (r.value === null || typeof r.value === "number")
  );
}

/** Appends records to a journal file, one durable line at a time. */
export class Journal {
  private fd: number | null;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    // A torn last line from a crash has no newline; cut it off before appending, or it would
    // end up in the middle of the file where readJournal rightly refuses it.
    dropTornTail(path);
    this.fd = openSync(path, "a");
  }

  append(record: TrialRecord): void {
    if (this.fd === null) throw new Error(`journal ${this.path} is closed`);
    writeSync(this.fd, `${JSON.stringify(record)}\n`);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }
}

function dropTornTail(path: string): void {
  if (!existsSync(path)) return;
  const bytes = readFileSync(path);
  if (bytes.length === 0 || bytes[bytes.length - 1] === 0x0a) return;
  const start = bytes.lastIndexOf(0x0a) + 1;
  let whole = false;
  try {
    whole = isTrialRecord(JSON.parse(bytes.subarray(start).toString("utf8")));
  } catch {
    whole = false;
  }
  // A complete record that only lacks its newline is kept, as readJournal kept it.
  if (whole) appendFileSync(path, "\n");
  else truncateSync(path, start);
}
