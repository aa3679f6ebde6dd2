/**
 * `npm run precheck -- --stack SITE`: runs the read-only checks of every topology of the site
 * against its live hosts, without the engine and without changing anything (no lock, no journal
 * line), and prints each check's verdict. Exit code 0 when all pass, 1 when one fails.
 */
import { cliOption, runCli } from "./cli-args";
import { runPrechecks } from "./prechecks";

runCli("precheck -- --stack SITE", async (args) => {
    const stackName = cliOption(args, "--stack", true)!;
    const results = await runPrechecks(stackName, (r) => {
        console.log(`${r.passed ? "PASS" : "FAIL"}  ${r.component}/${r.step} on ${r.host}: ${r.summary}`);
        for (const line of r.output.trim().split("\n").filter(Boolean)) console.log(`      ${line}`);
    });
    const failed = results.checks.filter((r) => !r.passed);
    for (const t of results.without) console.log(`note  ${t}: no read-only checks to run before the window`);
    console.log(failed.length === 0
        ? `precheck ${stackName}: all ${results.checks.length} checks pass: the change would pass its pre-checks now`
        : `precheck ${stackName}: ${failed.length} of ${results.checks.length} checks failed: ${failed.map((r) => `${r.component}/${r.step} on ${r.host}`).join(", ")}`);
    if (failed.length) process.exitCode = 1;
});
