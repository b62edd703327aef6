// The web console's build (docs/console.md): static files under dist/apps/console, served by api-gateway at /console/.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: '../../dist/apps/console',
    emptyOutDir: true,
    // the gateway's CSP allows no inline script or style: every asset is a file
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
