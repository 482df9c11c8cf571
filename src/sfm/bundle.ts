// Bundle adjustment: Levenberg–Marquardt on the reprojection errors of every observation, in
// pixels (each in units of its observation's sigma: the mapper gives its keypoint's scale), under
// Huber's loss (iteratively reweighted), refining the images' poses, the points and, per camera,
// the focal length and the radial distortion k1 (COLMAP's SIMPLE_RADIAL; the principal point
// stays at the image centre, as COLMAP keeps it). The normal equations are reduced to the camera
// parameters by the Schur complement of the points' 3×3 blocks, solved densely by Cholesky
// (a few hundred images make a few thousand unknowns), and the points recovered by back-
// substitution. Analytic Jacobians; the perturbation of a pose is R ← exp([ω]×) R, t ← t + δt.
// Every sum runs in a fixed order, so the same problem gives the same answer bit for bit.
import { type Lens, project } from '../camera/lens.ts';
import { axisAngleToRotation, mat3Mul } from '../camera/rotation.ts';
import type { V3 } from '../camera/vec3.ts';
import type { Pose } from './pose.ts';

/** SIMPLE_RADIAL intrinsics in pixels: u = f·x·(1 + k1 r²) + cx. */
export interface RadialCamera {
  f: number;
  cx: number;
  cy: number;
  k1: number;
}

export interface BundleObservation {
  image: number;
  point: number;
  /** Observed continuous image coordinates (pixel centres at +0.5), pixels. */
  uv: readonly [number, number];
  /** How far (pixels, relative) this observation may be off: its residual is counted in these units. Default 1. */
  sigma?: number;
}

export interface BundleProblem {
  cameras: RadialCamera[];
  images: { camera: number; pose: Pose }[];
  points: V3[];
  observations: readonly BundleObservation[];
}

export interface BundleOptions {
  iterations?: number;
  /** Huber's threshold on an observation's reprojection error, pixels. */
  huber?: number;
  /** Images whose pose stays as it is (the gauge, or the images outside a local adjustment). */
  fixedImages?: ReadonlySet<number>;
  /** Fix the scale: this image's largest translation component stays as it is. */
  scaleImage?: number;
  refineFocal?: boolean;
  refineDistortion?: boolean;
  /** Points that stay where they are. */
  fixedPoints?: ReadonlySet<number>;
}

export interface BundleReport {
  iterations: number;
  /** Root mean square reprojection error before and after, pixels. */
  initialRmse: number;
  finalRmse: number;
}

/** SIMPLE_RADIAL (one focal length, k1) as the lens model every reader accepts (camera/lens.ts). */
export const radialLens = (cam: RadialCamera): Lens => ({ fx: cam.f, fy: cam.f, cx: cam.cx, cy: cam.cy, distortion: { k1: cam.k1, k2: 0, p1: 0, p2: 0 } });

/** The projection of a camera-frame point (camera/lens.ts), and its Jacobians (row-major 2×3 in X_c, 2×2 in f, k1). */
export function projectRadial(cam: RadialCamera, Xc: V3): { uv: [number, number]; dXc: number[]; dIntr: number[] } | null {
  if (!(Xc[2] > 1e-9)) return null;
  const { uv, J } = project(radialLens(cam), Xc)!;
  // u = f·d·x + cx with d = 1 + k1·r²: ∂u/∂f = d·x, ∂u/∂k1 = f·x·r² (and the same in y).
  const x = Xc[0] / Xc[2];
  const y = Xc[1] / Xc[2];
  const r2 = x * x + y * y;
  const d = 1 + cam.k1 * r2;
  return { uv, dXc: J, dIntr: [d * x, cam.f * x * r2, d * y, cam.f * y * r2] };
}

