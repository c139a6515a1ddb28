import { defineConfig } from 'vite';

// React without @vitejs/plugin-react: esbuild compiles JSX (no fast refresh, which the
// production build does not need). No inline scripts or styles, so the gateway's
// Content-Security-Policy can forbid them; hashed file names under assets/.
export default defineConfig({
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
  },
  server: { proxy: { '/api': 'http://127.0.0.1:5000', '/v2': 'http://127.0.0.1:5000' } },
});
