/**
 * CSV files that list images: a header row naming (at least) a file column and a label column,
 * parsed with csv-parse (RFC 4180 quoting).
 *
 * @packageDocumentation
 */
import { readFile } from "node:fs/promises";
import { parse } from "csv-parse/sync";
import { DataError } from "../errors.js";

/** One listed image: its file name (relative to the images folder) and label string. */
export interface CsvRow {
  file: string;
  label: string;
  /** 1-based line number, for messages. */
  line: number;
}

/**
 * Reads `file`'s rows. `fileColumn` and `labelColumn` name header columns (default `filename` and
 * `label`, Mini-ImageNet's).
 */
export async function readImageCsv(file: string, fileColumn = "filename", labelColumn = "label"): Promise<CsvRow[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new DataError(`cannot read (${(error as NodeJS.ErrnoException).code})`, file);
  }
  let records: string[][];
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: false, trim: true }) as string[][];
  } catch (error) {
    throw new DataError(`not a valid CSV file (${(error as Error).message})`, file);
  }
  const header = records[0];
  if (!header) throw new DataError(`is empty (expected a header row with "${fileColumn}" and "${labelColumn}" columns)`, file);
  const fi = header.indexOf(fileColumn);
  const li = header.indexOf(labelColumn);
  if (fi < 0 || li < 0) {
    throw new DataError(`the header row has columns ${header.map((h) => `"${h}"`).join(", ")}; expected "${fileColumn}" and "${labelColumn}"`, file);
  }
  return records.slice(1).map((r, k) => {
    const row = { file: r[fi]!, label: r[li]!, line: k + 2 };
    if (!row.file || !row.label) throw new DataError(`line ${row.line} has an empty ${!row.file ? fileColumn : labelColumn}`, file);
    return row;
  });
}
