// The kernel's CPU list notation ("0-3,8-11"), used by cpuset, Cpus_allowed_list, NUMA cpulist
// and thread_siblings_list alike.

/** Parses "0-3,8-11" into [0,1,2,3,8,9,10,11]. Empty text is an empty list. */
export function parseCpuList(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.trim().split(",")) {
    const p = part.trim();
    if (p === "") continue;
    const m = /^(\d+)(?:-(\d+))?(?::(\d+)\/(\d+))?$/.exec(p);
    if (!m) throw new Error(`not a CPU list: "${text.trim()}"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    // The rare "0-15:2/4" form: the first `used` CPUs of every group of `group`.
    const used = m[3] === undefined ? 1 : Number(m[3]);
    const group = m[4] === undefined ? 1 : Number(m[4]);
    for (let c = lo; c <= hi; c += group) for (let k = 0; k < used && c + k <= hi; k++) out.add(c + k);
  }
  return [...out].sort((a, b) => a - b);
}

/** Writes [0,1,2,3,8] back as "0-3,8". */
export function formatCpuList(cpus: number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}
