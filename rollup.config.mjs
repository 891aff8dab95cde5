// Bundles each plugin's front end into the AMD `module.js` Grafana's plugin loader expects.
// Grafana provides React and the @grafana packages at run time, so they stay external.
import esbuild from 'rollup-plugin-esbuild';
import { nodeResolve } from '@rollup/plugin-node-resolve';

const external = (id) =>
  ['react', 'react-dom', 'react/jsx-runtime', 'rxjs', 'lodash', '@emotion/css'].includes(id) ||
  id.startsWith('@grafana/') ||
  id.startsWith('rxjs/');

const plugin = (input, dir) => ({
  input,
  external,
  plugins: [
    nodeResolve({ extensions: ['.ts', '.tsx', '.js'] }),
    esbuild({ target: 'es2020', jsx: 'automatic', minify: true, loaders: { '.ts': 'ts', '.tsx': 'tsx' } }),
  ],
  output: { file: `${dir}/module.js`, format: 'amd', sourcemap: false },
});

const dist = process.env.DIST_DIR || 'dist';

export default [
  plugin('backend/frontend/src/module.ts', `${dist}/pipelinehealth-kafkaflink-datasource`),
  plugin('panel/shim/module.ts', `${dist}/pipelinehealth-topology-panel`),
];
