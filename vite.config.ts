import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

// Multi-page build: every HTML entry listed here that exists becomes a page in dist/.
// index.html is the studio; viewer.html (a standalone model viewer) will be added later.
const pages = ['index', 'viewer'];
const input = Object.fromEntries(pages.filter((p) => existsSync(`${root}${p}.html`)).map((p) => [p, `${root}${p}.html`]));

/**
 * Nothing leaves the user's machine: both pages carry a Content-Security-Policy that lets them load
 * and connect only to their own origin (blob: and data: for images and downloads made in the
 * page). Styles may be inline (React and the viewer set them; they fetch nothing). The dev server
 * also needs its inline React-refresh preamble and its HMR socket. 'wasm-unsafe-eval' lets the page
 * compile WebAssembly it carries itself (meshoptimizer's simplifier, embedded in the bundle); it
 * allows no JavaScript eval and no fetch.
 */
function contentSecurityPolicy(dev: boolean): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'wasm-unsafe-eval'${dev ? " 'unsafe-inline'" : ''}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' blob: data:",
    "media-src 'self' blob:",
    "font-src 'self'",
    `connect-src 'self'${dev ? ' ws://localhost:* ws://127.0.0.1:*' : ''}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** Puts the policy first in every page's head, before anything it could govern. */
function cspPlugin(): Plugin {
  return {
    name: 'slimfield-csp',
    transformIndexHtml: {
      order: 'post',
      handler: (_html, ctx) => [
        { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: contentSecurityPolicy(!!ctx.server) }, injectTo: 'head-prepend' },
      ],
    },
  };
}

export default defineConfig({
  root,
  plugins: [react(), cspPlugin()],
  // The posing worker is a module worker: its rarely needed parts (libheif, 2 MB) load on first use.
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    rolldownOptions: { input },
    // three.js alone is ~700 kB minified; it is loaded lazily, only once WebGPU is confirmed.
    chunkSizeWarningLimit: 1000,
  },
  server: { host: '127.0.0.1' },
});
