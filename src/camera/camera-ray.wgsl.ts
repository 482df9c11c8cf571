// The one pixel-to-ray mapping of every kernel, in WGSL, beside its f64 twin (camera-ray.ref.ts).
import { rayStruct, sinCos } from '../gpu/wgsl.ts';

/**
 * A camera: intrinsics (fx, fy, cx, cy), the OpenCV camera-to-world rows, and its lens: OpenCV's
 * model (dist = k1 k2 p1 p2, dist2 = the rational k3 k4 k5 k6 of FULL_OPENCV; zeros for none) or,
 * when lens.x is 1, OpenCV's fisheye (equidistant) model (dist = k1 k2 k3 k4). CAMERA_FLOATS on
 * the host (rays/gpu-split.ts packs them). `camera_ray` is the one pixel-to-ray mapping of every
 * kernel; camera-ray.ref.ts is its f64 twin, lens.ts the lens models' forward directions.
 */
export const cameraRay = /* wgsl */ `
struct Cam { k: vec4f, r0: vec4f, r1: vec4f, r2: vec4f, dist: vec4f, dist2: vec4f, lens: vec4f, }
${rayStruct}
${sinCos}
// Normalized image point of a distorted one: fixed-point iteration on OpenCV's model, as
// OpenCV's undistortPoints does (phone lenses converge in a few steps).
fn undistort_opencv(pd: vec2f, c: vec4f, c2: vec4f) -> vec2f {
  if (all(c == vec4f(0.0)) && all(c2 == vec4f(0.0))) { return pd; }
  var p = pd;
  for (var i = 0; i < 10; i++) {
    let r2 = dot(p, p);
    let radial = (1.0 + r2 * (c.x + r2 * (c.y + r2 * c2.x))) / (1.0 + r2 * (c2.y + r2 * (c2.z + r2 * c2.w)));
    let tangential = vec2f(2.0 * c.z * p.x * p.y + c.w * (r2 + 2.0 * p.x * p.x),
                           c.z * (r2 + 2.0 * p.y * p.y) + 2.0 * c.w * p.x * p.y);
    p = (pd - tangential) / radial;
  }
  return p;
}
// The fisheye model maps the angle theta from the axis to theta_d = theta (1 + k1 theta^2 + ...
// + k4 theta^8) at radius theta_d in the normalized image: Newton's method finds theta (as
// OpenCV's fisheye::undistortPoints), and the point on the z = 1 plane is at radius tan(theta).
fn undistort_fisheye(pd: vec2f, k: vec4f) -> vec2f {
  let theta_d = min(length(pd), 1.5707963);
  if (theta_d < 1e-8) { return pd; }
  var theta = theta_d;
  for (var i = 0; i < 10; i++) {
    let t2 = theta * theta;
    let f = theta * (1.0 + t2 * (k.x + t2 * (k.y + t2 * (k.z + t2 * k.w)))) - theta_d;
    let df = 1.0 + t2 * (3.0 * k.x + t2 * (5.0 * k.y + t2 * (7.0 * k.z + t2 * 9.0 * k.w)));
    theta = theta - f / df;
  }
  let sc = sin_cos(theta);
  return pd * (sc.x / sc.y / length(pd));
}
// Pixel centres at +0.5; unit-length directions so t is a world distance (notes 1.1).
fn camera_ray(cam: Cam, px: f32, py: f32) -> Ray {
  let pd = vec2f((px + 0.5 - cam.k.z) / cam.k.x, (py + 0.5 - cam.k.w) / cam.k.y);
  var p: vec2f;
  if (cam.lens.x == 1.0) { p = undistort_fisheye(pd, cam.dist); } else { p = undistort_opencv(pd, cam.dist, cam.dist2); }
  let dc = normalize(vec3f(p, 1.0));
  let d = vec3f(dot(cam.r0.xyz, dc), dot(cam.r1.xyz, dc), dot(cam.r2.xyz, dc));
  return Ray(vec4f(cam.r0.w, cam.r1.w, cam.r2.w, 0.0), vec4f(d, 0.0), vec4f(0.0));
}
`;
export const CAMERA_FLOATS = 28;