/** Adjusts the problem in place; returns the reprojection errors before and after. */
export function bundleAdjust(problem: BundleProblem, opts: BundleOptions = {}): BundleReport {
  const { cameras, images, points, observations } = problem;
  const iterations = opts.iterations ?? 30;
  const huber = opts.huber ?? 1;
  const fixedImages = opts.fixedImages ?? new Set<number>();
  const fixedPoints = opts.fixedPoints ?? new Set<number>();
  const nIntr = ((opts.refineFocal ?? true) ? 1 : 0) + ((opts.refineDistortion ?? true) ? 1 : 0);
  const intrCols = [(opts.refineFocal ?? true) ? 0 : -1, (opts.refineDistortion ?? true) ? 1 : -1].filter((c) => c >= 0);

  // The camera-side unknowns: 6 per free image (ω, δt, less a fixed scale component), nIntr per camera that some free observation sees.
  const imageOffset = new Int32Array(images.length).fill(-1);
  const scaleComponent = new Int32Array(images.length).fill(-1);
  let nc = 0;
  images.forEach((im, i) => {
    if (fixedImages.has(i)) return;
    imageOffset[i] = nc;
    nc += 6;
    if (opts.scaleImage === i) {
      const t = im.pose.t.map(Math.abs);
      scaleComponent[i] = t[0]! >= t[1]! && t[0]! >= t[2]! ? 0 : t[1]! >= t[2]! ? 1 : 2;
    }
  });
  const cameraOffset = new Int32Array(cameras.length).fill(-1);
  if (nIntr > 0) {
    const seen = new Set(observations.map((o) => images[o.image]!.camera));
    for (let c = 0; c < cameras.length; c++) {
      if (!seen.has(c)) continue;
      cameraOffset[c] = nc;
      nc += nIntr;
    }
  }
  const pointOffset = new Int32Array(points.length).fill(-1);
  let np = 0;
  const observed = new Set(observations.map((o) => o.point));
  for (let p = 0; p < points.length; p++) {
    if (fixedPoints.has(p) || !observed.has(p)) continue;
    pointOffset[p] = np;
    np += 3;
  }
  const byPoint: number[][] = Array.from({ length: points.length }, () => []);
  observations.forEach((o, k) => {
    byPoint[o.point]!.push(k);
  });

  /** Each observation's residual (pixels), or null where the point is behind its camera. */
  const residuals = (): (readonly [number, number] | null)[] =>
    observations.map((o) => {
      const im = images[o.image]!;
      const Xc = toCam(im.pose, points[o.point]!);
      const pr = projectRadial(cameras[im.camera]!, Xc);
      return pr ? ([pr.uv[0] - o.uv[0], pr.uv[1] - o.uv[1]] as const) : null;
    });
  /** Huber cost; an observation behind its camera costs as much as a huge error. */
  const costOf = (res: (readonly [number, number] | null)[]): number => {
    let c = 0;
    res.forEach((r, k) => {
      if (!r) {
        c += 2 * huber * 1e6;
        return;
      }
      const s = observations[k]!.sigma ?? 1;
      const e2 = (r[0] * r[0] + r[1] * r[1]) / (s * s);
      c += e2 <= huber * huber ? e2 : 2 * huber * Math.sqrt(e2) - huber * huber;
    });
    return c;
  };
  const rmse = (res: (readonly [number, number] | null)[]) => {
    let s = 0;
    let n = 0;
    for (const r of res) {
      if (!r) continue;
      s += r[0] * r[0] + r[1] * r[1];
      n++;
    }
    return n ? Math.sqrt(s / n) : 0;
  };

  let res = residuals();
  const initialRmse = rmse(res);
  let cost = costOf(res);
  let lambda = 1e-4;
  let it = 0;
  for (; it < iterations; it++) {
    // Per observation: its camera-side Jacobian columns (indices into the unknowns) and its point Jacobian.
    const Hcc = new Float64Array(nc * nc);
    const gc = new Float64Array(nc);
    const Hpp = new Float64Array(np * 3); // 3×3 per point, row-major
    const gp = new Float64Array(np);
    const obsCols: Int32Array[] = [];
    const obsJc: Float64Array[] = [];
    const obsJp: Float64Array[] = [];
    const obsW: number[] = [];
    observations.forEach((o, k) => {
      const im = images[o.image]!;
      const cam = cameras[im.camera]!;
      const X = points[o.point]!;
      const RX = mat3Apply3(im.pose.r, X);
      const Xc: V3 = [RX[0] + im.pose.t[0], RX[1] + im.pose.t[1], RX[2] + im.pose.t[2]];
      const pr = projectRadial(cam, Xc);
      const r = res[k];
      if (!pr || !r) {
        obsCols.push(new Int32Array(0));
        obsJc.push(new Float64Array(0));
        obsJp.push(new Float64Array(6));
        obsW.push(0);
        return;
      }
      const s = o.sigma ?? 1;
      const e = Math.hypot(r[0], r[1]) / s;
      const w = (e <= huber ? 1 : huber / e) / (s * s);
      const cols: number[] = [];
      const jc: number[][] = [[], []];
      const io = imageOffset[o.image]!;
      if (io >= 0) {
        // ∂Xc/∂ω = −[R X]×, ∂Xc/∂δt = I.
        const dW = [0, RX[2], -RX[1], -RX[2], 0, RX[0], RX[1], -RX[0], 0];
        for (let a = 0; a < 3; a++) {
          cols.push(io + a);
          for (let row = 0; row < 2; row++) jc[row]!.push(pr.dXc[row * 3]! * dW[a]! + pr.dXc[row * 3 + 1]! * dW[3 + a]! + pr.dXc[row * 3 + 2]! * dW[6 + a]!);
        }
        for (let a = 0; a < 3; a++) {
          if (scaleComponent[o.image] === a) continue;
          cols.push(io + 3 + a);
          for (let row = 0; row < 2; row++) jc[row]!.push(pr.dXc[row * 3 + a]!);
        }
      }
      const co = cameraOffset[im.camera]!;
      if (co >= 0) {
        intrCols.forEach((c, j) => {
          cols.push(co + j);
          for (let row = 0; row < 2; row++) jc[row]!.push(pr.dIntr[row * 2 + c]!);
        });
      }
      // ∂Xc/∂X = R.
      const jp = new Float64Array(6);
      for (let row = 0; row < 2; row++)
        for (let a = 0; a < 3; a++)
          jp[row * 3 + a] = pr.dXc[row * 3]! * im.pose.r[a]! + pr.dXc[row * 3 + 1]! * im.pose.r[3 + a]! + pr.dXc[row * 3 + 2]! * im.pose.r[6 + a]!;
      const m = cols.length;
      const Jc = new Float64Array(2 * m);
      for (let j = 0; j < m; j++) {
        Jc[j] = jc[0]![j]!;
        Jc[m + j] = jc[1]![j]!;
      }
      obsCols.push(Int32Array.from(cols));
      obsJc.push(Jc);
      obsJp.push(jp);
      obsW.push(w);
      for (let a = 0; a < m; a++) {
        gc[cols[a]!] += w * (Jc[a]! * r[0] + Jc[m + a]! * r[1]);
        for (let b = 0; b < m; b++) Hcc[cols[a]! * nc + cols[b]!] += w * (Jc[a]! * Jc[b]! + Jc[m + a]! * Jc[m + b]!);
      }
      const po = pointOffset[o.point]!;
      if (po >= 0) {
        for (let a = 0; a < 3; a++) {
          gp[po + a] += w * (jp[a]! * r[0] + jp[3 + a]! * r[1]);
          for (let b = 0; b < 3; b++) Hpp[po * 3 + a * 3 + b] += w * (jp[a]! * jp[b]! + jp[3 + a]! * jp[3 + b]!);
        }
      }
    });

    // Each free point's coupling to the camera unknowns, Hcp (cols × 3), from its observations.
    const coupling = points.map((_, p) => {
      const cols: number[] = [];
      const rows: number[][] = [];
      if (pointOffset[p]! < 0) return { cols, rows };
      const where = new Map<number, number>();
      for (const k of byPoint[p]!) {
        const oc = obsCols[k]!;
        const m = oc.length;
        const Jc = obsJc[k]!;
        const jp = obsJp[k]!;
        const w = obsW[k]!;
        for (let a = 0; a < m; a++) {
          let at = where.get(oc[a]!);
          if (at === undefined) {
            at = cols.length;
            where.set(oc[a]!, at);
            cols.push(oc[a]!);
            rows.push([0, 0, 0]);
          }
          for (let c = 0; c < 3; c++) rows[at]![c] += w * (Jc[a]! * jp[c]! + Jc[m + a]! * jp[3 + c]!);
        }
      }
      return { cols, rows };
    });

    let improved = false;
    for (let attempt = 0; attempt < 8 && !improved; attempt++) {
      // Damped system reduced to the cameras: S = Hcc − Σ_p Hcp Hpp⁻¹ Hpc, b = −gc + Σ_p Hcp Hpp⁻¹ gp.
      const S = Float64Array.from(Hcc);
      for (let a = 0; a < nc; a++) S[a * nc + a] += lambda * S[a * nc + a]! + 1e-9;
      const b = gc.map((v) => -v);
      const HppInv = new Float64Array(np * 3);
      for (let p = 0; p < points.length; p++) {
        const po = pointOffset[p]!;
        if (po < 0) continue;
        const block = Hpp.slice(po * 3, po * 3 + 9);
        for (let a = 0; a < 3; a++) block[a * 4] += lambda * block[a * 4]! + 1e-9;
        const inv = invert3(block);
        HppInv.set(inv, po * 3);
        const { cols, rows } = coupling[p]!;
        // T = Hcp Hpp⁻¹ (cols × 3); S −= T Hpc; b += T gp.
        const T = rows.map((row) => [0, 1, 2].map((c) => row[0]! * inv[c]! + row[1]! * inv[3 + c]! + row[2]! * inv[6 + c]!));
        for (let i = 0; i < cols.length; i++) {
          const ti = T[i]!;
          b[cols[i]!] += ti[0]! * gp[po]! + ti[1]! * gp[po + 1]! + ti[2]! * gp[po + 2]!;
          for (let j = 0; j < cols.length; j++) {
            const rj = rows[j]!;
            S[cols[i]! * nc + cols[j]!] -= ti[0]! * rj[0]! + ti[1]! * rj[1]! + ti[2]! * rj[2]!;
          }
        }
      }
      const dc = nc > 0 ? choleskySolve(S, b, nc) : new Float64Array(0);
      if (!dc) {
        lambda *= 10;
        continue;
      }
      // Back-substitution: δp = Hpp⁻¹ (−gp − Hpc δc).
      const dp = new Float64Array(np);
      for (let p = 0; p < points.length; p++) {
        const po = pointOffset[p]!;
        if (po < 0) continue;
        const rhs = [-gp[po]!, -gp[po + 1]!, -gp[po + 2]!];
        const { cols, rows } = coupling[p]!;
        cols.forEach((col, i) => {
          for (let c = 0; c < 3; c++) rhs[c]! -= rows[i]![c]! * dc[col]!;
        });
        for (let c = 0; c < 3; c++)
          dp[po + c] = HppInv[po * 3 + c * 3]! * rhs[0]! + HppInv[po * 3 + c * 3 + 1]! * rhs[1]! + HppInv[po * 3 + c * 3 + 2]! * rhs[2]!;
      }
      const saved = { poses: images.map((im) => im.pose), cams: cameras.map((c) => ({ ...c })), pts: points.map((p) => p) };
      apply(dc, dp);
      const resTry = residuals();
      const costTry = costOf(resTry);
      if (costTry < cost) {
        res = resTry;
        const rel = (cost - costTry) / cost;
        cost = costTry;
        lambda = Math.max(lambda / 10, 1e-12);
        improved = true;
        if (rel < 1e-10) it = iterations;
      } else {
        images.forEach((im, i) => {
          im.pose = saved.poses[i]!;
        });
        cameras.forEach((c, i) => {
          Object.assign(c, saved.cams[i]!);
        });
        saved.pts.forEach((p, i) => {
          points[i] = p;
        });
        lambda *= 10;
      }
    }
    if (!improved) break;
  }
  return { iterations: it, initialRmse, finalRmse: rmse(res) };

  function apply(dc: Float64Array, dp: Float64Array): void {
    images.forEach((im, i) => {
      const io = imageOffset[i]!;
      if (io < 0) return;
      const r = mat3Mul(axisAngleToRotation([dc[io]!, dc[io + 1]!, dc[io + 2]!]), im.pose.r);
      // Translation component a is unknown io + 3 + a, as the Jacobian lays it out; the scale
      // component has no column there (its unknown stays 0) and is left as it is.
      const t = [...im.pose.t] as V3;
      for (let a = 0; a < 3; a++) if (scaleComponent[i] !== a) t[a] += dc[io + 3 + a]!;
      im.pose = { r, t };
    });
    cameras.forEach((c, i) => {
      const co = cameraOffset[i]!;
      if (co < 0) return;
      intrCols.forEach((col, j) => {
        if (col === 0) c.f += dc[co + j]!;
        else c.k1 += dc[co + j]!;
      });
    });
    for (let p = 0; p < points.length; p++) {
      const po = pointOffset[p]!;
      if (po < 0) continue;
      points[p] = [points[p]![0] + dp[po]!, points[p]![1] + dp[po + 1]!, points[p]![2] + dp[po + 2]!];
    }
  }
}

