// Strivec's placement around the surface (train/strivec-placement.ts): over a forward pass's
// samples, each sample whose blend weight (alpha times transmittance: its share of the pixel's
// colour) reaches `min_weight` marks the nearest point of an occupancy lattice spanning the box.
// Interiors (no light reaches them) and haze (too faint) stay unmarked. Bits are set with atomicOr,
// so the order of threads does not matter.
import { linearId } from '../gpu/wgsl.ts';

export const surfaceMarksShader = /* wgsl */ `
struct Params { to_point: vec4f, dims: vec4u, count: u32, min_weight: f32, }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> samples: array<vec4f>;
@group(0) @binding(2) var<storage, read> counter: array<u32>;
@group(0) @binding(3) var<storage, read> sample_alpha: array<vec2f>;
@group(0) @binding(4) var<storage, read> transmittance: array<f32>;
@group(0) @binding(5) var<storage, read_write> bits: array<atomic<u32>>;
${linearId}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, 64u);
  if (i >= min(counter[0], params.count)) { return; }
  if (sample_alpha[i].x * transmittance[i] < params.min_weight) { return; }
  // Grid coordinates to lattice points (both start at the box's corner), the nearest point.
  let p = vec3i(round(samples[i].xyz * params.to_point.xyz));
  let d = vec3i(params.dims.xyz);
  if (any(p < vec3i(0)) || any(p >= d)) { return; }
  let j = u32((p.z * d.y + p.y) * d.x + p.x);
  atomicOr(&bits[j >> 5u], 1u << (j & 31u));
}
`;
