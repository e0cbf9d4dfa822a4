// study.json: what defines a tuning run (so --resume needs nothing but its folder) and, once the
// study is set up, what a report needs besides the journal (so a run killed before it wrote its
// results can still be reported).
import type { Config, HardwareProfile, Param, WorkloadDescription } from "../types.js";

export const STUDY_FILE = "study.json";

/** The study as set up: what `paratune report` rebuilds a killed run's report from. */
export interface StudyContext {
  tuner: string;
  budgetMs: number;
  hardware: HardwareProfile;
  workload: WorkloadDescription;
  params: Param[];
  baseline: Config;
}
