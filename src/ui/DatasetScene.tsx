// The dataset view's 3D scene (react-three-fiber): every camera as a frustum with its photo on
// the image plane, the capture's sparse points (COLMAP's) in their colours, the scene box, and
// orbit / pan / zoom controls. Rendered on demand only (a
// change or an interaction), so it takes no CPU or GPU time from training while it is still.

import { OrbitControls } from '@react-three/drei';
import { Canvas } from '@react-three/fiber';
import { useEffect, useMemo } from 'react';
import * as THREE from 'three';
import type { Dataset, PosedView } from '../data/types.ts';
import type { RenderedView } from '../view/view-images.ts';
import { cameraSpread, frustumCorners, frustumLines, type SceneBox } from './dataset-geometry.ts';

const TRAIN_COLOUR = '#58a6ff';
const TEST_COLOUR = '#f0883e';
const SELECTED_COLOUR = '#ffd33d';
const BOX_COLOUR = '#3fb950';
const REFINED_COLOUR = '#d2a8ff';
/** Frustum depth as a share of the cameras' distance from the box centre. */
const FRUSTUM_SHARE = 0.12;

export interface DatasetSceneProps {
  train: readonly PosedView[];
  test: readonly PosedView[];
  /** Thumbnails of the training photos (null: drawn as an outline only). */
  thumbs: readonly (RenderedView | null)[];
  box: SceneBox;
  /** Sparse points of the capture, or null. */
  points: Dataset['points'] | null;
  /** Pose refinement's cameras (empty without refinement), drawn beside the given ones. */
  refined: readonly PosedView[];
  selected: number;
  onSelect: (index: number) => void;
}

export default function DatasetScene({ train, test, thumbs, box, points, refined, selected, onSelect }: DatasetSceneProps) {
  const spread = cameraSpread(train, box);
  const depth = FRUSTUM_SHARE * spread;
  const centre = box[0].map((lo, i) => (lo + box[1][i]!) / 2) as [number, number, number];
  // The view starts outside the camera ring, looking at the box centre, z up (as the datasets).
  // biome-ignore lint/correctness/useExhaustiveDependencies: only a new dataset moves the view; editing the box does not.
  const start = useMemo(() => {
    const d = 3.2 * spread;
    return [centre[0] + 0.62 * d, centre[1] + 0.62 * d, centre[2] + 0.48 * d] as [number, number, number];
  }, [train]);
  return (
    <div
      className="dataset-canvas"
      data-testid="dataset-3d"
      data-frustums={train.length + test.length}
      data-points={points ? points.xyz.length / 3 : 0}
      data-box={box.flat().join(',')}
      data-refined={refined.length}
    >
      <Canvas frameloop="demand" flat dpr={[1, 2]} camera={{ position: start, up: [0, 0, 1], fov: 45, near: 0.01 * spread, far: 100 * spread }}>
        <color attach="background" args={['#0d1117']} />
        <OrbitControls makeDefault target={centre} enableDamping={false} />
        <Frustums cams={train} depth={depth} colour={TRAIN_COLOUR} />
        <Frustums cams={test} depth={depth} colour={TEST_COLOUR} />
        <Frustums cams={refined} depth={depth} colour={REFINED_COLOUR} />
        {train[selected] && <Frustums cams={[train[selected]]} depth={depth * 1.5} colour={SELECTED_COLOUR} />}
        {train.map((cam, i) =>
          // biome-ignore lint/suspicious/noArrayIndexKey: a dataset's cameras never change order: the index is the view.
          thumbs[i] ? <ImagePlane key={i} cam={cam} depth={depth} view={thumbs[i]} onClick={() => onSelect(i)} /> : null,
        )}
        {points && <SparsePoints points={points} size={0.004 * spread} />}
        <BoxOutline box={box} />
        <gridHelper args={[4 * spread, 16, '#30363d', '#1f242c']} position={[centre[0], centre[1], box[0][2]]} rotation={[Math.PI / 2, 0, 0]} />
      </Canvas>
    </div>
  );
}

function SparsePoints({ points, size }: { points: NonNullable<Dataset['points']>; size: number }) {
  const geometry = useMemo(() => {
    const g = new THREE.BufferGeometry();
    g.setAttribute('position', new THREE.BufferAttribute(points.xyz, 3));
    g.setAttribute('color', new THREE.BufferAttribute(points.rgb, 3, true));
    return g;
  }, [points]);
  useEffect(() => () => geometry.dispose(), [geometry]);
  return (
    <points geometry={geometry}>
      <pointsMaterial size={size} vertexColors toneMapped={false} />
    </points>
  );
}

function Frustums({ cams, depth, colour }: { cams: readonly PosedView[]; depth: number; colour: string }) {
  const geometry = useMemo(() => {
    const g = new THREE.BufferGeometry();
    g.setAttribute('position', new THREE.BufferAttribute(frustumLines(cams, depth), 3));
    return g;
  }, [cams, depth]);
  useEffect(() => () => geometry.dispose(), [geometry]);
  if (cams.length === 0) return null;
  return (
    <lineSegments geometry={geometry}>
      <lineBasicMaterial color={colour} />
    </lineSegments>
  );
}

/** A camera's photo on its image plane at the frustum's far end. */
function ImagePlane({ cam, depth, view, onClick }: { cam: PosedView; depth: number; view: RenderedView; onClick: () => void }) {
  const { geometry, texture } = useMemo(() => {
    const g = new THREE.BufferGeometry();
    g.setAttribute('position', new THREE.BufferAttribute(new Float32Array(frustumCorners(cam, depth).flat()), 3));
    // A data texture's first row is at v = 0, and the first image row is the top edge.
    g.setAttribute('uv', new THREE.BufferAttribute(new Float32Array([0, 0, 1, 0, 1, 1, 0, 1]), 2));
    g.setIndex([0, 1, 2, 0, 2, 3]);
    const t = new THREE.DataTexture(view.rgba, view.width, view.height, THREE.RGBAFormat);
    t.colorSpace = THREE.SRGBColorSpace;
    t.magFilter = THREE.LinearFilter;
    t.needsUpdate = true;
    return { geometry: g, texture: t };
  }, [cam, depth, view]);
  useEffect(
    () => () => {
      geometry.dispose();
      texture.dispose();
    },
    [geometry, texture],
  );
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: a three.js mesh (react-three-fiber), not a DOM element.
    <mesh
      geometry={geometry}
      onClick={(e) => {
        e.stopPropagation();
        onClick();
      }}
    >
      <meshBasicMaterial map={texture} side={THREE.DoubleSide} toneMapped={false} />
    </mesh>
  );
}

function BoxOutline({ box }: { box: SceneBox }) {
  const size = box[1].map((hi, i) => hi - box[0][i]!) as [number, number, number];
  const centre = box[0].map((lo, i) => (lo + box[1][i]!) / 2) as [number, number, number];
  const edges = useMemo(() => new THREE.EdgesGeometry(new THREE.BoxGeometry(...size)), [size[0], size[1], size[2]]);
  useEffect(() => () => edges.dispose(), [edges]);
  return (
    <group position={centre}>
      <lineSegments geometry={edges}>
        <lineBasicMaterial color={BOX_COLOUR} />
      </lineSegments>
      <mesh>
        <boxGeometry args={size} />
        <meshBasicMaterial color={BOX_COLOUR} transparent opacity={0.07} depthWrite={false} />
      </mesh>
    </group>
  );
}
