import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

// Multi-page build: every HTML entry listed here that exists becomes a page in dist/.
// index.html is the studio; viewer.html (a standalone model viewer) will be added later.
const pages = ['index', 'viewer'];
const input = Object.fromEntries(pages.filter((p) => existsSync(`${root}${p}.html`)).map((p) => [p, `${root}${p}.html`]));

export default defineConfig({
  root,
  plugins: [react()],
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
