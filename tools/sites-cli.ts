/**
 * `npm run sites -- preview|up|destroy --stacks a,b[,...] [--parallel N]`: runs a wave of site
 * stacks (see tools/sites.ts) and prints a summary per site. Exit code 1 when a site failed.
 */
import { cliOption, runCli } from "./cli-args";
import { runWave, WaveOperation, waveTable } from "./sites";

const OPERATIONS: readonly WaveOperation[] = ["preview", "up", "destroy"];

runCli("sites -- preview|up|destroy --stacks a,b [--parallel N]", async (args) => {
    const op = args[0] as WaveOperation;
    if (!OPERATIONS.includes(op)) throw new Error(`operation ${JSON.stringify(args[0])}: expected one of ${OPERATIONS.join(", ")}`);
    const stacks = cliOption(args, "--stacks", true)!.split(",").filter(Boolean);
    const parallel = Number(cliOption(args, "--parallel", false) ?? "1");
    const summaries = await runWave(op, stacks, { parallel, onProgress: (line) => console.log(line) });
    console.log(waveTable(op, summaries));
    if (summaries.some((s) => s.result !== "succeeded")) process.exitCode = 1;
});
