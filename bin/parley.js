#!/usr/bin/env node
// Runs the compiled CLI; `npm run build` (or `npm start`) compiles it first.
import { main } from '../dist/src/cli.js';

await main(process.argv.slice(2));
