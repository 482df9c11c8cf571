// The plain TypeScript reference of the fine-tune's codebook step (finetune.wgsl.ts), in f32
// (Math.fround after every operation) and the kernel's order.
import type { CodebookGroup } from './finetune.ts';

/** One group's step on `values` (a plane's texels, k components each) and its `codewords`, in place. */
export function refCodebookStep(g: CodebookGroup, values: Float32Array, codewords: Float32Array): void {
  const f = Math.fround;
  const rows = g.starts.length - 2;
  for (let r = 0; r <= rows; r++) {
    const a = g.starts[r]!;
    const b = g.starts[r + 1]!;
    for (let j = 0; j < g.w; j++) {
      const at = (m: number) => g.members[m]! * g.k + g.lo + j;
      if (r === rows) {
        for (let m = a; m < b; m++) values[at(m)] = 0;
        continue;
      }
      if (a === b) continue;
      let sum = 0;
      let plain = 0;
      let mass = 0;
      for (let m = a; m < b; m++) {
        const v = values[at(m)]!;
        sum = f(sum + f(g.weights[m]! * v));
        plain = f(plain + v);
        mass = f(mass + g.weights[m]!);
      }
      const c = mass > 0 ? f(sum / mass) : f(plain / (b - a));
      codewords[r * g.w + j] = c;
      for (let m = a; m < b; m++) values[at(m)] = c;
    }
  }
}
