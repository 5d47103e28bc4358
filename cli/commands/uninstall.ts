import { Command } from "commander";
import { DEFAULT_NAME, uninstall } from "../../kernel/install.js";

/** `cluelab uninstall [--user | --prefix DIR] [--name NAME]`: removes the kernelspec. */
export function uninstallCommand(): Command {
  return new Command("uninstall")
    .description("remove the kernelspec written by `cluelab install`")
    .option("--user", "remove it from your Jupyter data folder (the default)")
    .option("--prefix <dir>", "remove it from <dir>/share/jupyter/kernels/")
    .option("--name <name>", "kernel name", DEFAULT_NAME)
    .action((options: { user?: boolean; prefix?: string; name: string }) => {
      process.stdout.write(`removed kernelspec "${options.name}" from ${uninstall(options)}\n`);
    });
}
