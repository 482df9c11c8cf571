// Render speed of a trained model at several ranks (src/eval/render-speed.ts), as a Markdown
// table. `npm run bench` runs it on the SlimmeRF model it trains; standalone:
//
//   node scripts/with-swiftshader.mjs node --import tsx bench/render-speed.ts --model lego.slim [--size 800] [--ranks 1,4,8,16]
import { parseArgs } from 'node:util';
import { loadModel } from '../src/cli/node-io.ts';
import { type RenderSpeedRow, renderSpeed } from '../src/eval/render-speed.ts';

/** The rows as a Markdown table. */
export function renderSpeedTable(rows: RenderSpeedRow[], adapter: string): string {
  const lines = ['| rank | view | ms | megapixels/s | submissions | blocking readbacks | adapter |', '|---|---|---|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.rank} | ${r.size}×${r.size} | ${r.ms} | ${r.megapixelsPerSecond} | ${r.submissions} | ${r.readbacks} | ${adapter} |`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { model: { type: 'string' }, size: { type: 'string' }, ranks: { type: 'string' } } });
  if (!values.model) throw new Error('usage: --model FILE [--size 800] [--ranks 1,4,8,16]');
  const { nodeGpu } = await import('../src/gpu/node.ts');
  const ctx = await nodeGpu();
  const { field } = await loadModel(ctx, values.model);
  const rows = await renderSpeed(ctx, field, (values.ranks ?? '1,4,8,16').split(',').map(Number), Number(values.size ?? 800));
  for (const r of rows) console.log(JSON.stringify(r));
  console.log(`\n${renderSpeedTable(rows, ctx.adapter.label)}`);
}
