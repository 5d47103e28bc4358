#!/usr/bin/env node
/**
 * The `cluelab` command: wiring only. Each subcommand lives in its own module under commands/.
 *
 * Start-up stays light, because Jupyter starts `cluelab kernel` for every notebook and loading
 * TensorFlow.js alone takes about a second: every command module is imported here, so its top
 * level imports only `commander` and light constants (`import type` for the rest), and its
 * action loads the implementation with `await import(...)`. For example:
 *
 *     .action(async (options) => {
 *       const { doctor } = await import("../../lib/engine/index.js");
 *       ...
 *     });
 *
 * test/kernel/install.test.ts fails when `cluelab --help` loads TensorFlow.js.
 */
import { Command, CommanderError } from "commander";
import { createRequire } from "node:module";
import { ablateCommand } from "./commands/ablate.js";
import { dataCommand } from "./commands/data.js";
import { buildNativeCommand } from "./commands/build-native.js";
import { demoCommand } from "./commands/demo.js";
import { doctorCommand } from "./commands/doctor.js";
import { installCommand } from "./commands/install.js";
import { kernelCommand } from "./commands/kernel.js";
import { trainCommand } from "./commands/train.js";
import { uninstallCommand } from "./commands/uninstall.js";

const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };

const program = new Command("cluelab")
  .description("A Jupyter kernel for TypeScript research, with CLUENet and deep clustering on TensorFlow.js")
  .version(version, "-v, --version")
  .showHelpAfterError("(run `cluelab --help` for the list of commands)")
  .exitOverride();

program.addCommand(doctorCommand());
program.addCommand(demoCommand());
program.addCommand(dataCommand());
program.addCommand(installCommand());
program.addCommand(uninstallCommand());
program.addCommand(kernelCommand());
program.addCommand(buildNativeCommand());
program.addCommand(trainCommand());
program.addCommand(ablateCommand());

// addCommand does not pass the program's help hint on: every subcommand names its own help
// ("Did you mean …?" suggestions are commander's default everywhere).
(function hintHelp(commands: readonly Command[], path: string): void {
  for (const command of commands) {
    const name = `${path} ${command.name()}`;
    command.showHelpAfterError(`(run \`${name} --help\` for its options)`);
    hintHelp(command.commands, name);
  }
})(program.commands, "cluelab");

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander already printed the message (and the help hint); help and version exit 0.
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`cluelab: ${error instanceof Error ? error.message : String(error)}\n`);
    if (process.env.CLUELAB_DEBUG && error instanceof Error && error.stack) process.stderr.write(error.stack + "\n");
    process.exitCode = 1;
  }
}
