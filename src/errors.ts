// Errors a user can cause are typed so that the CLI prints one clear line instead of a stack.

/** Bad input from the user: a flag, a file, a preset name. `hint` says what to do next. */
export class UserInputError extends Error {
  override readonly name = "UserInputError";
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

/** A trial could not be run or measured; the study records it and goes on. */
export class TrialError extends Error {
  override readonly name = "TrialError";
  constructor(message: string, readonly status: "failed" | "timeout" | "oom" | "infeasible" = "failed") {
    super(message);
  }
}

/** One line for the terminal: the message, and the hint when there is one. */
export function describeError(err: unknown): string {
  if (err instanceof UserInputError) return err.hint ? `${err.message}\n  ${err.hint}` : err.message;
  if (err instanceof TrialError) return `trial ${err.status}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function isUserError(err: unknown): boolean {
  return err instanceof UserInputError || err instanceof TrialError;
}

/**
 * A failed trial's reason on one line: the cause (its first line: "command exited with code 3",
 * "was killed by SIGSEGV"), then the last line of output quoted after it, which often names the
 * culprit ("error: out of widgets").
 */
export function failureLine(error: string | undefined, max = 200): string {
  const lines = (error ?? "").split("\n").map((l) => l.trim()).filter(Boolean);
  if (lines.length === 0) return "";
  const cause = lines[0];
  const last = lines.length > 1 ? lines[lines.length - 1] : "";
  const line = last && last !== cause ? `${cause}: ${last}` : cause;
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}
