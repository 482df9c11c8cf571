// Checking the JSON header of a file we read (scene files, checkpoints): every field a reader
// trusts is checked for type and range, and a failure names the field. The one check of a model's
// settings both formats share.
import { dot } from '../camera/vec3.ts';
import type { Box, NdcFrame, Vec3 } from '../field/geometry.ts';
import { layoutOf, MODEL_KINDS } from '../field/layout.ts';
import { MAX_LEVELS } from '../field/layouts/strivec.ts';
import type { StrivecLevel } from '../field/layouts/strivec-lattice.ts';
import type { FieldSettings, ModelKind } from '../field/settings.ts';

/** Largest Strivec lattice a header may describe per level (cells), so its bits stay small. */
const MAX_LATTICE_CELLS = 1 << 27;

/** Typed reads of untrusted JSON; `fail` throws the format's own error with `header: ` and the reason. */
export class JsonChecks {
  constructor(readonly fail: (why: string) => never) {}

  obj(v: unknown, what: string): Record<string, unknown> {
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : this.fail(`header: ${what} must be an object`);
  }

  num(v: unknown, what: string, lo = -Infinity, hi = Infinity): number {
    return typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi
      ? v
      : this.fail(`header: ${what} must be a number in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  }

  int(v: unknown, what: string, lo: number, hi: number): number {
    return Number.isInteger(v) ? this.num(v, what, lo, hi) : this.fail(`header: ${what} must be an integer, got ${JSON.stringify(v)}`);
  }

  ints(v: unknown, what: string, n: number, lo: number, hi: number): number[] {
    return Array.isArray(v) && v.length === n ? v.map((x, i) => this.int(x, `${what}[${i}]`, lo, hi)) : this.fail(`header: ${what} must list ${n} integers`);
  }

  /** A list of any length up to `max` of integers in [lo, hi]. */
  intList(v: unknown, what: string, max: number, lo: number, hi: number): number[] {
    return Array.isArray(v) && v.length <= max
      ? v.map((x, i) => this.int(x, `${what}[${i}]`, lo, hi))
      : this.fail(`header: ${what} must list at most ${max} integers`);
  }

  /** Three numbers in [-1e6, 1e6] (a point or a direction). */
  vec3(v: unknown, what: string): Vec3 {
    return (
      Array.isArray(v) && v.length === 3 ? v.map((x, i) => this.num(x, `${what}[${i}]`, -1e6, 1e6)) : this.fail(`header: ${what} must list 3 numbers`)
    ) as Vec3;
  }

  box(v: unknown, what: string): Box {
    const b = this.obj(v, what);
    const lo = this.vec3(b.lo, `${what}.lo`);
    const hi = this.vec3(b.hi, `${what}.hi`);
    if (lo.some((x, i) => !(x < hi[i]!))) this.fail(`header: ${what} is empty or inverted`);
    return { lo, hi };
  }

  /** An NDC reference camera: finite, with unit orthogonal axes and a positive near plane. */
  ndc(v: unknown, what: string): NdcFrame {
    const o = this.obj(v, what);
    const frame: NdcFrame = {
      centre: this.vec3(o.centre, `${what}.centre`),
      right: this.vec3(o.right, `${what}.right`),
      down: this.vec3(o.down, `${what}.down`),
      forward: this.vec3(o.forward, `${what}.forward`),
      ax: this.num(o.ax, `${what}.ax`, 1e-6, 1e6),
      ay: this.num(o.ay, `${what}.ay`, 1e-6, 1e6),
      near: this.num(o.near, `${what}.near`, 1e-9, 1e6),
    };
    const axes = [frame.right, frame.down, frame.forward];
    for (const [i, a] of axes.entries()) {
      for (const [j, b] of axes.entries()) {
        if (Math.abs(dot(a, b) - (i === j ? 1 : 0)) > 1e-4) this.fail(`header: ${what}'s axes must be unit length and orthogonal`);
      }
    }
    return frame;
  }

  /** A model's settings (any layout), every field checked. */
  settings(raw: unknown): FieldSettings {
    const s = this.obj(raw, 'settings');
    const kind = MODEL_KINDS.includes(s.kind as ModelKind)
      ? (s.kind as ModelKind)
      : this.fail(`header: settings.kind must be one of ${MODEL_KINDS.map((k) => `"${k}"`).join(', ')}, got ${JSON.stringify(s.kind)}`);
    const layout = layoutOf(kind);
    const levels = layout.localTensors ? this.levels(s.levels) : undefined;
    const slots = layout.slotsFor(levels?.length ?? 0);
    const sh = this.obj(s.shading, 'settings.shading');
    const mode = sh.mode === 'MLP_Fea' || sh.mode === 'SH' ? sh.mode : this.fail(`header: settings.shading.mode must be "MLP_Fea" or "SH"`);
    const shading = {
      mode,
      appDim: this.int(sh.appDim, 'settings.shading.appDim', 1, 1024),
      viewPe: this.int(sh.viewPe, 'settings.shading.viewPe', 0, 32),
      feaPe: this.int(sh.feaPe, 'settings.shading.feaPe', 0, 32),
      featureC: this.int(sh.featureC, 'settings.shading.featureC', mode === 'SH' ? 0 : 1, 4096),
    } as const;
    if (mode === 'SH' && shading.appDim !== 27) this.fail('header: SH shading needs appDim 27');
    if (s.contraction !== undefined && s.ndc !== undefined) this.fail('header: settings has both a contraction and an NDC frame');
    return {
      kind,
      densityComps: this.ints(s.densityComps, 'settings.densityComps', slots, 1, 4096),
      appComps: this.ints(s.appComps, 'settings.appComps', slots, 1, 4096),
      shading,
      densityShift: this.num(s.densityShift, 'settings.densityShift', -1e4, 1e4),
      distanceScale: this.num(s.distanceScale, 'settings.distanceScale', 1e-6, 1e6),
      stepRatio: this.num(s.stepRatio, 'settings.stepRatio', 1e-3, 100),
      alphaMaskThres: this.num(s.alphaMaskThres, 'settings.alphaMaskThres', 0, 1),
      rayMarchWeightThres: this.num(s.rayMarchWeightThres, 'settings.rayMarchWeightThres', 0, 1),
      initStd: this.num(s.initStd, 'settings.initStd', 0, 100),
      ...(s.slimmable === true ? { slimmable: true } : {}),
      ...(s.contraction !== undefined ? { contraction: this.box(s.contraction, 'settings.contraction') } : {}),
      ...(s.ndc !== undefined ? { ndc: this.ndc(s.ndc, 'settings.ndc') } : {}),
      ...(levels ? { levels } : {}),
    };
  }

  private levels(v: unknown): StrivecLevel[] {
    if (!Array.isArray(v) || v.length < 1 || v.length > MAX_LEVELS) this.fail(`header: settings.levels must list 1 to ${MAX_LEVELS} Strivec levels`);
    return (v as unknown[]).map((x, l) => {
      const what = `settings.levels[${l}]`;
      const o = this.obj(x, what);
      const vec = (a: unknown, name: string, f: (y: unknown, w: string) => number) =>
        (Array.isArray(a) && a.length === 3
          ? a.map((y, i) => f(y, `${what}.${name}[${i}]`))
          : this.fail(`header: ${what}.${name} must list 3 numbers`)) as Vec3;
      const origin = vec(o.origin, 'origin', (y, w) => this.num(y, w, -1e6, 1e6));
      const spacing = this.num(o.spacing, `${what}.spacing`, 1e-6, 1e6);
      const dims = vec(o.dims, 'dims', (y, w) => this.int(y, w, 1, 1 << 20));
      if (dims[0] * dims[1] * dims[2] > MAX_LATTICE_CELLS) this.fail(`header: ${what}.dims describe more than ${MAX_LATTICE_CELLS} cells`);
      const halfSize = this.num(o.halfSize, `${what}.halfSize`, 0.5 * spacing, spacing);
      if (!(halfSize > 0.5 * spacing && halfSize < spacing)) this.fail(`header: ${what}.halfSize must lie strictly between half and one spacing`);
      const tensors = this.int(o.tensors, `${what}.tensors`, 1, dims[0] * dims[1] * dims[2]);
      // (Absent in files written before the preset rule: 1.)
      const perCell = o.samplesPerCell === undefined ? 1 : this.int(o.samplesPerCell, `${what}.samplesPerCell`, 1, 8);
      return { origin, spacing, dims, halfSize, tensors, ...(perCell !== 1 ? { samplesPerCell: perCell } : {}) };
    });
  }
}
