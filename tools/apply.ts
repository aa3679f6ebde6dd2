/**
 * `npm run apply -- --stack SITE --plan FILE`: carries out an approved change with
 * `pulumi up --plan`, refusing when the program, config or deployed state changed since
 * approval (see tools/approval.ts).
 */
import { apply, ApprovalRefused } from "./approval";
import { cliOption, runCli } from "./cli-args";

runCli("apply -- --stack SITE --plan FILE", async (args) => {
    try {
        const r = await apply(cliOption(args, "--stack", true)!, cliOption(args, "--plan", true)!, (text) => process.stdout.write(text));
        console.log(`applied: ${r.summary.result} ${JSON.stringify(r.summary.resourceChanges ?? {})}`);
    } catch (e) {
        if (e instanceof ApprovalRefused) {
            console.error(e.message);
            process.exit(2);
        }
        throw e;
    }
});
