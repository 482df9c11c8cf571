// An exclusive prefix sum of u32 values, in place, by one workgroup: each invocation sums a
// contiguous run of values, the 256 run totals are scanned in workgroup memory (Hillis-Steele),
// and each invocation rewrites its run as offsets. Deterministic, unlike bases taken with
// atomicAdd, whose order follows thread timing.

export const PREFIX_SUM_INVOCATIONS = 256;

export const prefixSumWgsl = /* wgsl */ `
struct Params { n: u32, total_index: u32, }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> values: array<u32>;
@group(0) @binding(2) var<storage, read_write> total: array<u32>;
const W: u32 = ${PREFIX_SUM_INVOCATIONS}u;
var<workgroup> runs: array<u32, ${PREFIX_SUM_INVOCATIONS}>;
@compute @workgroup_size(${PREFIX_SUM_INVOCATIONS}) fn main(@builtin(local_invocation_id) lid: vec3u) {
  let t = lid.x;
  let per = (params.n + W - 1u) / W;
  let start = min(t * per, params.n);
  let end = min(start + per, params.n);
  var sum = 0u;
  for (var i = start; i < end; i++) { sum += values[i]; }
  runs[t] = sum;
  workgroupBarrier();
  // Inclusive scan of the run totals.
  for (var step = 1u; step < W; step <<= 1u) {
    var add = 0u;
    if (t >= step) { add = runs[t - step]; }
    workgroupBarrier();
    runs[t] += add;
    workgroupBarrier();
  }
  var at = 0u;
  if (t > 0u) { at = runs[t - 1u]; }
  for (var i = start; i < end; i++) {
    let v = values[i];
    values[i] = at;
    at += v;
  }
  if (t == W - 1u) { total[params.total_index] = runs[W - 1u]; }
}
`;
