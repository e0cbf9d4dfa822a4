import { describe, expect, it } from "vitest";
import { gpusPerWorker, gpusPerWorkerValues, workerDevices, workersPerGroup } from "./gpu-placement.js";

describe("placing workers on several GPUs", () => {
  it("offers the group sizes that use every GPU evenly", () => {
    expect(gpusPerWorkerValues(1)).toEqual([1]);
    expect(gpusPerWorkerValues(2)).toEqual([1, 2]);
    expect(gpusPerWorkerValues(6)).toEqual([1, 2, 3, 6]);
    expect(gpusPerWorkerValues(8)).toEqual([1, 2, 4, 8]);
  });

  it("deals the workers to the groups in turn", () => {
    expect(workerDevices({ workers: 3, gpusPerWorker: 2 }, [0, 1, 2, 3])).toEqual(["0,1", "2,3", "0,1"]);
    expect(workerDevices({ workers: 4, gpusPerWorker: 1 }, [0, 1])).toEqual(["0", "1", "0", "1"]);
    expect(workersPerGroup({ workers: 3, gpusPerWorker: 2 }, 4)).toBe(2);
    expect(workersPerGroup({ workers: 4, gpusPerWorker: 1 }, 2)).toBe(2);
  });

  it("without the parameter every worker sees every GPU, as a process not told otherwise does", () => {
    expect(workerDevices({ workers: 2 }, [0, 1])).toEqual(["0,1", "0,1"]);
    expect(gpusPerWorker({}, 4)).toBe(4);
    expect(workerDevices({ workers: 2 }, [3])).toEqual(["3", "3"]);
    expect(workersPerGroup({ workers: 5 }, 1)).toBe(5);
  });

  it("keeps a group size past the GPU count to all of them", () => {
    expect(gpusPerWorker({ gpusPerWorker: 8 }, 2)).toBe(2);
    expect(workerDevices({ workers: 1, gpusPerWorker: 8 }, [0, 1])).toEqual(["0,1"]);
  });
});
