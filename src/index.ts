// The public API: `import { probe, recommend, ... } from "paratune"`.
export * from "./types.js";
export { UserInputError, TrialError } from "./errors.js";
