// The surface as binary glTF (.glb), written with glTF-Transform (@gltf-transform/core): one mesh
// with positions, normals and vertex colours, an unlit-looking rough material so the colours show
// as they are. glTF is y-up: our z-up world turns (x, y, z) -> (x, z, -y).
import { Document, WebIO } from '@gltf-transform/core';
import type { Surface } from './surface.ts';

function yUp(a: Float32Array): Float32Array<ArrayBuffer> {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i += 3) {
    out[i] = a[i]!;
    out[i + 1] = a[i + 2]!;
    out[i + 2] = -a[i + 1]!;
  }
  return out;
}

export async function meshGlb(s: Surface, name = 'slimfield-mesh'): Promise<Uint8Array> {
  const doc = new Document();
  doc.getRoot().getAsset().generator = 'Slimfield';
  const buffer = doc.createBuffer();
  const n = s.positions.length / 3;
  const colours = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) colours.set([s.colors[i * 3]!, s.colors[i * 3 + 1]!, s.colors[i * 3 + 2]!, 255], i * 4);
  const primitive = doc
    .createPrimitive()
    .setAttribute('POSITION', doc.createAccessor().setType('VEC3').setArray(yUp(s.positions)).setBuffer(buffer))
    .setAttribute('NORMAL', doc.createAccessor().setType('VEC3').setArray(yUp(s.normals)).setBuffer(buffer))
    .setAttribute('COLOR_0', doc.createAccessor().setType('VEC4').setArray(colours).setNormalized(true).setBuffer(buffer))
    .setIndices(doc.createAccessor().setType('SCALAR').setArray(new Uint32Array(s.indices)).setBuffer(buffer))
    .setMaterial(doc.createMaterial('surface').setMetallicFactor(0).setRoughnessFactor(1));
  const mesh = doc.createMesh(name).addPrimitive(primitive);
  doc.createScene('scene').addChild(doc.createNode(name).setMesh(mesh));
  return new WebIO().writeBinary(doc);
}
