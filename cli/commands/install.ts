import { Command } from "commander";
import { DEFAULT_DISPLAY_NAME, DEFAULT_NAME, install } from "../../kernel/install.js";

/** `cluelab install [--user | --prefix DIR] [--name NAME] [--display-name TEXT]`: writes the kernelspec. */
export function installCommand(): Command {
  return new Command("install")
    .description("register the TypeScript kernel with Jupyter (writes a kernelspec; no Python needed)")
    .option("--user", "install into your Jupyter data folder (the default)")
    .option("--prefix <dir>", "install into <dir>/share/jupyter/kernels/ (e.g. a virtualenv or conda prefix)")
    .option("--name <name>", "kernel name", DEFAULT_NAME)
    .option("--display-name <text>", "name shown in Jupyter's kernel list", DEFAULT_DISPLAY_NAME)
    .action((options: { user?: boolean; prefix?: string; name: string; displayName: string }) => {
      const { directory } = install(options);
      process.stdout.write(`installed kernelspec "${options.name}" (${options.displayName}) in ${directory}\n`);
    });
}
