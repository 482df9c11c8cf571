// The viewport's 3D preview: a wireframe unit box standing for the scene AABB, turning slowly,
// with drag-to-orbit. Loaded lazily by App so three.js stays out of the initial bundle.

import { Canvas, useFrame } from '@react-three/fiber';
import { type RefObject, useRef } from 'react';
import * as THREE from 'three';

interface Orbit {
  yaw: number;
  pitch: number;
  dragging: boolean;
  lastX: number;
  lastY: number;
}

export default function SceneCanvas() {
  const orbit = useRef<Orbit>({ yaw: 0.6, pitch: 0.45, dragging: false, lastX: 0, lastY: 0 });
  return (
    <div
      className="canvas-wrap"
      onPointerDown={(e) => {
        const o = orbit.current;
        o.dragging = true;
        o.lastX = e.clientX;
        o.lastY = e.clientY;
        e.currentTarget.setPointerCapture(e.pointerId);
      }}
      onPointerMove={(e) => {
        const o = orbit.current;
        if (!o.dragging) return;
        o.yaw -= (e.clientX - o.lastX) * 0.008;
        o.pitch = Math.max(-1.4, Math.min(1.4, o.pitch + (e.clientY - o.lastY) * 0.008));
        o.lastX = e.clientX;
        o.lastY = e.clientY;
      }}
      onPointerUp={(e) => {
        orbit.current.dragging = false;
        e.currentTarget.releasePointerCapture(e.pointerId);
      }}
      onPointerCancel={() => {
        orbit.current.dragging = false;
      }}
    >
      <Canvas camera={{ position: [0, 0, 3.2], fov: 45 }} dpr={[1, 2]} gl={{ antialias: true }}>
        <color attach="background" args={['#0d1117']} />
        <OrbitRig orbit={orbit} />
        <SceneBounds />
      </Canvas>
    </div>
  );
}

/** Slow turntable plus drag orbit around the origin. */
function OrbitRig({ orbit }: { orbit: RefObject<Orbit> }) {
  useFrame(({ camera }, delta) => {
    const o = orbit.current;
    if (!o.dragging) o.yaw += delta * 0.25;
    const r = 3.2;
    camera.position.set(r * Math.cos(o.pitch) * Math.sin(o.yaw), r * Math.sin(o.pitch), r * Math.cos(o.pitch) * Math.cos(o.yaw));
    camera.lookAt(0, 0, 0);
  });
  return null;
}

const boxEdges = new THREE.EdgesGeometry(new THREE.BoxGeometry(1, 1, 1));

/** A wireframe unit box standing for the scene's AABB, with a floor grid and axes. */
function SceneBounds() {
  return (
    <group>
      <lineSegments geometry={boxEdges}>
        <lineBasicMaterial color="#7cc4ff" />
      </lineSegments>
      <mesh>
        <boxGeometry args={[1, 1, 1]} />
        <meshBasicMaterial color="#2f81f7" transparent opacity={0.06} depthWrite={false} />
      </mesh>
      <gridHelper args={[4, 16, '#30363d', '#1f242c']} position={[0, -0.5, 0]} />
      <axesHelper args={[0.75]} />
    </group>
  );
}
