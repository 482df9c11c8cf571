// Mesh simplification by meshoptimizer (the simplifier glTF tools use): edge collapses that keep
// the shape within an error bound, weighted by the normals so shading survives. Marching cubes
// makes many small, even triangles on flat parts; most of them can go.
import { MeshoptSimplifier } from 'meshoptimizer';

export interface IndexedMesh {
  positions: Float32Array;
  normals: Float32Array;
  indices: Uint32Array;
}

/**
 * The largest deviation a collapse may add, as a share of the mesh's extent. A target the bound
 * does not allow stops short of it: the result's triangle count says what was reached.
 */
export const SIMPLIFY_MAX_ERROR = 0.01;

/** The mesh with about `keep` (0–1] of its triangles, its unused vertices removed. */
export async function simplifyMesh(mesh: IndexedMesh, keep: number): Promise<IndexedMesh> {
  const triangles = mesh.indices.length / 3;
  if (!(keep > 0 && keep < 1) || triangles < 8) return mesh;
  await MeshoptSimplifier.ready;
  const target = Math.max(1, Math.floor(triangles * keep)) * 3;
  const [indices] = MeshoptSimplifier.simplifyWithAttributes(
    mesh.indices,
    mesh.positions,
    3,
    mesh.normals,
    3,
    [0.5, 0.5, 0.5],
    null,
    target,
    SIMPLIFY_MAX_ERROR,
  );
  // New vertex numbers in first-use order; vertices no triangle uses are dropped.
  const [remap, unique] = MeshoptSimplifier.compactMesh(indices);
  const positions = new Float32Array(unique * 3);
  const normals = new Float32Array(unique * 3);
  for (let v = 0; v < remap.length; v++) {
    const to = remap[v]!;
    if (to >= unique) continue;
    for (let c = 0; c < 3; c++) {
      positions[to * 3 + c] = mesh.positions[v * 3 + c]!;
      normals[to * 3 + c] = mesh.normals[v * 3 + c]!;
    }
  }
  return { positions, normals, indices };
}