const mat3Apply3 = (r: readonly number[], x: V3): V3 => [
  r[0]! * x[0] + r[1]! * x[1] + r[2]! * x[2],
  r[3]! * x[0] + r[4]! * x[1] + r[5]! * x[2],
  r[6]! * x[0] + r[7]! * x[1] + r[8]! * x[2],
];
const toCam = (pose: Pose, X: V3): V3 => {
  const v = mat3Apply3(pose.r, X);
  return [v[0] + pose.t[0], v[1] + pose.t[1], v[2] + pose.t[2]];
};

/** The inverse of a symmetric positive 3×3 block (row-major), by its adjugate. */
function invert3(m: Float64Array): Float64Array {
  const [a, b, c, d, e, f, g, h, i] = m as unknown as number[];
  const A = e! * i! - f! * h!;
  const B = -(d! * i! - f! * g!);
  const C = d! * h! - e! * g!;
  const det = a! * A + b! * B + c! * C;
  const s = 1 / det;
  return Float64Array.from([
    A * s,
    -(b! * i! - c! * h!) * s,
    (b! * f! - c! * e!) * s,
    B * s,
    (a! * i! - c! * g!) * s,
    -(a! * f! - c! * d!) * s,
    C * s,
    -(a! * h! - b! * g!) * s,
    (a! * e! - b! * d!) * s,
  ]);
}

/** x with S x = b for a symmetric positive definite S (n × n, row-major), or null when it is not. */
function choleskySolve(S: Float64Array, b: Float64Array, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = S[j * n + j]!;
    for (let k = 0; k < j; k++) d -= L[j * n + k]! ** 2;
    if (!(d > 0)) return null;
    const ljj = Math.sqrt(d);
    L[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = S[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      L[i * n + j] = s / ljj;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * n + k]! * y[k]!;
    y[i] = s / L[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * x[k]!;
    x[i] = s / L[i * n + i]!;
  }
  return x;
}
