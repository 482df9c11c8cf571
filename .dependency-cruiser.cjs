// The layer rules of docs/ARCHITECTURE.md, checked in CI (`npm run lint`). Stages, in data-flow
// order, may import only stages below them; the front ends drive the engine through run/ and
// view/; nothing in the engine imports a front end, React, three.js or the studio's libraries.
const ENGINE = '^src/(job|gpu|camera|data|sfm|rays|shading|field|render|train|compress|eval|formats|export|run)/';
const FRONT_ENDS = '^src/(cli|ui|viewer|view)/';

/** A stage may import only from the stages listed beside it (and itself). */
const allowed = {
  job: [],
  gpu: ['job'],
  camera: ['job', 'gpu'],
  data: ['job', 'gpu', 'camera'],
  sfm: ['job', 'gpu', 'camera', 'data'],
  rays: ['job', 'gpu', 'camera', 'data'],
  shading: ['job', 'gpu'],
  field: ['job', 'gpu', 'camera', 'data', 'shading'],
  render: ['job', 'gpu', 'camera', 'data', 'rays', 'shading', 'field'],
  train: ['job', 'gpu', 'camera', 'data', 'rays', 'shading', 'field', 'render'],
  compress: ['job', 'gpu', 'camera', 'data', 'rays', 'shading', 'field', 'render', 'train'],
  eval: ['job', 'gpu', 'camera', 'data', 'rays', 'shading', 'field', 'render', 'compress', 'formats'],
  formats: ['job', 'gpu', 'camera', 'data', 'shading', 'field', 'train', 'compress'],
  export: ['job', 'gpu', 'camera', 'data', 'rays', 'shading', 'field', 'render'],
  run: ['job', 'gpu', 'camera', 'data', 'sfm', 'rays', 'shading', 'field', 'render', 'train', 'compress', 'eval', 'formats', 'export'],
  view: ['job', 'gpu', 'camera', 'data', 'sfm', 'rays', 'shading', 'field', 'render', 'train', 'compress', 'eval', 'formats', 'export', 'run'],
};
const stages = Object.keys(allowed);

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Import cycles make the layers meaningless.', from: {}, to: { circular: true } },
    ...stages.map((stage) => ({
      name: `stage-${stage}`,
      severity: 'error',
      comment: `${stage}/ may import only ${allowed[stage].join(', ') || 'nothing of the project'} (docs/ARCHITECTURE.md, "Stages")`,
      from: { path: `^src/${stage}/` },
      to: { path: '^src/', pathNot: [`^src/(${[stage, ...allowed[stage]].join('|')})/`] },
    })),
    {
      name: 'formats-only-above-run',
      severity: 'error',
      comment: 'Below run/, only the rank curve may know the file formats (the size of a model at a rank).',
      from: { path: '^src/(job|gpu|camera|data|sfm|rays|shading|field|render|train|compress|eval)/', pathNot: '^src/eval/rank-curve\\.ts$' },
      to: { path: '^src/formats/' },
    },
    {
      name: 'engine-not-front-ends',
      severity: 'error',
      comment: 'The engine never imports a front end or the DOM helpers.',
      from: { path: ENGINE },
      to: { path: FRONT_ENDS },
    },
    {
      name: 'engine-no-ui-libraries',
      severity: 'error',
      comment: 'The engine runs in Node too: no React, three.js, charts or state stores.',
      from: { path: '^src/(job|gpu|camera|data|sfm|rays|shading|field|render|train|compress|eval|formats|export|run|view)/' },
      to: { path: 'node_modules/(react|react-dom|three|@react-three|uplot|zustand)/' },
    },
    {
      name: 'ui-through-run-and-view',
      severity: 'error',
      comment: 'The studio and the viewer drive the engine only through run/ and view/ (plus the file formats, the data types and the browser file input).',
      from: { path: '^src/(ui|viewer)/' },
      to: {
        path: '^src/(gpu|camera|data|sfm|rays|shading|field|render|train|compress|eval|export)/',
        pathNot: '^src/data/(types|browser-files)\\.ts$',
      },
    },
    {
      name: 'no-front-end-crossing',
      severity: 'error',
      comment: 'Front ends do not import each other; what they share lives in view/ or run/.',
      from: { path: '^src/(cli|ui|viewer)/' },
      to: { path: '^src/(cli|ui|viewer)/', pathNot: '^src/$1/' },
    },
    {
      name: 'cli-node-only',
      severity: 'error',
      comment: 'Node modules stay out of the browser bundle.',
      from: {
        path: '^src/(job|gpu|camera|sfm|rays|shading|field|render|train|compress|eval|formats|export|run|view|ui|viewer)/',
        pathNot: '^src/gpu/node\\.ts$',
      },
      to: { dependencyTypes: ['core'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count like any other: types follow the layers too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^dist/' },
  },
};
