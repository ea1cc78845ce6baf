#!/usr/bin/env node
// The `iamgate` executable. Commands are listed in ./commands.ts; dispatch is in ./cli.ts.
import { runCli } from './cli.js';
import { createProcessIo } from './io.js';

process.exitCode = await runCli(process.argv.slice(2), createProcessIo());
