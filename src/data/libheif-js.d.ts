// libheif-js ships types for its classic build only; its ES module bundle (the wasm inlined) exports a factory.
declare module 'libheif-js/libheif-wasm/libheif-bundle.mjs' {
  const factory: (options?: Record<string, unknown>) => unknown;
  export default factory;
}
