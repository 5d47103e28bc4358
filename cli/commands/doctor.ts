import { Command } from "commander";
import { BACKEND_NAMES } from "../../lib/engine/backends/types.js";
import type { DoctorReport } from "../../lib/engine/index.js";

/** `cluelab doctor [--json]`: which compute backends load here, why not, and which is selected. */
export function doctorCommand(): Command {
  return new Command("doctor")
    .description("report which compute backends load on this machine, why the others do not, and which is selected")
    .option("--json", "print one JSON object instead of a table")
    .action(async (options: { json?: boolean }) => {
      const { doctor } = await import("../../lib/engine/index.js");
      const report = await doctor();
      process.stdout.write(options.json ? JSON.stringify(report, null, 2) + "\n" : formatReport(report));
      if (report.selected === null) process.exitCode = 1;
    });
}

export function formatReport(report: DoctorReport): string {
  const lines: string[] = [];
  const m = report.machine;
  lines.push(`machine   ${m.cpu}, ${m.cores} cores, ${m.platform}-${m.arch}, Node ${report.versions.node}`);
  lines.push(`selected  ${report.selected ?? "none"}${report.requested ? ` (CLUELAB_BACKEND=${report.requested})` : " (automatic)"}`);
  if (report.selectionError) lines.push(`          ${report.selectionError}`);
  lines.push("");
  for (const b of report.backends) {
    const mark = b.name === report.selected ? "*" : b.loaded ? "+" : "-";
    lines.push(`${mark} ${b.name.padEnd(11)} ${b.loaded ? "loaded    " : "not loaded"}  ${b.device ?? ""}`);
    if (b.reason) lines.push(`  ${"".padEnd(11)} ${b.reason}`);
  }
  lines.push("");
  lines.push(
    "versions  " +
      Object.entries(report.versions)
        .filter(([k]) => k !== "node")
        .map(([k, v]) => `${k} ${v}`)
        .join(", "),
  );
  lines.push(`(* selected, + loads, - does not load; CLUELAB_BACKEND=${BACKEND_NAMES.join("|")} forces one)`);
  return lines.join("\n") + "\n";
}
