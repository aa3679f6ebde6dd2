/**
 * `npm run approve -- --stack SITE [--dir DIR]`: previews the site's change, saves Pulumi's
 * update plan and writes the change report for the ticket (see tools/approval.ts).
 */
import { approve } from "./approval";
import { cliOption, runCli } from "./cli-args";

runCli("approve -- --stack SITE [--dir DIR]", async (args) => {
    const a = await approve(cliOption(args, "--stack", true)!, {
        dir: cliOption(args, "--dir", false),
        onOutput: (text) => process.stderr.write(text),
    });
    process.stdout.write(a.report);
    console.log(`\nreport: ${a.reportFile}\nplan:   ${a.planFile} (SHA-256 ${a.record.planSha256})`);
});
