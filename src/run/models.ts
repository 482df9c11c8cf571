// Models a user takes away and brings back: a field as model-file bytes (the CLI's --out), and a
// field rebuilt from a model file or a scene file's bytes (the CLI's eval, render and export, the
// studio's and the viewer's scene files).

import { TensorField } from '../field/field.ts';
import { layoutOf } from '../field/layout.ts';
import { maxRankOf } from '../field/rank.ts';
import type { FieldSettings } from '../field/settings.ts';
import { encodeFieldModel } from '../formats/field-model.ts';
import { decodeModel, type ModelData } from '../formats/model-file.ts';
import type { SceneModel } from '../formats/scene-file/header.ts';
import { isSceneFile, readScene } from '../formats/scene-file/reader.ts';
import { type GpuContext, LimitError } from '../gpu/context.ts';

/** The field's trained values as model-file bytes (at its trained rank). */
export async function modelBytes(field: TensorField, info: Record<string, unknown>): Promise<Uint8Array> {
  return encodeFieldModel(field, await field.arena.download(field.ctx), info);
}

function fromModelFile(data: ModelData): SceneModel {
  const h = data.header;
  const mask = h.mask && data.maskBits ? { dims: h.mask.dims, box: h.mask.box, bits: data.maskBits } : null;
  return { settings: h.settings, box: h.box, grid: h.grid, values: data.values, mask, rank: maxRankOf(h.settings) };
}

/** A field on the GPU from a decoded model (a scene file's, or a model file's); errors name `file`. */
export async function fieldFromModel(ctx: GpuContext, m: SceneModel, file: string): Promise<TensorField> {
  let field: TensorField;
  try {
    field = await TensorField.make(ctx, m.settings, m.box, m.grid, 1, m.values);
  } catch (e) {
    if (e instanceof LimitError) throw new LimitError(`${file}: ${e.message}`, e.advice);
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  if (m.mask) field.setMask(m.mask);
  return field;
}

/** A field from a model file's or a scene file's bytes (told apart by their magic), with the file's info (training facts). */
export async function fieldFromBytes(ctx: GpuContext, bytes: Uint8Array, file: string): Promise<{ field: TensorField; info: Record<string, unknown> }> {
  if (isSceneFile(bytes)) {
    const { header, model } = readScene(bytes, file);
    return { field: await fieldFromModel(ctx, model, file), info: header.info };
  }
  const data = decodeModel(bytes, file);
  return { field: await fieldFromModel(ctx, fromModelFile(data), file), info: data.header.info };
}

/** How the front ends name a model's kind ("VM", "CP", "Strivec"). */
export function layoutLabel(s: Pick<FieldSettings, 'kind'>): string {
  return layoutOf(s.kind).label;
}
