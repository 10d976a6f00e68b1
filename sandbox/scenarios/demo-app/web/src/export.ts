import { isOn, track } from "./analytics";
import { EXPORT_STARTED } from "./events";

export function exportReport(format: "csv" | "xlsx", rows: number) {
  if (format === "csv" && isOn("release_legacy_export_removal")) {
    throw new Error("CSV export was removed; use XLSX");
  }
  const batched = rows > 10_000 && isOn("beta_batched_export");
  track(EXPORT_STARTED, { format, batched });
}
