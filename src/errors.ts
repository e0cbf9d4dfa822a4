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
