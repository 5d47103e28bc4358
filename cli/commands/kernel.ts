import { Command } from "commander";

/** `cluelab kernel --connection-file FILE`: runs the kernel (what Jupyter starts). */
export function kernelCommand(): Command {
  return new Command("kernel")
    .description("run the Jupyter kernel (Jupyter starts it through the kernelspec)")
    .requiredOption("-f, --connection-file <file>", "the connection file Jupyter wrote")
    .action(async (options: { connectionFile: string }) => {
      // Loaded here, not at the top: the other subcommands need none of it.
      const { startKernel } = await import("../../kernel/main.js");
      await startKernel({ connectionFile: options.connectionFile });
    });
}
