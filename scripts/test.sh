#!/usr/bin/env bash
# The whole suite: type check, lint and layer rules, unit tests (Node + Dawn on SwiftShader), then browser end-to-end
# tests (Vite dev server + Debian's chromium with WebGPU on SwiftShader).
set -euo pipefail
cd "$(dirname "$0")/.."

stage() {
  printf '\n==================== %s ====================\n' "$1"
}

stage 'typecheck: tsc --noEmit'
npx tsc --noEmit -p .

stage 'lint: npm run lint (Biome, and the layer rules of docs/ARCHITECTURE.md)'
npm run lint

stage 'unit tests: npm run test:unit'
npm run test:unit

stage 'end-to-end tests: npm run test:e2e'
npm run test:e2e

stage 'all tests passed'
